// Long texts in pieces: a text is cut into chunks of a few thousand characters (at a line
// break where there is one, else at a space, else at a word or grapheme boundary), each shown
// as its own block with `content-visibility: auto`, so the browser lays out only the chunks
// near the viewport. A chunk is plain text until a view needs more (the span annotator turns
// the visible ones into tokens); the DOM stays a few thousand nodes for any size of text.
//
// Offsets: the server counts Unicode code points (Python str indices); JavaScript strings
// count UTF-16 units. The index converts between the two per chunk, without an array of the
// whole text's characters.

export const CHUNK_UNITS = 4096; // UTF-16 units a chunk aims at
const MIN_UNITS = CHUNK_UNITS / 2;
const MAX_UNITS = CHUNK_UNITS * 2;
const LINE_PX = 36; // a line's height in the span annotator, for placeholder sizes
const LINE_CHARS = 90;

const segmenter = (granularity) => (typeof Intl !== "undefined" && Intl.Segmenter
  ? new Intl.Segmenter(undefined, { granularity }) : null);
const WORDS = segmenter("word");

const isHigh = (c) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c) => c >= 0xdc00 && c <= 0xdfff;

const SURROGATE = /[\uD800-\uDFFF]/;

/** Code points in ``text`` between UTF-16 offsets ``a`` and ``b``. */
export function countCodePoints(text, a, b) {
  let n = b - a;
  if (!SURROGATE.test(text.slice(a, b))) return n; // the usual case, without a loop
  for (let i = a; i < b - 1; i++) {
    if (isHigh(text.charCodeAt(i)) && isLow(text.charCodeAt(i + 1))) { n--; i++; }
  }
  return n;
}

/** A place near ``want`` (between ``lo`` and ``hi``) where the text may be cut. */
function cutPoint(text, lo, hi, want) {
  for (const ch of ["\n", " "]) { // the break nearest ``want``, a line break first
    const before = text.lastIndexOf(ch, want);
    if (before >= lo) return before + 1;
    const after = text.indexOf(ch, want);
    if (after >= 0 && after < hi) return after + 1;
  }
  // no space (Chinese, Japanese, Thai, a long token): a word boundary near ``want``, else
  // never between the halves of a surrogate pair or before a combining mark
  if (WORDS) {
    const from = Math.max(lo, want - 64);
    let best = null;
    for (const s of WORDS.segment(text.slice(from, Math.min(hi, want + 64)))) {
      const at = from + s.index;
      if (at > lo && (best === null || Math.abs(at - want) < Math.abs(best - want))) best = at;
    }
    if (best !== null && best > lo) return best;
  }
  let at = want;
  while (at < hi && (isLow(text.charCodeAt(at)) || /\p{M}/u.test(text[at]))) at++;
  return at;
}

/**
 * The chunks of ``text``: [{u0, u1, cp0, cp1}] (UTF-16 and code point offsets). A text up to
 * twice the chunk size is one chunk.
 */
export function chunkText(text) {
  const out = [];
  const n = text.length;
  let u = 0;
  let cp = 0;
  while (u < n || !out.length) {
    const end = n - u <= MAX_UNITS ? n : cutPoint(text, u + MIN_UNITS, u + MAX_UNITS, u + CHUNK_UNITS);
    const cps = countCodePoints(text, u, end);
    out.push({ u0: u, u1: end, cp0: cp, cp1: cp + cps });
    cp += cps;
    u = end;
  }
  return out;
}

/** Offsets into one text: chunks, and conversion between code points and UTF-16 units. */
export class TextIndex {
  constructor(text) {
    this.text = text;
    this.chunks = chunkText(text);
    this.length = this.chunks[this.chunks.length - 1].cp1; // in code points
  }

  /** The chunk holding UTF-16 offset ``u`` (the last one for the text's end). */
  chunkAtUnit(u) {
    return this.search((c) => c.u1 > u);
  }

  /** The chunk holding code point offset ``cp``. */
  chunkAtPoint(cp) {
    return this.search((c) => c.cp1 > cp);
  }

  search(after) {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (after(this.chunks[mid])) hi = mid; else lo = mid + 1;
    }
    return lo;
  }

  /** UTF-16 offset of code point offset ``cp`` (clamped to the text). */
  unitOf(cp) {
    if (cp <= 0) return 0;
    if (cp >= this.length) return this.text.length;
    const c = this.chunks[this.chunkAtPoint(cp)];
    if (c.cp1 - c.cp0 === c.u1 - c.u0) return c.u0 + (cp - c.cp0);
    let u = c.u0;
    for (let k = c.cp0; k < cp; k++) u += isHigh(this.text.charCodeAt(u)) && isLow(this.text.charCodeAt(u + 1)) ? 2 : 1;
    return u;
  }

  /** Text between code point offsets. */
  slice(start, end) {
    return this.text.slice(this.unitOf(start), this.unitOf(end));
  }
}

const recent = new Map(); // text → TextIndex, for the last few texts (pages show one at a time)

/** The (cached) index of ``text``. */
export function textIndex(text) {
  const s = String(text ?? "");
  let index = recent.get(s);
  if (!index) {
    index = new TextIndex(s);
    recent.set(s, index);
    if (recent.size > 4) recent.delete(recent.keys().next().value);
  }
  return index;
}

/** Text between code point offsets ``start`` and ``end`` of ``text``. */
export function cpSlice(text, start, end) {
  const s = String(text ?? "");
  if (s.length < 256) return Array.from(s).slice(start, end).join("");
  return textIndex(s).slice(start, end);
}

/** One block per chunk of ``index``'s text, as plain text, sized for the space it will take. */
export function chunkElements(index) {
  const { text, chunks } = index;
  return chunks.map((c, i) => {
    const el = document.createElement("div");
    el.className = "text-chunk"; // no dir of its own: the box's dir="auto" must see the text
    el.dataset.c = String(i);
    if (chunks.length > 1) {
      let lines = 1;
      for (let u = text.indexOf("\n", c.u0); u >= 0 && u < c.u1; u = text.indexOf("\n", u + 1)) lines++;
      const px = Math.round((lines + (c.u1 - c.u0) / LINE_CHARS) * LINE_PX);
      el.style.containIntrinsicSize = `auto ${px}px`; // CSSOM, not a style attribute (CSP)
    }
    el.textContent = text.slice(c.u0, c.u1);
    return el;
  });
}

/** A read-only view of a text of any length: its chunks in one box, direction from the text. */
export function plainTextView(text, cls = "text-plain") {
  const index = textIndex(text);
  const box = document.createElement("div");
  box.className = index.chunks.length > 1 ? `${cls} text-long` : cls;
  box.dir = "auto";
  box.append(...chunkElements(index));
  return box;
}

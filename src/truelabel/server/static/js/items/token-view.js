// A text of any length as tokens one can point at, for the span annotator (fields/spans.js).
//
// The text is cut into chunks (text-chunks.js); a chunk becomes token elements only while it
// is on screen or near it (an IntersectionObserver on the chunk blocks), and goes back to
// plain text when it is far away and many chunks are live, so a 5 MB text costs the DOM of a
// few screens. Tokens are cut per chunk, when first needed (segment.js).
//
// A position is {c, k}: token k of chunk c. Offsets kept by callers are the tokens' code
// points (s, e); UTF-16 offsets (u, v) are for the DOM.
import { chunkElements, textIndex } from "./text-chunks.js";
import { segmentRange } from "./segment.js";

const LIVE_MAX = 12;       // chunks kept as tokens beyond the ones on screen
const MARGIN = "800px 0px"; // how near the viewport a chunk becomes tokens

export class TokenView {
  /**
   * ``box``: the element the chunk blocks go in (it scrolls when the text is long);
   * ``onLive(c)``: called after chunk c became tokens (to draw spans and the cursor on it).
   */
  constructor(text, box, onLive) {
    this.text = text;
    this.index = textIndex(text);
    this.chunks = this.index.chunks;
    this.box = box;
    this.onLive = onLive;
    this.granularity = "word";
    this.cache = new Map();   // chunk → tokens
    this.live = new Map();    // chunk → {els, gaps}
    this.near = new Set();    // chunks the observer sees near the viewport
    this.long = this.chunks.length > 1;
    this.chunkEls = chunkElements(this.index);
    if (this.long) box.classList.add("text-long");
    box.append(...this.chunkEls);
    this.hasTokens = /\S/u.test(text);
    // while the mouse selects, no chunk goes back to plain text (the selection's ends live in it)
    box.addEventListener("mousedown", () => {
      this.dragging = true;
      window.addEventListener("mouseup", () => { this.dragging = false; }, { once: true });
    });
    if (this.long && typeof IntersectionObserver !== "undefined") {
      this.observer = new IntersectionObserver((entries) => this.seen(entries), { root: box, rootMargin: MARGIN });
      for (const el of this.chunkEls) this.observer.observe(el);
    }
  }

  /** Make the first chunk tokens now (the rest follow as they come near the viewport). */
  start() { this.materialize(0); }

  // -- tokens ----------------------------------------------------------------------------
  tokensOf(c) {
    let toks = this.cache.get(c);
    if (!toks) {
      const ch = this.chunks[c];
      toks = segmentRange(this.text, ch.u0, ch.u1, ch.cp0, this.granularity);
      this.cache.set(c, toks);
    }
    return toks;
  }

  tok(p) { return this.tokensOf(p.c)[p.k]; }

  setGranularity(g) {
    this.granularity = g;
    this.cache.clear();
    for (const c of Array.from(this.live.keys())) { this.live.delete(c); this.materialize(c); }
  }

  /** The position ``d`` tokens (±1) from ``p``, across chunks; null past either end. */
  step(p, d) {
    if (p.k + d >= 0 && p.k + d < this.tokensOf(p.c).length) return { c: p.c, k: p.k + d };
    for (let c = p.c + d; c >= 0 && c < this.chunks.length; c += d) {
      const n = this.tokensOf(c).length;
      if (n) return { c, k: d > 0 ? 0 : n - 1 };
    }
    return null;
  }

  first() { return this.hasTokens ? this.scanFrom(0, 1) : null; }
  last() { return this.hasTokens ? this.scanFrom(this.chunks.length - 1, -1) : null; }

  scanFrom(c0, d) {
    for (let c = c0; c >= 0 && c < this.chunks.length; c += d) {
      const n = this.tokensOf(c).length;
      if (n) return { c, k: d > 0 ? 0 : n - 1 };
    }
    return null;
  }

  /** -1, 0, 1 as ``a`` is before, at or after ``b``. */
  static cmp(a, b) { return a.c - b.c || a.k - b.k; }

  /**
   * The token at UTF-16 offset ``u``: with ``side`` "start" the first token ending after it,
   * with "end" the last token starting before it.
   */
  posAtUnit(u, side) {
    const c = this.index.chunkAtUnit(u);
    const toks = this.tokensOf(c);
    if (side === "start") {
      const k = toks.findIndex((t) => t.v > u);
      return k >= 0 ? { c, k } : this.step({ c, k: toks.length - 1 }, 1);
    }
    let k = toks.length - 1;
    while (k >= 0 && toks[k].u >= u) k--;
    return k >= 0 ? { c, k } : this.step({ c, k: 0 }, -1);
  }

  /** The same for a code point offset. */
  posAtPoint(cp, side) { return this.posAtUnit(this.index.unitOf(cp), side); }

  /** The UTF-16 offset of a DOM point (a selection's end) in the text. */
  unitOfPoint(node, offset) {
    if (!this.box.contains(node)) {
      // outside the text: before it counts as its start, after it as its end
      return node.compareDocumentPosition(this.box) & Node.DOCUMENT_POSITION_FOLLOWING ? 0 : this.text.length;
    }
    if (node === this.box) return offset < this.chunks.length ? this.chunks[offset].u0 : this.text.length;
    const el = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
    const chunkEl = el && el.closest(".text-chunk");
    if (!chunkEl) return 0; // the "(empty text)" note
    const c = Number(chunkEl.dataset.c);
    const r = document.createRange();
    r.setStart(chunkEl, 0);
    r.setEnd(node, offset);
    return this.chunks[c].u0 + r.toString().length;
  }

  /** The position of a token element (a click). */
  posOfElement(el) {
    const tok = el.closest && el.closest(".tok");
    const chunkEl = tok && tok.closest(".text-chunk");
    return tok && chunkEl ? { c: Number(chunkEl.dataset.c), k: Number(tok.dataset.k) } : null;
  }

  // -- elements --------------------------------------------------------------------------
  /** The element of the token at ``p`` (its chunk made live first). */
  element(p) {
    this.materialize(p.c);
    return this.live.get(p.c).els[p.k];
  }

  materialize(c) {
    if (this.live.has(c) || c < 0 || c >= this.chunks.length) return;
    const ch = this.chunks[c];
    const toks = this.tokensOf(c);
    const frag = document.createDocumentFragment();
    const els = [];
    const gaps = [];
    let pos = ch.u0;
    const gap = (to) => {
      const g = document.createElement("span");
      g.className = "gap";
      g.textContent = this.text.slice(pos, to);
      frag.append(g);
      return g;
    };
    toks.forEach((t, k) => {
      if (t.u > pos) { const g = gap(t.u); if (k > 0) gaps[k - 1] = g; }
      const el = document.createElement("span");
      el.className = "tok";
      el.dataset.k = String(k);
      el.textContent = this.text.slice(t.u, t.v);
      els.push(el);
      frag.append(el);
      pos = t.v;
    });
    if (pos < ch.u1) { const g = gap(ch.u1); if (toks.length) gaps[toks.length - 1] = g; }
    this.chunkEls[c].replaceChildren(frag);
    this.live.set(c, { els, gaps });
    this.onLive(c);
  }

  /** Back to plain text (a chunk far from the viewport). */
  dematerialize(c) {
    const ch = this.chunks[c];
    this.chunkEls[c].textContent = this.text.slice(ch.u0, ch.u1);
    this.live.delete(c);
  }

  seen(entries) {
    for (const e of entries) {
      const c = Number(e.target.dataset.c);
      if (e.isIntersecting) { this.near.add(c); this.materialize(c); } else this.near.delete(c);
    }
    if (this.dragging || this.live.size <= LIVE_MAX + this.near.size) return;
    for (const c of Array.from(this.live.keys())) {
      if (this.live.size <= LIVE_MAX + this.near.size) break;
      if (!this.near.has(c) && !(this.keep && this.keep(c))) this.dematerialize(c);
    }
  }

  disconnect() { if (this.observer) this.observer.disconnect(); }
}

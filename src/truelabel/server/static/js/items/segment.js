// Tokens for span selection, by Intl.Segmenter: "word" gives words in every script,
// including those written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Burmese,
// by the browser's dictionaries: "我的水杯坏了" → 我的 | 水杯 | 坏 | 了), and punctuation
// and emoji as tokens of their own; "grapheme" gives user-perceived characters (an emoji
// with its modifiers, a letter with its combining marks). Without Intl.Segmenter, words are
// runs of letters, digits and marks and characters are code points.
//
// A token is {u, v, s, e}: UTF-16 offsets into the whole text (u, v) and code point offsets
// (s, e), the ones stored in a span.

export const GRANULARITIES = ["word", "grapheme"];

const make = (granularity) => (typeof Intl !== "undefined" && Intl.Segmenter
  ? new Intl.Segmenter(undefined, { granularity }) : null);
const SEGMENTERS = { word: make("word"), grapheme: make("grapheme") };
const FALLBACK = { word: /[\p{L}\p{N}\p{M}_]+|\S/gu, grapheme: /\S/gu };
const SPACE = /^\s+$/u;
const NON_SPACE = /\S+/gu;

/** [u, v] UTF-16 ranges of the tokens in ``text`` between ``u0`` and ``u1``. */
function ranges(text, u0, u1, granularity) {
  const piece = text.slice(u0, u1);
  const out = [];
  const seg = SEGMENTERS[granularity];
  if (!seg) {
    for (const m of piece.matchAll(FALLBACK[granularity])) out.push([u0 + m.index, u0 + m.index + m[0].length]);
    return out;
  }
  for (const s of seg.segment(piece)) {
    if (SPACE.test(s.segment)) continue;
    const at = u0 + s.index;
    if (s.isWordLike || !/\s/u.test(s.segment)) { out.push([at, at + s.segment.length]); continue; }
    for (const m of s.segment.matchAll(NON_SPACE)) out.push([at + m.index, at + m.index + m[0].length]);
  }
  return out;
}

/**
 * Tokens of ``text`` between UTF-16 offsets ``u0`` and ``u1`` (``cp0``: the code point offset
 * of ``u0``), at ``granularity`` ("word" or "grapheme").
 */
export function segmentRange(text, u0, u1, cp0, granularity = "word") {
  const out = [];
  let u = u0;
  let cp = cp0;
  const advance = (to) => {
    for (; u < to; u++, cp++) {
      const c = text.charCodeAt(u);
      if (c >= 0xd800 && c <= 0xdbff && u + 1 < to) {
        const d = text.charCodeAt(u + 1);
        if (d >= 0xdc00 && d <= 0xdfff) u++;
      }
    }
  };
  for (const [a, b] of ranges(text, u0, u1, granularity)) {
    advance(a);
    const s = cp;
    advance(b);
    out.push({ u: a, v: b, s, e: cp });
  }
  return out;
}

/** Tokens of a whole (short) text: [{s, e, u, v, text}]. */
export function tokenize(text, granularity = "word") {
  return segmentRange(text, 0, text.length, 0, granularity).map((t) => ({ ...t, text: text.slice(t.u, t.v) }));
}

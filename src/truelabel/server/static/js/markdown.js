// A tiny Markdown renderer that builds DOM nodes; text only ever goes in as text nodes.
// Supports headings, paragraphs, lists (flat), block quotes, rules, fenced code,
// **bold**, *italic*, `code` and [links](https://…). Raw HTML is shown as text.
// Link targets go through the URL parser (urls.js: linkTarget): http(s) links elsewhere open
// in a new tab with rel="noopener noreferrer"; mailto: and same-origin paths stay as they are;
// anything else (javascript:, data:, "//host", "/\host", …) is shown as text.
import { h } from "./dom.js";
import { linkTarget } from "./urls.js";

function link(m) {
  const target = linkTarget(m[2]);
  if (target === null) return document.createTextNode(m[0]);
  const attrs = target.external
    ? { href: target.href, rel: "noopener noreferrer", target: "_blank" }
    : { href: target.href };
  return h("a", attrs, inline(m[1]));
}

const INLINE = [
  { re: /`([^`\n]+)`/, make: (m) => h("code", {}, m[1]) },
  { re: /\*\*(?=\S)([\s\S]+?)\*\*|__(?=\S)([\s\S]+?)__/, make: (m) => h("strong", {}, inline(m[1] ?? m[2])) },
  { re: /\*(?=[^\s*])([\s\S]+?)\*|(?<![\p{L}\p{N}])_(?=\S)([\s\S]+?)_(?![\p{L}\p{N}])/u, make: (m) => h("em", {}, inline(m[1] ?? m[2])) },
  { re: /\[([^\]\n]+)\]\(([^)\s]+)\)/, make: link },
];

/** Inline Markdown → a list of nodes. */
export function inline(text) {
  const out = [];
  let rest = text;
  while (rest) {
    let best = null;
    for (const rule of INLINE) {
      const m = rule.re.exec(rest);
      if (m && (best === null || m.index < best.m.index)) best = { m, rule };
    }
    if (!best) { out.push(document.createTextNode(rest)); break; }
    if (best.m.index > 0) out.push(document.createTextNode(rest.slice(0, best.m.index)));
    out.push(best.rule.make(best.m));
    rest = rest.slice(best.m.index + best.m[0].length);
  }
  return out;
}

/**
 * Render Markdown ``source`` into a DocumentFragment. ``headingOffset`` shifts heading levels
 * (1 turns "#" into <h2>) so the guidelines fit under the page's own headings.
 */
export function renderMarkdown(source, { headingOffset = 0 } = {}) {
  const frag = document.createDocumentFragment();
  const lines = String(source || "").replace(/\r\n?/g, "\n").split("\n");
  let para = [];
  let list = null; // {el, ordered}
  let quote = null;

  const flushPara = () => {
    if (para.length) frag.append(h("p", {}, inline(para.join(" "))));
    para = [];
  };
  const closeBlocks = () => { flushPara(); list = null; quote = null; };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    let m;
    if ((m = /^\s*(```|~~~)\s*([\w-]*)\s*$/.exec(line))) {
      closeBlocks();
      const fence = m[1];
      const code = [];
      for (i += 1; i < lines.length && !lines[i].trim().startsWith(fence); i++) code.push(lines[i]);
      frag.append(h("pre", {}, h("code", {}, code.join("\n"))));
      continue;
    }
    if (!line.trim()) { closeBlocks(); continue; }
    if ((m = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line))) {
      closeBlocks();
      const level = Math.min(m[1].length + headingOffset, 6);
      frag.append(h(`h${level}`, {}, inline(m[2])));
      continue;
    }
    if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) { closeBlocks(); frag.append(h("hr")); continue; }
    if ((m = /^\s{0,3}>\s?(.*)$/.exec(line))) {
      flushPara(); list = null;
      if (!quote) { quote = h("blockquote"); frag.append(quote); }
      quote.append(h("p", {}, inline(m[1])));
      continue;
    }
    if ((m = /^\s*([-*+]|\d{1,9}[.)])\s+(.*)$/.exec(line))) {
      flushPara(); quote = null;
      const ordered = /\d/.test(m[1]);
      if (!list || list.ordered !== ordered) {
        list = { el: h(ordered ? "ol" : "ul"), ordered };
        if (ordered && parseInt(m[1], 10) !== 1) list.el.setAttribute("start", String(parseInt(m[1], 10)));
        frag.append(list.el);
      }
      list.el.append(h("li", {}, inline(m[2])));
      continue;
    }
    if (list && /^\s{2,}\S/.test(line)) { // continuation of the last list item
      list.el.lastElementChild.append(" ", ...inline(line.trim()));
      continue;
    }
    list = null; quote = null;
    para.push(line.trim());
  }
  flushPara();
  // each block takes its direction from its own text (Arabic or Hebrew guidelines read
  // right to left)
  for (const block of frag.querySelectorAll("p, h1, h2, h3, h4, h5, h6, li, blockquote, pre")) block.dir = "auto";
  return frag;
}

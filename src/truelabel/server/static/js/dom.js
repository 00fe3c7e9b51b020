// Tiny DOM helpers. Every piece of text goes in through text nodes, never innerHTML.

/**
 * Create an element: h("a", {href: "/x", class: "btn"}, "text", childNode).
 * Keys: class, dataset (object), on (event → handler), hidden/disabled/... (properties),
 * anything else becomes an attribute. Never pass "style" or "on*" attributes: CSP forbids them.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (key in PROPS) el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

const PROPS = { hidden: 1, disabled: 1, checked: 1, value: 1, tabIndex: 1, htmlFor: 1, textContent: 1 };

/** Append strings (as text) and nodes; arrays are flattened, null/false skipped. */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Remove every child, then append ``children``. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

/** Call ``fn`` once ``ms`` after the last call; ``.flush()`` runs a pending call now. */
export function debounce(fn, ms) {
  let timer = null;
  let args = null;
  const run = () => { timer = null; const a = args; args = null; return fn(...a); };
  const wrapped = (...a) => { args = a; clearTimeout(timer); timer = setTimeout(run, ms); };
  wrapped.flush = () => { if (timer !== null) { clearTimeout(timer); return run(); } return undefined; };
  wrapped.cancel = () => { clearTimeout(timer); timer = null; args = null; };
  wrapped.pending = () => timer !== null;
  return wrapped;
}

/** A short readable preview of an item's data: its text, else its first string, else JSON. */
export function previewText(data, max = 140) {
  let s;
  if (data && typeof data.text === "string") s = data.text;
  else {
    const first = data && Object.values(data).find((v) => typeof v === "string");
    s = first !== undefined ? first : JSON.stringify(data);
  }
  s = String(s).replace(/\s+/g, " ").trim();
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

/** Is the keyboard focus in a place where typed characters are text? */
export function isTyping(target) {
  const el = target instanceof Element ? target : null;
  if (!el) return false;
  if (el.isContentEditable) return true;
  if (el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
  if (el.tagName === "INPUT") {
    const t = (el.getAttribute("type") || "text").toLowerCase();
    return !["radio", "checkbox", "button", "submit", "reset", "range", "color", "file"].includes(t);
  }
  return false;
}

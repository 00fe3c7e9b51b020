// Item views: how the item being labelled is shown. Text today, JSON as the fallback;
// image, audio, conversation and point-cloud views register here later, each one module
// calling registerItemView. Pages ask renderItem and never assume text.
import { h } from "../dom.js";
import { plainTextView } from "./text-chunks.js";

const views = [];  // { name, order, accepts(data), render(data) → { nodes, keys } }

/**
 * Register an item view. ``accepts(data)`` says whether it can show the item; the first
 * accepting view (lowest ``order``) wins. ``render(data)`` returns ``{ nodes, keys }``: the
 * nodes to show and the item keys they showed (the rest goes under "More data").
 */
export function registerItemView(name, { order = 100, accepts, render }) {
  const i = views.findIndex((v) => v.name === name);
  if (i >= 0) views.splice(i, 1);
  views.push({ name, order, accepts, render });
  views.sort((a, b) => a.order - b.order);
}

/** The names of the registered views, in the order they are tried. */
export const knownItemViews = () => views.map((v) => v.name);

/** The view that shows ``data``. */
export function itemViewFor(data) {
  return views.find((v) => v.accepts(data || {}));
}

/**
 * The item as nodes. ``shown`` names keys a field already shows (a spans field shows its
 * source text): when there are some, no view is drawn and only the other keys are listed.
 */
export function renderItem(data, { shown = [], more = true } = {}) {
  const d = data || {};
  const seen = new Set(shown);
  const parts = [];
  if (!seen.size) {
    const view = itemViewFor(d);
    const out = view.render(d);
    parts.push(...out.nodes);
    for (const k of out.keys) seen.add(k);
  }
  const rest = Object.fromEntries(Object.entries(d).filter(([k]) => !seen.has(k)));
  if (more && Object.keys(rest).length) {
    parts.push(h("details", { class: "more-data" }, h("summary", {}, "More data"),
      h("pre", { class: "json" }, JSON.stringify(rest, null, 2))));
  }
  return parts;
}

// -- the built-in views -------------------------------------------------------------------
registerItemView("text", {
  order: 10,
  accepts: (d) => typeof d.text === "string",
  // a text of any length: drawn in chunks the browser lays out as they scroll into view;
  // its direction (left-to-right or right-to-left) is the text's own
  render: (d) => ({ nodes: [plainTextView(d.text)], keys: ["text"] }),
});

registerItemView("json", {
  order: 1000,
  accepts: () => true,
  render: (d) => ({ nodes: [h("pre", { class: "json" }, JSON.stringify(d, null, 2))], keys: Object.keys(d) }),
});

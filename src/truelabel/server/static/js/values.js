// Annotation values as readable text, for the review and adjudication pages.
// Everything goes in as text nodes (dom.js); nothing a user typed becomes markup.
// Each field kind renders its own values (fields/registry.js); each item kind its own view
// (items/registry.js).
import { h } from "./dom.js";
import { renderValue } from "./fields/registry.js";
import { renderItem } from "./items/registry.js";

export { cpSlice } from "./fields/base.js";

/** One field's value as a node; ``data`` is the item (spans show their text). */
export function formatValue(spec, value, data = {}) {
  if (value === undefined || value === null) return h("span", { class: "muted" }, "—");
  return renderValue(spec, value, data);
}

/** A definition list of every field of an annotation value. */
export function valueList(schema, value, data) {
  return h("dl", { class: "values" }, (schema.fields || []).map((spec) =>
    h("div", { class: "value-row", dataset: { field: spec.name } },
      h("dt", {}, spec.title || spec.name),
      h("dd", {}, formatValue(spec, (value || {})[spec.name], data)))));
}

/** The item for reading next to labels, by its item view (text, else JSON). */
export function itemText(data) {
  return renderItem(data, { more: false });
}

/** Compare two field values (order-insensitive for lists of strings). */
export function sameValue(a, b) {
  const norm = (v) => (Array.isArray(v) && v.every((x) => typeof x === "string") ? [...v].sort() : v);
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

/** "3 minutes ago"-free absolute time: local date and time of a UNIX timestamp. */
export function when(ts) {
  return new Date(ts * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

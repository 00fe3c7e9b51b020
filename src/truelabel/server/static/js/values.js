// Annotation values as readable text, for the review and adjudication pages.
// Everything goes in as text nodes (dom.js); nothing a user typed becomes markup.
import { h } from "./dom.js";

const title = (options, v) => {
  const o = (options || []).find((x) => x.value === v);
  return o && o.title ? `${o.title}` : String(v);
};

/** Text between code point offsets (the server counts code points, not UTF-16 units). */
export function cpSlice(text, start, end) {
  return Array.from(String(text || "")).slice(start, end).join("");
}

/** One field's value as a node; ``data`` is the item (spans show their text). */
export function formatValue(spec, value, data = {}) {
  if (value === undefined || value === null) return h("span", { class: "muted" }, "—");
  switch (spec.type) {
    case "choice":
      return h("span", { class: "value-choice" }, title(spec.options, value));
    case "multi_choice":
      return Array.isArray(value) && value.length
        ? h("span", {}, value.map((v) => title(spec.options, v)).join(", "))
        : h("span", { class: "muted" }, "(none)");
    case "rating":
      return h("span", {}, `${value} / ${spec.scale || "?"}`);
    case "spans": {
      if (!Array.isArray(value) || !value.length) return h("span", { class: "muted" }, "(no spans)");
      const source = data[spec.source || "text"];
      const labels = (spec.labels || []).map((l) => l.value);
      return h("ul", { class: "span-list value-spans" }, value.map((s) =>
        h("li", {}, h("span", { class: `chip lab-${Math.max(labels.indexOf(s.label), 0) % 8}` },
          title(spec.labels, s.label)), " ", cpSlice(source, s.start, s.end))));
    }
    case "text":
      return h("span", { class: "value-text" }, String(value));
    default:
      return h("code", {}, JSON.stringify(value));
  }
}

/** A definition list of every field of an annotation value. */
export function valueList(schema, value, data) {
  return h("dl", { class: "values" }, (schema.fields || []).map((spec) =>
    h("div", { class: "value-row", dataset: { field: spec.name } },
      h("dt", {}, spec.title || spec.name),
      h("dd", {}, formatValue(spec, (value || {})[spec.name], data)))));
}

/** The item's text (or its data as JSON) for reading next to labels. */
export function itemText(data) {
  if (data && typeof data.text === "string") return h("p", { class: "text-plain" }, data.text);
  return h("pre", { class: "json" }, JSON.stringify(data, null, 2));
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

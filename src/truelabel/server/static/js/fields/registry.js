// Field kinds → custom elements and value renderers. A new field kind is one module that
// calls registerField; a plug-in's module is found through /api/field-kinds and imported
// on first need (same origin: /plugins/<name>/…), so no page names a kind.
import { h } from "../dom.js";

const registry = new Map();  // schema type → { tag, cls }

/**
 * Register ``cls`` (a TlField subclass) as the element ``tagName`` for schema field type
 * ``type``. ``cls.renderValue(spec, value, data)``, when defined, shows a stored value
 * (review and adjudication pages); otherwise the value is shown as JSON.
 */
export function registerField(type, tagName, cls) {
  if (!customElements.get(tagName)) customElements.define(tagName, cls);
  registry.set(type, { tag: tagName, cls });
}

/** The known field type names. */
export const knownFieldTypes = () => Array.from(registry.keys()).sort();

/**
 * A configured element for one schema field, or null when the type has no element yet.
 * ``item`` is the task's data (spans need their source text).
 */
export function createField(spec, item) {
  const entry = registry.get(spec.type);
  if (!entry) return null;
  const el = document.createElement(entry.tag);
  el.configure(spec, item);
  return el;
}

/** A stored value as a node, by the field kind's renderer (JSON when it has none). */
export function renderValue(spec, value, data = {}) {
  const cls = registry.get(spec.type)?.cls;
  if (cls && typeof cls.renderValue === "function") return cls.renderValue(spec, value, data);
  return h("code", {}, JSON.stringify(value));
}

let kinds = null;

/**
 * Make sure every field type of ``schema`` has its element: the modules of kinds this page
 * does not know yet (plug-ins) are asked of the server and imported. Built-in schemas cost
 * nothing. A module that fails to load leaves its field unknown (the page says so).
 */
export async function loadFieldKinds(schema) {
  const missing = (schema?.fields || []).filter((f) => !registry.has(f.type));
  if (!missing.length) return;
  if (!kinds) {
    const r = await fetch("/api/field-kinds", { credentials: "same-origin" });
    kinds = r.ok ? await r.json() : [];
  }
  const modules = new Set();
  for (const spec of missing) {
    const k = kinds.find((x) => x.type === spec.type || x.kind === spec.type);
    if (k && k.module && k.module.startsWith("/")) modules.add(k.module);
  }
  await Promise.all(Array.from(modules, (m) => import(m).catch((err) => console.error(`field kind module ${m}:`, err))));
}

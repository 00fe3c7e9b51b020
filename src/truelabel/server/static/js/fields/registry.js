// Field types → custom elements. A new field type is one module that calls registerField.

const registry = new Map();

/** Register ``cls`` (a TlField subclass) as the element for schema field type ``type``. */
export function registerField(type, tagName, cls) {
  if (!customElements.get(tagName)) customElements.define(tagName, cls);
  registry.set(type, tagName);
}

/** The known field type names. */
export const knownFieldTypes = () => Array.from(registry.keys()).sort();

/**
 * A configured element for one schema field, or null when the type has no element yet.
 * ``item`` is the task's data (spans need their source text).
 */
export function createField(spec, item) {
  const tag = registry.get(spec.type);
  if (!tag) return null;
  const el = document.createElement(tag);
  el.configure(spec, item);
  return el;
}

// The base class of every field element. Light DOM, so the page stylesheet applies.
import { h } from "../dom.js";

let uid = 0;

/**
 * Subclasses implement render(), get value / set value, and may implement handleKey(event)
 * (return true when the key was used), shortcuts() and focusField().
 * They call this.changed() whenever the value changes; the page autosaves on "tl-change".
 */
export class TlField extends HTMLElement {
  constructor() {
    super();
    this.spec = null;
    this.item = null;
    this.uid = `f${++uid}`;
  }

  configure(spec, item) {
    this.spec = spec;
    this.item = item || {};
    this.classList.add("tl-field");
    this.dataset.field = spec.name;
    this.dataset.type = spec.type;
    this.replaceChildren();
    this.render();
  }

  get fieldTitle() { return this.spec.title || this.spec.name; }
  get isRequired() { return this.spec.required !== false; }

  /** The field's value for the annotation; null means "no value" (left out). */
  get value() { return null; }
  set value(_v) {}

  /** Item keys this field shows itself (a spans field: its source text), so the item view
   * leaves them out. */
  itemKeys() { return []; }

  /** A stored value as a node (review, adjudication, gold feedback); subclasses override. */
  static renderValue(_spec, value) { return h("code", {}, JSON.stringify(value)); }

  /** Keys this field reacts to, for the shortcuts panel: [{keys: ["1"], text: "…"}]. */
  shortcuts() { return []; }

  /** Handle a key; true when used. ``focused`` says whether focus is inside this field. */
  handleKey(_event, _focused) { return false; }

  /** Put the keyboard focus on this field's main control. */
  focusField() {
    const target = this.querySelector("[data-primary]") || this.querySelector("input, textarea, button, [tabindex='0']");
    if (target) target.focus();
  }

  changed() {
    this.dispatchEvent(new CustomEvent("tl-change", { bubbles: true, detail: { field: this.spec.name } }));
  }

  /** The field's heading: title, required mark, help text. */
  heading(tag = "legend", attrs = {}) {
    return h(tag, { class: "field-title", dir: "auto", ...attrs }, this.fieldTitle,
      this.isRequired ? h("span", { class: "required", "aria-hidden": "true", title: "required" }, " *") : null,
      this.isRequired ? h("span", { class: "visually-hidden" }, " (required)") : null);
  }

  help() {
    return this.spec.help ? h("p", { class: "field-help", dir: "auto", id: `${this.uid}-help` }, this.spec.help) : null;
  }
}

/** Keys of choice-like options: the option's hotkey, else its position 1-9 (10th: "0"). */
export function optionKeys(options) {
  const hot = new Set(options.map((o) => (o.hotkey || "").toLowerCase()).filter(Boolean));
  return options.map((o, i) => {
    if (o.hotkey) return o.hotkey.toLowerCase();
    const k = i < 9 ? String(i + 1) : i === 9 ? "0" : null;
    return k && !hot.has(k) ? k : null;
  });
}

/** An option's title (else its value), for showing a stored value. */
export function optionTitle(options, v) {
  const o = (options || []).find((x) => x.value === v);
  return o && o.title ? `${o.title}` : String(v);
}

/** Text between code point offsets (the server counts code points, not UTF-16 units). */
export { cpSlice } from "../items/text-chunks.js";

/** Whether a keyboard event is a plain key press (no Ctrl/Alt/Meta). */
export const plainKey = (e) => !e.ctrlKey && !e.altKey && !e.metaKey;

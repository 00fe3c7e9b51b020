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

/**
 * Keys of a field's options, labels or steps: the ``keys`` the server computed for the
 * schema (domain/hotkeys.py; docs/field-kinds.md "Keys"), one per entry. A spec without
 * them (a schema not served by the project API) falls back to positions 1-9, 0.
 */
export function optionKeys(options, spec = {}) {
  if (Array.isArray(spec.keys) && spec.keys.length === options.length) return spec.keys.map((k) => String(k));
  return options.map((o, i) => (o.hotkey ? o.hotkey.toLowerCase() : (i < 10 ? "1234567890"[i] : null)));
}

/** A key as shown: a sequence of keys ("1a") spaced, "1 a". */
export const showKey = (k) => (k && k.length > 1 ? k.split("").join(" ") : k);

/**
 * Typing keys, sequences included: ``press(event)`` gives the index of the entry whose key
 * was completed, "pending" while the keys typed so far begin a longer key, else -1.
 * A pause of over 1.5 s starts a new sequence.
 */
export class KeyTyper {
  constructor(keys) {
    this.keys = keys;
    this.typed = "";
    this.at = 0;
  }

  press(e) {
    const k = e.key.length === 1 ? e.key.toLowerCase() : null;
    if (!k || !plainKey(e)) { this.typed = ""; return -1; }
    const now = e.timeStamp || 0;
    const typed = (this.typed && now - this.at < 1500 ? this.typed : "") + k;
    this.at = now;
    const i = this.keys.indexOf(typed);
    if (i >= 0) { this.typed = ""; return i; }
    if (this.keys.some((x) => x && x.length > typed.length && x.startsWith(typed))) {
      this.typed = typed;
      return "pending";
    }
    this.typed = "";
    return typed.length > 1 ? this.press(e) : -1;
  }
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

// <tl-color>: a colour typed as #rrggbb, with a swatch. The element contract: extend
// TlField, implement render() and the value getter/setter, call this.changed() on edits,
// registerField(type, tag, cls); static renderValue shows a stored value.
import { h } from "/static/js/dom.js";
import { TlField } from "/static/js/fields/base.js";
import { registerField } from "/static/js/fields/registry.js";

const HEX = /^#[0-9a-fA-F]{6}$/;

function swatch(value) {
  const s = h("span", { class: "color-swatch", "aria-hidden": "true" }, "■");
  if (HEX.test(value || "")) s.style.color = value; // CSSOM, not a style attribute: CSP-safe
  return s;
}

export class TlColor extends TlField {
  static renderValue(_spec, value) {
    return h("span", { class: "value-color" }, swatch(value), " ", String(value));
  }

  render() {
    const id = `${this.uid}-in`;
    this.input = h("input", { type: "text", id, class: "color-input", placeholder: "#rrggbb",
      autocomplete: "off", spellcheck: "false", maxLength: 7, dataset: { primary: "" } });
    this.swatch = swatch("");
    this.input.addEventListener("input", () => { this.paint(); this.changed(); });
    this.append(h("fieldset", { class: "color-group" }, this.heading(), this.help(),
      h("label", { htmlFor: id, class: "visually-hidden" }, `${this.fieldTitle} (#rrggbb)`),
      this.swatch, " ", this.input));
  }

  paint() {
    const v = this.input.value.trim();
    this.swatch.style.color = HEX.test(v) ? v : "";
  }

  get value() {
    const v = this.input.value.trim();
    return v ? v : null;
  }

  set value(v) {
    this.input.value = typeof v === "string" ? v : "";
    this.paint();
  }
}

registerField("color", "tl-color", TlColor);

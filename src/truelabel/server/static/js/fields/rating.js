// <tl-rating>: an integer 1..scale. Number keys pick when the rating has focus
// (or when no choice field wants the key); arrows move.
import { h } from "../dom.js";
import { TlField, optionKeys, plainKey } from "./base.js";
import { registerField } from "./registry.js";

export class TlRating extends TlField {
  static renderValue(spec, value) { return h("span", {}, `${value} / ${spec.scale || "?"}`); }

  render() {
    const scale = this.spec.scale || 5;
    this.inputs = [];
    const opts = [];
    for (let n = 1; n <= scale; n++) {
      const input = h("input", { type: "radio", name: `${this.uid}-r`, value: String(n), id: `${this.uid}-${n}` });
      input.addEventListener("change", () => this.changed());
      this.inputs.push(input);
      opts.push(h("label", { class: "rating-step", htmlFor: input.id, title: `${n} of ${scale}` }, input,
        h("span", {}, String(n))));
    }
    this.inputs[0].dataset.primary = "";
    this.keys = optionKeys(this.inputs, this.spec); // the server's step keys: 1-9, 0
    this.append(h("fieldset", { class: "rating-group" }, this.heading(), this.help(),
      h("div", { class: "rating-scale" }, opts)));
  }

  get value() {
    const c = this.inputs.find((i) => i.checked);
    return c ? Number(c.value) : null;
  }

  set value(v) { for (const i of this.inputs) i.checked = Number(i.value) === v; }

  focusField() { (this.inputs.find((i) => i.checked) || this.inputs[0]).focus(); }

  handleKey(e, focused) {
    if (!plainKey(e)) return false;
    const input = this.inputs[this.keys.indexOf(e.key.toLowerCase())];
    if (!input) return false;
    const was = input.checked;
    input.checked = true;
    if (focused) input.focus();
    if (!was) this.changed();
    return true;
  }

  shortcuts() {
    const keys = this.keys.filter(Boolean);
    return [{ keys: [keys.length > 1 ? `${keys[0]}–${keys[keys.length - 1]}` : keys[0]], text: `rate ${this.fieldTitle}` }];
  }
}

registerField("rating", "tl-rating", TlRating);

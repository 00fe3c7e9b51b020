// <tl-text>: free text. Typing is typing: no single-key shortcuts fire inside it.
import { append, h } from "../dom.js";
import { TlField } from "./base.js";
import { registerField } from "./registry.js";

export class TlText extends TlField {
  static renderValue(_spec, value) { return h("span", { class: "value-text" }, String(value)); }

  render() {
    const multiline = this.spec.multiline !== false;
    const id = `${this.uid}-input`;
    this.input = h(multiline ? "textarea" : "input", {
      id, class: "text-input", maxlength: String(this.spec.max_length || 10000),
      rows: multiline ? "3" : undefined, type: multiline ? undefined : "text",
      "aria-describedby": this.spec.help ? `${this.uid}-help` : undefined,
    });
    this.input.dataset.primary = "";
    this.input.addEventListener("input", () => this.changed());
    append(this, [this.heading("label", { for: id }), this.help(), this.input]);
  }

  get value() { return this.input.value === "" ? null : this.input.value; }
  set value(v) { this.input.value = typeof v === "string" ? v : ""; }

  shortcuts() {
    return [{ keys: this.spec.multiline !== false ? ["Ctrl", "Enter"] : ["Enter"], text: `submit from ${this.fieldTitle}` }];
  }
}

registerField("text", "tl-text", TlText);

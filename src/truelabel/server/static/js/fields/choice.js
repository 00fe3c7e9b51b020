// <tl-choice>: exactly one option. Its keys (the server's: 1-9, 0, letters, then sequences
// such as "1a"; or option hotkeys) pick; arrows move.
import { h } from "../dom.js";
import { KeyTyper, TlField, optionKeys, optionTitle, plainKey, showKey } from "./base.js";
import { registerField } from "./registry.js";

export class TlChoice extends TlField {
  static renderValue(spec, value) {
    return h("span", { class: "value-choice" }, optionTitle(spec.options, value));
  }

  render() {
    this.keys = optionKeys(this.spec.options, this.spec);
    this.typer = new KeyTyper(this.keys);
    this.inputs = [];
    const opts = this.spec.options.map((o, i) => {
      const input = h("input", { type: "radio", name: `${this.uid}-opt`, value: o.value,
        id: `${this.uid}-${i}`, "aria-keyshortcuts": this.keys[i] || undefined });
      input.addEventListener("change", () => this.changed());
      this.inputs.push(input);
      return h("label", { class: "option", htmlFor: input.id }, input,
        this.keys[i] ? h("kbd", { "aria-hidden": "true" }, showKey(this.keys[i])) : null,
        h("span", { class: "option-title", dir: "auto" }, o.title || o.value));
    });
    if (this.inputs.length) this.inputs[0].dataset.primary = "";
    this.append(h("fieldset", { class: "choice-group", "aria-describedby": this.spec.help ? `${this.uid}-help` : undefined },
      this.heading(), this.help(), h("div", { class: "options" }, opts)));
  }

  get value() {
    const checked = this.inputs.find((i) => i.checked);
    return checked ? checked.value : null;
  }

  set value(v) {
    for (const i of this.inputs) i.checked = i.value === v;
  }

  focusField() {
    (this.inputs.find((i) => i.checked) || this.inputs[0]).focus();
  }

  pick(index, focus) {
    const input = this.inputs[index];
    if (!input) return;
    const was = input.checked;
    input.checked = true;
    if (focus) input.focus(); // keep the focus where it is when the key came from elsewhere
    if (!was) this.changed();
  }

  handleKey(e, focused) {
    if (!plainKey(e)) return false;
    const i = this.typer.press(e);
    if (i === "pending") return true;
    if (i >= 0) { this.pick(i, focused); return true; }
    if (focused && (e.key === "Delete" || e.key === "Backspace") && !this.isRequired && this.value !== null) {
      this.value = null;
      this.changed();
      return true;
    }
    return false;
  }

  shortcuts() {
    return this.spec.options.map((o, i) => ({ keys: [showKey(this.keys[i])], text: o.title || o.value }))
      .filter((s) => s.keys[0]);
  }
}

registerField("choice", "tl-choice", TlChoice);

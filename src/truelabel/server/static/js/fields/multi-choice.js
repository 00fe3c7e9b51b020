// <tl-multi-choice>: any number of options. Their keys (as in <tl-choice>) toggle; one Tab stop,
// arrows move between the boxes.
import { h } from "../dom.js";
import { KeyTyper, TlField, optionKeys, optionTitle, plainKey, showKey } from "./base.js";
import { registerField } from "./registry.js";

export class TlMultiChoice extends TlField {
  static renderValue(spec, value) {
    return Array.isArray(value) && value.length
      ? h("span", {}, value.map((v) => optionTitle(spec.options, v)).join(", "))
      : h("span", { class: "muted" }, "(none)");
  }

  render() {
    this.keys = optionKeys(this.spec.options, this.spec);
    this.typer = new KeyTyper(this.keys);
    this.inputs = [];
    const opts = this.spec.options.map((o, i) => {
      const input = h("input", { type: "checkbox", value: o.value, id: `${this.uid}-${i}`,
        tabIndex: i === 0 ? 0 : -1, "aria-keyshortcuts": this.keys[i] || undefined });
      input.addEventListener("change", () => this.changed());
      input.addEventListener("focus", () => this.rove(i));
      this.inputs.push(input);
      return h("label", { class: "option", htmlFor: input.id }, input,
        this.keys[i] ? h("kbd", { "aria-hidden": "true" }, showKey(this.keys[i])) : null,
        h("span", { class: "option-title", dir: "auto" }, o.title || o.value));
    });
    this.append(h("fieldset", { class: "choice-group" }, this.heading(), this.help(),
      h("div", { class: "options" }, opts)));
  }

  rove(index) {
    this.inputs.forEach((inp, j) => { inp.tabIndex = j === index ? 0 : -1; });
  }

  get value() { return this.inputs.filter((i) => i.checked).map((i) => i.value); }

  set value(v) {
    const chosen = new Set(Array.isArray(v) ? v : []);
    for (const i of this.inputs) i.checked = chosen.has(i.value);
  }

  focusField() { (this.inputs.find((i) => i.tabIndex === 0) || this.inputs[0]).focus(); }

  handleKey(e, focused) {
    if (!plainKey(e)) return false;
    const i = this.typer.press(e);
    if (i === "pending") return true;
    if (i >= 0) {
      this.inputs[i].checked = !this.inputs[i].checked;
      if (focused) this.inputs[i].focus();
      this.changed();
      return true;
    }
    if (focused && ["ArrowDown", "ArrowRight", "ArrowUp", "ArrowLeft"].includes(e.key)) {
      const at = Math.max(0, this.inputs.indexOf(document.activeElement));
      const step = e.key === "ArrowDown" || e.key === "ArrowRight" ? 1 : -1;
      this.inputs[(at + step + this.inputs.length) % this.inputs.length].focus();
      return true;
    }
    return false;
  }

  shortcuts() {
    return this.spec.options.map((o, i) => ({ keys: [showKey(this.keys[i])], text: `toggle ${o.title || o.value}` }))
      .filter((s) => s.keys[0]);
  }
}

registerField("multi_choice", "tl-multi-choice", TlMultiChoice);

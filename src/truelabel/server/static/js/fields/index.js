// Every built-in field element (plug-in kinds load through loadFieldKinds).
import "./choice.js";
import "./multi-choice.js";
import "./spans.js";
import "./text.js";
import "./rating.js";

import { isTyping } from "../dom.js";

export { createField, knownFieldTypes, loadFieldKinds, registerField, renderValue } from "./registry.js";

/**
 * Keyboard for a form made of field elements (review corrections, adjudication):
 * Enter (Ctrl+Enter inside a text box or on a control matched by ``controls``) runs
 * ``submit``; other keys go to the focused field first, then to any field that takes them.
 * Returns true when the key was used.
 */
export function routeFieldKeys(e, fields, submit, controls = "button, a, summary") {
  const target = e.target;
  if (e.key === "Enter" && !e.shiftKey && !e.altKey) {
    if (target instanceof Element && target.tagName === "TEXTAREA" && !(e.ctrlKey || e.metaKey)) return true;
    if (target instanceof Element && target.closest(controls) && !(e.ctrlKey || e.metaKey)) return true;
    e.preventDefault();
    submit();
    return true;
  }
  if (isTyping(target)) return true;
  const host = target instanceof Element ? target.closest(".tl-field") : null;
  const active = fields.find((f) => f === host) || null;
  if (active && active.handleKey(e, true)) { e.preventDefault(); return true; }
  for (const f of fields) {
    if (f !== active && f.handleKey(e, false)) { e.preventDefault(); return true; }
  }
  return false;
}

// Empty submissions: a submit with no field filled in, by the schema's ``empty_submissions``
// policy (docs/schema.md). "confirm" asks in the page (a modal <dialog>, never
// window.confirm); "refuse" says so here before the server refuses it; "allow" sends it.
import { h } from "./dom.js";

let open = null; // the question on screen, so a second Enter does not ask twice

/** Whether an annotation value is empty: no field, or only empty lists and texts (as the
 * server counts it, domain/schema.py). */
export const isEmpty = (value) => Object.values(value || {})
  .every((v) => v === null || v === "" || (Array.isArray(v) && v.length === 0));

/**
 * Resolve true when ``value`` may be sent: it has a value, or the schema allows empty
 * answers, or the annotator confirms. ``say(text, kind)`` shows a refusal.
 */
export function confirmEmpty(schema, value, say = () => {}) {
  if (!isEmpty(value)) return Promise.resolve(true);
  const policy = (schema && schema.empty_submissions) || "confirm";
  if (policy === "allow") return Promise.resolve(true);
  if (policy === "refuse") {
    say("This project does not take empty answers: fill in at least one field, or skip the item.", "error");
    return Promise.resolve(false);
  }
  if (open) return Promise.resolve(false);
  return new Promise((resolve) => {
    const finish = (ok) => {
      dialog.close();
      dialog.remove();
      open = null;
      resolve(ok);
    };
    const send = h("button", { type: "button", class: "btn btn-primary", id: "empty-send",
      on: { click: () => finish(true) } }, "Submit empty");
    const back = h("button", { type: "button", class: "btn", id: "empty-back",
      on: { click: () => finish(false) } }, "Keep labeling");
    const dialog = h("dialog", { class: "empty-confirm", id: "empty-confirm", "aria-labelledby": "empty-confirm-title",
      "aria-describedby": "empty-confirm-text" },
      h("h2", { id: "empty-confirm-title" }, "Submit an empty answer?"),
      h("p", { id: "empty-confirm-text" }, "No field has a value. It will count as labelled with nothing. "
        + "Press Enter to submit it anyway, or Escape to go back."),
      h("div", { class: "actions" }, send, back));
    dialog.addEventListener("cancel", (e) => { e.preventDefault(); finish(false); }); // Escape
    document.body.append(dialog);
    open = dialog;
    dialog.showModal();
    send.focus();
  });
}

// Pieces the Manage tabs share: a status line, an in-page confirmation (no window.confirm),
// a toast, and a section heading.
import { h, replace } from "../../dom.js";
import { errorMessage } from "../../api.js";

/** A status paragraph; ``.ok(text)``, ``.fail(err)`` and ``.busy(text)`` set it. */
export function statusLine(id) {
  const el = h("p", { class: "notice", id, role: "status", "aria-live": "polite" });
  el.ok = (text) => { el.className = "notice"; el.textContent = text; };
  el.busy = (text = "Saving…") => { el.className = "notice"; el.textContent = text; };
  el.fail = (err) => { el.className = "inline-error"; el.textContent = errorMessage(err); };
  return el;
}

/** A section with a heading. */
export function section(title, id, ...children) {
  return h("section", { class: "panel", "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

/**
 * A button that asks first, in place: the first click turns it into "Confirm" and "Cancel";
 * ``action`` runs only on "Confirm".
 */
export function confirmButton(label, confirmLabel, action, attrs = {}) {
  const wrap = h("span", { class: "confirm-row" });
  const ask = () => {
    const yes = h("button", { type: "button", class: "btn btn-small btn-danger", ...(attrs.id ? { id: `${attrs.id}-confirm` } : {}),
      on: { click: async () => { yes.disabled = true; await action(); } } }, confirmLabel);
    const no = h("button", { type: "button", class: "btn btn-small", on: { click: () => { replace(wrap, first); first.focus(); } } }, "Cancel");
    replace(wrap, yes, no);
    yes.focus();
  };
  const first = h("button", { type: "button", class: "btn btn-small", ...attrs, on: { click: ask } }, label);
  wrap.append(first);
  return wrap;
}

/** A short message at the bottom of the page. */
export function toast(text) {
  const el = document.getElementById("toast");
  if (!el) return;
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 3000);
}

/** "3 seconds ago"-free date: the local date and time of a Unix timestamp. */
export const when = (seconds) => new Date(seconds * 1000).toLocaleString();

// Sign-off warnings on the quality page: open adjudications and low agreement are listed
// before a manager signs off; signing off anyway needs an override reason, which is
// recorded with the sign-off and in the audit log (docs/lifecycle.md).

import { api, projectUrl } from "./api.js";
import { h, replace } from "./dom.js";

const el = (id) => document.getElementById(id);

/** Show ``warnings`` (from the API) above the sign-off button; the override box with them. */
export function showSignoffWarnings(warnings) {
  const box = el("signoff-warnings");
  const override = el("signoff-override-box");
  if (!box || !override) return;
  const list = warnings || [];
  box.hidden = override.hidden = list.length === 0;
  replace(box, list.length ? [
    h("p", {}, h("strong", {}, "Before you sign off:")),
    h("ul", {}, list.map((w) => h("li", { dataset: { warning: w.code } }, w.message))),
  ] : []);
}

/** Load what a sign-off now would be warned about (managers only; quiet otherwise). */
export async function loadSignoffWarnings(project) {
  if (!el("signoff-warnings")) return;
  try {
    const got = await api.get(projectUrl(project, "/signoffs/warnings"));
    showSignoffWarnings(got.warnings);
  } catch { /* the sign-off itself reports any error */ }
}

/** The override reason typed in, "" when none. */
export function overrideReason() {
  const box = el("signoff-override");
  return box ? box.value.trim() : "";
}

/** A line for a past sign-off that overrode warnings, or null. */
export function overrideNote(evidence) {
  const reason = evidence && evidence.override_reason;
  if (!reason) return null;
  const what = (evidence.signoff_warnings || []).map((w) => w.message).join("; ");
  return h("p", { class: "badge-warn override-note" }, `Signed off despite: ${what}. Reason: ${reason}`);
}

/** True (and the reason box focused) when warnings are shown and no reason was typed. */
export function missingOverride() {
  const box = el("signoff-warnings");
  if (!box || box.hidden || overrideReason()) return false;
  el("signoff-override").focus();
  return true;
}

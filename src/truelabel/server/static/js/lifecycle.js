// The item lifecycle states (domain/lifecycle.py, docs/lifecycle.md) as people read them.

export const STATE_LABELS = {
  queued: "Queued",
  in_progress: "In progress",
  submitted: "Submitted",
  in_review: "In review",
  rejected: "Rejected — rework",
  in_adjudication: "In adjudication",
  decided: "Decided",
  signed_off: "Signed off",
};

/** Show an item's state in a badge element (hidden when the state is unknown). */
export function showState(badge, state) {
  if (!badge) return;
  badge.hidden = !state;
  badge.dataset.state = state || "";
  badge.textContent = state ? `State: ${STATE_LABELS[state] || state}` : "";
  badge.title = "Where the item stands in its lifecycle";
}

// Which field the annotator is working in, so keys never change an answer by accident.
//
// The page puts the focus on the first field of a new item, but that does not make it the
// *active* field: a field becomes active when the user clicks into it, Tabs into it, or uses
// one of its keys while it has the focus. Arrow keys move a radio group's answer only in the
// active field (the browser's own radio-arrow behaviour is stopped elsewhere), and while the
// focus is on a field control, letters belong to that field alone: they are never page
// hotkeys (the "s" of "Customer" typed into a choice does not skip).

const ARROWS = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"]);

/** Track the active field among ``container``'s fields; ``fieldOf(node)`` finds a node's. */
export function activeFieldTracker(container, fieldOf) {
  let active = null;
  let tabbing = false;
  document.addEventListener("keydown", (e) => { if (e.key === "Tab") tabbing = true; }, true);
  document.addEventListener("keyup", (e) => { if (e.key === "Tab") tabbing = false; }, true);
  container.addEventListener("pointerdown", (e) => { mark(fieldOf(e.target)); }, true);
  container.addEventListener("focusin", (e) => { if (tabbing) mark(fieldOf(e.target)); });

  function mark(field) {
    if (active === field) return;
    if (active) active.classList.remove("field-active");
    active = field || null;
    if (active) active.classList.add("field-active");
  }

  return {
    isActive: (field) => field !== null && field === active,
    set: mark,
    clear: () => mark(null),
  };
}

/** Whether ``e`` is an arrow key on a radio button (the browser would change the answer). */
export function isRadioArrow(e) {
  const t = e.target;
  return ARROWS.has(e.key) && t instanceof HTMLInputElement && t.type === "radio";
}

/** Whether ``e`` types a letter (any script), without Ctrl/Alt/Meta. */
export function isLetter(e) {
  return !e.ctrlKey && !e.altKey && !e.metaKey && /^\p{L}$/u.test(e.key);
}

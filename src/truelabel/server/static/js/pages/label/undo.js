// Undo of the last submit or skip, and "back to the previous item" (the same thing: the
// item comes back, a skip with its draft, a submit with its answer filled in). The last
// action is remembered for this tab (sessionStorage), so a reload keeps the way back.
import { api, projectUrl, errorMessage } from "../../api.js";
import { h } from "../../dom.js";

/** Ctrl/⌘+Z or Ctrl/⌘+← (outside text boxes): back to the previous item. */
export const isBackKey = (e) => (e.ctrlKey || e.metaKey) && !e.shiftKey && !e.altKey
  && (e.key === "ArrowLeft" || e.key === "z" || e.key === "Z");

/**
 * ``onTask(task, text)`` shows the task that came back; ``say(text, kind, ...nodes)`` reports.
 * Returns { remember(kind, task, title), back(), button() }.
 */
export function undoControl({ project, onTask, say, backButton }) {
  const key = `tl-last:${project}`;
  let last = null;
  try { last = JSON.parse(sessionStorage.getItem(key) || "null"); } catch { last = null; }

  function save() {
    try {
      if (last) sessionStorage.setItem(key, JSON.stringify(last));
      else sessionStorage.removeItem(key);
    } catch { /* storage blocked: only this page remembers */ }
    backButton.disabled = !last;
    backButton.title = last ? `Back to ${last.title} (${last.kind === "skip" ? "skipped" : "submitted"})` : "Nothing to go back to yet";
  }

  function remember(kind, task, title) {
    last = { kind, taskId: task.id, title };
    save();
  }

  let busy = false;
  async function back() {
    if (!last || busy) return;
    busy = true;
    const was = last;
    try {
      const task = await api.post(projectUrl(project, `/tasks/${was.taskId}/undo`));
      last = null;
      save();
      onTask(task, was.kind === "skip"
        ? `Back on ${was.title}: your skip is undone.`
        : `Back on ${was.title}: your answer is taken back and filled in; change it and submit again.`);
    } catch (err) {
      say(`Cannot go back to ${was.title}: ${errorMessage(err)}`, "error");
    } finally {
      busy = false;
    }
  }

  function button() {
    return h("button", { type: "button", class: "btn btn-small", id: "undo",
      on: { click: () => back() } }, "Undo");
  }

  backButton.addEventListener("click", () => back());
  save();
  return { remember, back, button };
}

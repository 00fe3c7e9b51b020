// The progress counter: done today, done in total, left for me, skipped. One request when
// the page starts (and after an undo); submits and skips count locally in between.
import { api, projectUrl } from "../../api.js";
import { h, replace } from "../../dom.js";

export function progressCounter(project, box) {
  let counts = null;

  function render() {
    if (!counts) return;
    const part = (id, n, text) => h("span", { class: "progress-part", id }, h("strong", {}, String(n)), ` ${text}`);
    replace(box,
      part("progress-today", counts.done_today, "today"), " · ",
      part("progress-total", counts.done_total, "in total"), " · ",
      part("progress-left", Math.max(0, counts.remaining), "left"),
      counts.skipped ? [" · ", h("a", { href: `/p/${encodeURIComponent(project)}/work#skipped`, id: "progress-skipped" },
        `${counts.skipped} skipped`)] : []);
    box.hidden = false;
  }

  async function refresh() {
    const midnight = new Date();
    midnight.setHours(0, 0, 0, 0);
    try {
      counts = await api.get(projectUrl(project, `/me/progress?since=${midnight.getTime() / 1000}`));
      render();
    } catch { box.hidden = true; } // the counter is a nicety; the page works without it
  }

  function count(kind) {
    if (!counts) return;
    if (kind === "submit") { counts.done_today += 1; counts.done_total += 1; counts.remaining -= 1; }
    if (kind === "skip") { counts.skipped += 1; counts.remaining -= 1; }
    render();
  }

  return { refresh, count };
}

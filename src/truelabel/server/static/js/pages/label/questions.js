// Questions to the managers about the item on screen, and their answers.
import { api, projectUrl, errorMessage } from "../../api.js";
import { h, replace } from "../../dom.js";

export function questionPanel(project, root) {
  const list = root.querySelector("#question-list");
  const text = root.querySelector("#question-text");
  const status = root.querySelector("#question-status");
  let itemId = null;

  function render(rows) {
    replace(list, rows.map((q) => h("li", { class: "question" },
      h("p", { class: "question-body" }, q.body),
      q.answer
        ? h("p", { class: "question-answer" }, h("strong", {}, `${q.answered_by || "A manager"}: `), q.answer)
        : h("p", { class: "muted" }, "Waiting for an answer."))));
  }

  async function load(id) {
    if (itemId !== id) { replace(list); status.textContent = ""; }
    itemId = id;
    try {
      const rows = await api.get(projectUrl(project, `/me/questions?item_id=${id}`));
      if (itemId === id) render(rows);
    } catch { /* the panel stays empty */ }
  }

  root.querySelector("#question-send").addEventListener("click", async () => {
    const body = text.value.trim();
    if (!body || itemId === null) { status.textContent = "Write your question first."; return; }
    try {
      await api.post(projectUrl(project, `/items/${itemId}/questions`), { text: body });
      text.value = "";
      status.textContent = "Sent to the managers.";
      await load(itemId);
    } catch (err) {
      status.textContent = `Not sent: ${errorMessage(err)}`;
    }
  });

  return { load, hide: () => { root.hidden = true; }, show: () => { root.hidden = false; } };
}

// Questions: annotators' questions about items, answered and resolved by managers.
import { api, projectUrl, errorMessage } from "../api.js";
import { h, replace } from "../dom.js";
import { initShell } from "../shell.js";

initShell();

const project = document.body.dataset.project;
const el = (id) => document.getElementById(id);

function row(q) {
  const text = h("textarea", { rows: "2", maxlength: "4000", "aria-label": `Answer to question ${q.id}` });
  text.value = q.answer || "";
  const status = h("span", { class: "muted", role: "status" });
  const send = async (resolve) => {
    try {
      await api.post(projectUrl(project, `/questions/${q.id}/answer`), { text: text.value, resolve });
      status.textContent = resolve ? "Answered and resolved." : "Answered; still open.";
      if (resolve && !el("show-resolved").checked) setTimeout(load, 600);
    } catch (err) {
      status.textContent = `Not sent: ${errorMessage(err)}`;
    }
  };
  return h("li", { class: "question", dataset: { question: String(q.id) } },
    h("p", {}, h("strong", {}, `${q.asked_by} on item ${q.external_id || `#${q.item_id}`}`), " ",
      h("span", { class: "muted" }, new Date(q.created_at * 1000).toLocaleString()),
      q.status === "resolved" ? h("span", { class: "badge" }, " resolved") : null),
    h("p", { class: "question-body", dir: "auto" }, q.body),
    text,
    h("p", {},
      h("button", { type: "button", class: "btn btn-small btn-primary", on: { click: () => send(true) } }, "Answer and resolve"), " ",
      h("button", { type: "button", class: "btn btn-small", on: { click: () => send(false) } }, "Answer, keep open"), " ",
      status));
}

async function load() {
  const status = el("show-resolved").checked ? "" : "open";
  try {
    const rows = await api.get(projectUrl(project, `/questions?status=${status}`));
    el("questions-status").textContent = rows.length ? `${rows.length} question${rows.length === 1 ? "" : "s"}` : "No open questions.";
    replace(el("questions-list"), rows.map(row));
  } catch (err) {
    el("questions-status").textContent = errorMessage(err);
  }
}

el("show-resolved").addEventListener("change", load);
load();

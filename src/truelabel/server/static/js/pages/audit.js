// The audit log for admins: newest-first display of keyset pages, filter by action.
import { api, errorMessage } from "../api.js";
import { h, append } from "../dom.js";
import { initShell } from "../shell.js";

initShell();

const rows = document.getElementById("audit-rows");
const status = document.getElementById("audit-status");
const more = document.getElementById("audit-more");
const form = document.getElementById("audit-filter");
let after = 0;
let action = "";

function when(t) {
  return new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19);
}

function row(e) {
  return h("tr", {},
    h("td", {}, String(e.id)),
    h("td", {}, when(e.at)),
    h("td", {}, e.username || (e.user_id ? `#${e.user_id}` : "—")),
    h("td", {}, h("code", {}, e.action)),
    h("td", {}, `${e.object_type} ${e.object_id ?? ""}`),
    h("td", { class: "muted" }, e.detail || ""));
}

async function load(reset) {
  if (reset) { rows.replaceChildren(); after = 0; }
  try {
    const q = new URLSearchParams({ after: String(after), limit: "200" });
    if (action) q.set("action", action);
    const page = await api.get(`/api/audit?${q}`);
    append(rows, page.entries.map(row));
    after = page.next_after ?? after;
    more.hidden = page.next_after === null;
    status.textContent = `${rows.children.length} entries${action ? ` for “${action}”` : ""}`;
  } catch (err) {
    status.textContent = errorMessage(err);
  }
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  action = new FormData(form).get("action").trim();
  load(true);
});
more.addEventListener("click", () => load(false));
load(true);

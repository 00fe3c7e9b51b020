// The projects list: one card per project with its counts and links.
import { api, projectUrl, errorMessage } from "../api.js";
import { h, replace } from "../dom.js";
import { initShell } from "../shell.js";

initShell();

const list = document.getElementById("projects");
const status = document.getElementById("projects-status");

function card(p, info) {
  const href = `/p/${encodeURIComponent(p.name)}`;
  const counts = info && info.status;
  const body = [h("h2", {}, h("a", { href }, p.title || p.name))];
  body.push(h("p", { class: "muted" }, p.name, info ? ` · your role: ${info.role}` : ""));
  if (counts) {
    body.push(h("progress", { max: String(Math.max(counts.items, 1)), value: String(counts.labeled),
      "aria-label": `${counts.labeled} of ${counts.items} items labeled` }));
    body.push(h("dl", { class: "counts" },
      h("div", {}, h("dt", {}, "Items"), h("dd", {}, String(counts.items))),
      h("div", {}, h("dt", {}, "Labeled"), h("dd", {}, String(counts.labeled))),
      h("div", {}, h("dt", {}, "In progress"), h("dd", {}, String(counts.in_progress))),
      h("div", {}, h("dt", {}, "Annotations"), h("dd", {}, String(counts.submitted)))));
  }
  body.push(h("div", { class: "card-actions" },
    h("a", { class: "btn btn-primary", href: `${href}/label` }, "Label"),
    h("a", { class: "btn", href }, "Browse items")));
  return h("li", { class: "card project-card", dataset: { project: p.name } }, body);
}

async function load() {
  try {
    const projects = await api.get("/api/projects");
    if (!projects.length) {
      status.textContent = "You are not in any project yet. Ask a manager to add you.";
      return;
    }
    const infos = await Promise.all(projects.map((p) => api.get(projectUrl(p.name)).catch(() => null)));
    replace(list, projects.map((p, i) => card(p, infos[i])));
    status.textContent = `${projects.length} project${projects.length === 1 ? "" : "s"}`;
  } catch (err) {
    status.textContent = errorMessage(err);
  }
}

load();

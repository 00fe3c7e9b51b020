// The projects list: one card per project with its counts and links. Admins also get the
// "New project" form (POST /api/projects) and the archived projects, each with "Unarchive".
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
  if (p.archived) {
    body.push(h("div", { class: "card-actions" },
      h("span", { class: "badge badge-archived" }, "archived"),
      h("button", { type: "button", class: "btn", id: `unarchive-${p.name}`, on: { click: () => unarchive(p) } }, "Unarchive"),
      h("a", { class: "btn", href: `${href}/manage` }, "Manage")));
    return h("li", { class: "card project-card", dataset: { project: p.name } }, body);
  }
  body.push(h("div", { class: "card-actions" },
    h("a", { class: "btn btn-primary", href: `${href}/label` }, "Label"),
    h("a", { class: "btn", href }, "Browse items"),
    info && ["admin", "manager"].includes(info.role) ? h("a", { class: "btn", href: `${href}/manage` }, "Manage") : null));
  return h("li", { class: "card project-card", dataset: { project: p.name } }, body);
}

async function load() {
  try {
    const all = await api.get("/api/projects");
    const projects = all.filter((p) => !p.archived);
    showArchived(all.filter((p) => p.archived));
    if (!projects.length) {
      replace(list);
      status.textContent = document.body.dataset.admin
        ? "No active projects yet. Create one with “New project” above."
        : "You are not in any project yet. Ask a manager to add you.";
      return;
    }
    const infos = await Promise.all(projects.map((p) => api.get(projectUrl(p.name)).catch(() => null)));
    replace(list, projects.map((p, i) => card(p, infos[i])));
    status.textContent = `${projects.length} project${projects.length === 1 ? "" : "s"}`;
  } catch (err) {
    status.textContent = errorMessage(err);
  }
}

function showArchived(archived) {
  const box = document.getElementById("archived-projects");
  if (!box) return;
  document.getElementById("archived-section").hidden = !archived.length;
  replace(box, archived.map((p) => card(p, null)));
}

async function unarchive(p) {
  try {
    await api.post(projectUrl(p.name, "/archive"), { archived: false });
    await load();
  } catch (err) {
    status.textContent = errorMessage(err);
  }
}

const createForm = document.getElementById("create-form");
if (createForm) {
  createForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const error = document.getElementById("create-error");
    const value = (id) => document.getElementById(id).value;
    error.textContent = "";
    try {
      const made = await api.post("/api/projects", {
        name: value("create-name").trim(), title: value("create-title").trim(), schema: value("create-schema"),
        overlap: Number(value("create-overlap")), guidelines: value("create-guidelines"),
      });
      location.assign(`/p/${encodeURIComponent(made.name)}/manage`);
    } catch (err) {
      error.textContent = errorMessage(err);
    }
  });
}

load();

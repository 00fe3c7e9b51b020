// "The guidelines changed": on the labeling page, the guideline versions newer than the one
// this annotator last acknowledged, with the manager's changelog notes, until "Got it"
// (GET /guidelines/changes, POST /guidelines/seen). A first visit records the current
// version quietly. Imported for its effect by pages/label.js (one line).
import { api, projectUrl } from "./api.js";
import { h } from "./dom.js";

const project = document.body.dataset.project;

async function notice() {
  const changes = await api.get(projectUrl(project, "/guidelines/changes"));
  if (changes.current === null) return;
  const seen = () => api.post(projectUrl(project, "/guidelines/seen"), { version: changes.current });
  if (changes.seen === null) { await seen(); return; }
  if (!changes.changes.length) return;
  const box = h("section", { class: "message message-warn guidelines-notice", id: "guidelines-notice",
    role: "status", "aria-labelledby": "guidelines-notice-title" },
  h("strong", { id: "guidelines-notice-title" }, `The guidelines changed (now version ${changes.current})`),
  h("ul", {}, changes.changes.map((c) => h("li", {}, `Version ${c.version}: `, c.note || "(no note)"))),
  h("span", {}, "The guidelines panel shows the new text. "),
  h("button", { type: "button", class: "btn btn-small", id: "guidelines-notice-ok",
    on: { click: async () => { await seen(); box.remove(); } } }, "Got it"));
  const anchor = document.getElementById("label-layout") || document.querySelector("main");
  anchor.before(box);
}

// A notice that cannot load must not disturb labeling: say so on the console only.
notice().catch((err) => console.warn("guidelines notice:", err && err.message ? err.message : err));

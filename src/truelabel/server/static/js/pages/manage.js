// A project's "Manage" page: one tab per concern, each an ES module under ./manage/ exporting
// {id, title, mount(panel, ctx)}. The open tab is in the URL fragment (#schema), so a link
// or a reload lands on it. Arrow keys move between tabs (WAI-ARIA tabs pattern).
import { api, projectUrl, errorMessage } from "../api.js";
import { h, replace } from "../dom.js";
import { initShell } from "../shell.js";
import * as general from "./manage/general.js";
import * as schema from "./manage/schema.js";
import * as guidelines from "./manage/guidelines.js";
import * as members from "./manage/members.js";
import * as gold from "./manage/gold.js";
import * as assign from "./manage/assign.js";
import * as workflow from "./manage/workflow.js";

initShell();

const TABS = [general, schema, guidelines, members, gold, assign, workflow];
const project = document.body.dataset.project;
const tablist = document.getElementById("manage-tabs");
const panels = document.getElementById("manage-panels");
const mounted = new Set();

const ctx = {
  project,
  role: document.body.dataset.role,
  url: (rest = "") => projectUrl(project, rest),
  info: null,
  async reload() { ctx.info = await api.get(projectUrl(project)); return ctx.info; },
};

function select(id, focus = false) {
  const tab = TABS.find((t) => t.id === id) || TABS[0];
  for (const t of TABS) {
    const button = document.getElementById(`tab-${t.id}`);
    const panel = document.getElementById(`panel-${t.id}`);
    const on = t === tab;
    button.setAttribute("aria-selected", String(on));
    button.tabIndex = on ? 0 : -1;
    panel.hidden = !on;
  }
  if (!mounted.has(tab.id)) {
    mounted.add(tab.id);
    const panel = document.getElementById(`panel-${tab.id}`);
    Promise.resolve(tab.mount(panel, ctx)).catch((err) => replace(panel, h("p", { class: "inline-error", role: "alert" }, errorMessage(err))));
  }
  if (focus) document.getElementById(`tab-${tab.id}`).focus();
  if (location.hash !== `#${tab.id}`) history.replaceState(null, "", `#${tab.id}`);
}

function build() {
  for (const t of TABS) {
    tablist.append(h("button", { type: "button", role: "tab", id: `tab-${t.id}`, "aria-controls": `panel-${t.id}`,
      "aria-selected": "false", tabIndex: -1, on: { click: () => select(t.id) } }, t.title));
    panels.append(h("section", { class: "tab-panel", role: "tabpanel", id: `panel-${t.id}`, "aria-labelledby": `tab-${t.id}`, hidden: true }));
  }
  tablist.addEventListener("keydown", (e) => {
    const i = TABS.findIndex((t) => document.getElementById(`tab-${t.id}`) === document.activeElement);
    if (i < 0) return;
    const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
    if (step) { e.preventDefault(); select(TABS[(i + step + TABS.length) % TABS.length].id, true); }
    else if (e.key === "Home") { e.preventDefault(); select(TABS[0].id, true); }
    else if (e.key === "End") { e.preventDefault(); select(TABS[TABS.length - 1].id, true); }
  });
  window.addEventListener("hashchange", () => select(location.hash.slice(1)));
}

async function start() {
  build();
  try {
    await ctx.reload();
  } catch (err) {
    replace(panels, h("p", { class: "inline-error", role: "alert" }, errorMessage(err)));
    return;
  }
  select(location.hash.slice(1));
}

start();

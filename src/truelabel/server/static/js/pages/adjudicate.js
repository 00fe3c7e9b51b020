// The adjudication page: every label of a disputed item side by side, with annotator names;
// pick one annotator's labels or compose a value with the field components, then decide.
import { api, projectUrl, errorMessage, ApiError } from "../api.js";
import { h, replace } from "../dom.js";
import { createField, loadFieldKinds, routeFieldKeys } from "../fields/index.js";
import { formatValue, itemText, sameValue } from "../values.js";
import { initShell } from "../shell.js";
import { showState } from "../lifecycle.js";

initShell();

const project = document.body.dataset.project;
const el = (id) => document.getElementById(id);

const state = { schema: { fields: [] }, queue: [], current: null, fields: [], busy: false };

function say(text, kind = "info") {
  const box = el("message");
  box.className = `message message-${kind}`;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  box.textContent = text;
  box.hidden = !text;
}

const titleOf = (entry) => (entry.external_id ? `Item ${entry.external_id}` : `Item #${entry.item_id}`);

// -- the list ----------------------------------------------------------------------------
function renderList() {
  const n = state.queue.length;
  el("adj-count").textContent = n
    ? `${n} item${n === 1 ? "" : "s"} waiting for a decision.`
    : "No item is waiting.";
  replace(el("adj-list"), state.queue.map((entry) => h("li", {},
    h("button", {
      type: "button", class: "link-button", dataset: { itemId: String(entry.item_id) },
      "aria-current": state.current && state.current.item_id === entry.item_id ? "true" : undefined,
      on: { click: () => show(entry) },
    }, entry.external_id ? entry.external_id : `#${entry.item_id}`), " ",
    h("span", { class: "muted" }, entry.reason || ""))));
}

// -- one item ----------------------------------------------------------------------------
function majorityOf(name, annotations) {
  const counts = new Map();
  for (const a of annotations) {
    if (!(name in a.value)) continue;
    const k = JSON.stringify(a.value[name]);
    counts.set(k, (counts.get(k) || 0) + 1);
  }
  let best = null;
  for (const [k, c] of counts) if (!best || c > best[1]) best = [k, c];
  return best && best[1] > 1 ? JSON.parse(best[0]) : undefined;
}

function labelTable(entry) {
  const anns = entry.annotations || [];
  replace(el("adj-head"), h("th", { scope: "col" }, "Field"),
    anns.map((a, i) => h("th", { scope: "col" }, h("span", { class: "annotator-name" }, a.username), " ",
      h("button", {
        type: "button", class: "btn btn-small", id: `use-${i}`, dataset: { annotator: a.username },
        on: { click: () => useAnnotation(a) },
      }, "Use these"))));
  replace(el("adj-body"), state.schema.fields.map((spec) => {
    const values = anns.map((a) => a.value[spec.name]);
    const split = values.some((v) => !sameValue(v, values[0]));
    return h("tr", { class: split ? "disagree" : "", dataset: { field: spec.name } },
      h("th", { scope: "row" }, spec.title || spec.name, split ? h("span", { class: "badge badge-warn" }, "differs") : null),
      anns.map((a) => h("td", { dataset: { annotator: a.username } }, formatValue(spec, a.value[spec.name], entry.data || {}))));
  }));
}

function buildFields(entry) {
  state.fields = [];
  const nodes = [];
  for (const spec of state.schema.fields) {
    const f = createField(spec, entry.data || {});
    if (!f) continue;
    const maj = majorityOf(spec.name, entry.annotations || []);
    if (maj !== undefined) f.value = maj; // start from what most said; the disputed ones stay empty
    state.fields.push(f);
    nodes.push(f);
  }
  replace(el("adj-fields"), nodes);
  el("adj-comment").value = "";
}

function useAnnotation(a) {
  for (const f of state.fields) f.value = a.value[f.spec.name] ?? null;
  say(`Starting from ${a.username}'s labels.`, "info");
  if (state.fields.length) state.fields[0].focusField();
}

function show(entry) {
  state.current = entry;
  el("adj-layout").hidden = false;
  el("adj-done").hidden = true;
  el("adj-title").textContent = titleOf(entry);
  el("adj-layout").dataset.itemId = String(entry.item_id);
  if (entry.external_id === undefined) fillExternalId(entry);
  showState(el("item-state"), entry.state);
  el("adj-reason").textContent = entry.reason || "";
  replace(el("adj-text"), itemText(entry.data || {}));
  labelTable(entry);
  buildFields(entry);
  renderList();
  if (state.fields.length) state.fields[0].focusField();
}

/** The queue does not carry external ids; the item does. */
async function fillExternalId(entry) {
  try {
    const item = await api.get(projectUrl(project, `/items/${entry.item_id}`));
    entry.external_id = item.external_id;
    if (state.current === entry) el("adj-title").textContent = titleOf(entry);
    renderList();
  } catch { entry.external_id = null; }
}

function showDone() {
  state.current = null;
  el("adj-layout").hidden = true;
  el("adj-done").hidden = false;
  renderList();
}

async function load(preferId) {
  try {
    state.queue = await api.get(projectUrl(project, "/adjudications"));
  } catch (err) {
    say(errorMessage(err), "error");
    return;
  }
  if (!state.queue.length) { showDone(); return; }
  const wanted = state.queue.find((e) => e.item_id === preferId);
  show(wanted || state.queue[0]);
}

// -- deciding ----------------------------------------------------------------------------
function collect() {
  const value = {};
  for (const f of state.fields) {
    const v = f.value;
    if (v !== null && v !== undefined) value[f.spec.name] = v;
  }
  return value;
}

async function decide() {
  if (state.busy || !state.current) return;
  const value = collect();
  const missing = state.fields.find((f) => f.isRequired && value[f.spec.name] === undefined);
  if (missing) {
    say(`“${missing.fieldTitle}” needs a value before you decide.`, "error");
    missing.focusField();
    return;
  }
  const entry = state.current;
  state.busy = true;
  el("adj-decide").disabled = true;
  try {
    await api.post(projectUrl(project, `/adjudications/${entry.item_id}`), {
      value, comment: el("adj-comment").value.trim(),
    });
    say(`Decided ${titleOf(entry).replace(/^Item/, "item")}; it is now its ground truth.`, "success");
    await load();
  } catch (err) {
    say(errorMessage(err), err instanceof ApiError && err.status === 409 ? "warn" : "error");
    if (err instanceof ApiError && err.status === 409) await load();
  } finally {
    state.busy = false;
    el("adj-decide").disabled = false;
  }
}

document.addEventListener("keydown", (e) => {
  if (e.defaultPrevented || e.isComposing || !state.current || state.busy) return;
  const target = e.target;
  if (target instanceof Element && target.closest("dialog, .topbar, .project-nav")) return;
  routeFieldKeys(e, state.fields, decide, "button, a, select, summary");
});

el("adj-form").addEventListener("submit", (e) => { e.preventDefault(); decide(); });
el("adj-reload").addEventListener("click", () => { say(""); load(); });

async function start() {
  try {
    const info = await api.get(projectUrl(project));
    state.schema = info.schema || { fields: [] };
    await loadFieldKinds(state.schema);
  } catch (err) {
    say(errorMessage(err), "error");
    return;
  }
  const wanted = Number(new URLSearchParams(location.search).get("item")) || undefined;
  await load(wanted);
}

start();

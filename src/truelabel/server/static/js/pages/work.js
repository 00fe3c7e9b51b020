// "My work": the annotator's submitted labels (paged, editable while no review or decision
// used them), their skipped items and their questions.
import { api, projectUrl, errorMessage } from "../api.js";
import { h, replace } from "../dom.js";
import { createField, loadFieldKinds } from "../fields/index.js";
import { renderItem } from "../items/registry.js";
import { formatValue } from "../values.js";
import { initShell } from "../shell.js";

initShell();

const project = document.body.dataset.project;
const el = (id) => document.getElementById(id);
const PAGE = 20;
const SETTLED = { reviewed: "reviewed: read-only", decided: "decided: read-only" };
let schema = { fields: [] };
let offset = 0;
let editing = null; // { annotation, fields }

const when = (t) => (t ? new Date(t * 1000).toLocaleString() : "");
const itemName = (r) => (r.external_id ? r.external_id : `#${r.item_id}`);

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function answer(value) {
  return h("dl", { class: "values" }, schema.fields.filter((f) => f.name in value).map((spec) =>
    h("div", { class: "value-row" }, h("dt", {}, spec.title || spec.name), h("dd", {}, formatValue(spec, value[spec.name])))));
}

async function loadPage(note = "") {
  let page;
  try {
    page = await api.get(projectUrl(project, `/me/annotations?offset=${offset}&limit=${PAGE}`));
  } catch (err) {
    el("work-status").textContent = errorMessage(err);
    return;
  }
  el("work-status").textContent = page.total ? note : "You have not submitted any labels here yet.";
  el("work-status").hidden = !el("work-status").textContent;
  replace(el("work-rows"), page.rows.map((r) => h("tr", { dataset: { annotation: String(r.id) } },
    h("td", {}, itemName(r)),
    h("td", { class: "preview", dir: "auto" }, r.preview),
    h("td", {}, answer(r.value)),
    h("td", {}, when(r.created_at), r.edited ? h("span", { class: "muted" }, " (edited)") : null),
    h("td", {}, r.editable ? "open" : SETTLED[r.settled] || r.settled),
    h("td", {}, r.editable ? h("button", { type: "button", class: "btn btn-small", on: { click: () => edit(r.id) } }, "Edit") : null))));
  const end = Math.min(page.total, offset + page.rows.length);
  el("work-range").textContent = page.total ? `${offset + 1}–${end} of ${page.total}` : "";
  el("work-prev").disabled = offset === 0;
  el("work-next").disabled = end >= page.total;
}

async function edit(annotationId) {
  const box = el("work-edit");
  el("work-edit-status").textContent = "";
  try {
    const a = await api.get(projectUrl(project, `/me/annotations/${annotationId}`));
    const fields = schema.fields.map((spec) => createField(spec, a.data || {})).filter(Boolean);
    for (const f of fields) if (f.spec.name in a.value) f.value = a.value[f.spec.name];
    const shown = fields.flatMap((f) => f.itemKeys());
    replace(el("work-edit-item"), renderItem(a.data || {}, { shown }));
    replace(el("work-edit-fields"), fields);
    el("work-edit-title").textContent = `Edit your answer on item ${itemName(a)}`;
    editing = { annotation: a, fields, key: newKey() };
    box.hidden = false;
    if (fields.length) fields[0].focusField();
  } catch (err) {
    el("work-status").hidden = false;
    el("work-status").textContent = errorMessage(err);
  }
}

async function save() {
  if (!editing) return;
  const value = {};
  for (const f of editing.fields) if (f.value !== null && f.value !== undefined) value[f.spec.name] = f.value;
  try {
    await api.put(projectUrl(project, `/annotations/${editing.annotation.id}`), { value, idempotency_key: editing.key });
    editing = null;
    el("work-edit").hidden = true;
    await loadPage("Saved as a new version.");
  } catch (err) {
    el("work-edit-status").textContent = `Not saved: ${errorMessage(err)}`;
  }
}

async function loadSkipped() {
  const rows = await api.get(projectUrl(project, "/me/skipped"));
  replace(el("skipped-list"), rows.length ? rows.map((r) => h("li", { class: "skipped" },
    h("strong", {}, itemName(r)), " ", h("span", { dir: "auto" }, r.preview), " ",
    h("span", { class: "muted" }, `skipped ${when(r.skipped_at)}; ${r.open ? "still open" : "others took it"}`)))
    : h("li", { class: "muted" }, "Nothing skipped."));
}

async function loadQuestions() {
  const rows = await api.get(projectUrl(project, "/me/questions"));
  replace(el("my-question-list"), rows.length ? rows.map((q) => h("li", { class: "question" },
    h("p", {}, h("strong", {}, `Item ${q.external_id || `#${q.item_id}`}: `), q.body),
    q.answer ? h("p", { class: "question-answer" }, h("strong", {}, `${q.answered_by}: `), q.answer)
      : h("p", { class: "muted" }, "Waiting for an answer.")))
    : h("li", { class: "muted" }, "No questions asked."));
}

el("work-prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); loadPage(); });
el("work-next").addEventListener("click", () => { offset += PAGE; loadPage(); });
el("work-save").addEventListener("click", () => save());
el("work-cancel").addEventListener("click", () => { editing = null; el("work-edit").hidden = true; });

async function start() {
  try {
    const info = await api.get(projectUrl(project));
    schema = info.schema || { fields: [] };
    await loadFieldKinds(schema);
  } catch (err) {
    el("work-status").textContent = errorMessage(err);
    return;
  }
  await Promise.all([loadPage(), loadSkipped().catch(() => {}), loadQuestions().catch(() => {})]);
}

start();

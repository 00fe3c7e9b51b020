// The labeling page: lease a task, show one element per field, autosave, submit, repeat.
import { api, projectUrl, errorMessage, ApiError } from "../api.js";
import { h, replace, debounce, isTyping } from "../dom.js";
import { renderMarkdown } from "../markdown.js";
import { createField, knownFieldTypes, loadFieldKinds } from "../fields/index.js";
import { renderItem } from "../items/registry.js";
import { formatValue } from "../values.js";
import { initShell } from "../shell.js";
import { currentUserId, draftStore } from "../drafts.js";
import { confirmEmpty } from "../empty_confirm.js";
import "../guidelines_notice.js"; // "the guidelines changed" notice (manage)
import { activeFieldTracker, isLetter, isRadioArrow } from "./label/focus.js";
import { isBackKey, undoControl } from "./label/undo.js";
import { progressCounter } from "./label/progress.js";
import { questionPanel } from "./label/questions.js";

initShell();

const project = document.body.dataset.project;
const el = (id) => document.getElementById(id);
const AUTOSAVE_MS = 300;

const state = {
  info: null,
  task: null,
  fields: [],
  key: null,       // idempotency key of this attempt at this task
  shownAt: 0,
  busy: false,
  leaseTimer: null,
  leaseWarned: false,
};

// -- small helpers -----------------------------------------------------------------------
function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs a secure context
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = Array.from(b, (v) => v.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function say(text, kind = "info", ...extra) {
  const box = el("message");
  box.className = `message message-${kind}`;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  replace(box, text, ...extra);
  box.hidden = !text;
}

const saveState = (text) => { el("save-state").textContent = text; };

let hintTimer = null;
function hint(text) { // why a key did nothing; never in the way of the message line
  const box = el("key-hint");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(hintTimer);
  hintTimer = setTimeout(() => { box.hidden = true; }, 5000);
}

// -- drafts in this browser: this user's only, keyed by item (as on the server), so a
// re-leased item finds its work; see drafts.js for who may read them ---------------------
const drafts = draftStore(currentUserId(), project);
const readLocal = (itemId) => drafts.read(itemId);
const writeLocal = (itemId, record) => drafts.write(itemId, record);
const clearLocal = (itemId) => drafts.clear(itemId);

// -- the annotation value -----------------------------------------------------------------
function collect() {
  const value = {};
  for (const f of state.fields) {
    const v = f.value;
    if (v !== null && v !== undefined) value[f.spec.name] = v;
  }
  return value;
}

function restore(value) {
  if (!value || typeof value !== "object") return false;
  let any = false;
  for (const f of state.fields) {
    if (f.spec.name in value) { f.value = value[f.spec.name]; any = true; }
  }
  return any;
}

const pushDraft = debounce(async (task, value) => {
  try {
    await api.put(projectUrl(project, `/tasks/${task.id}/draft`), { value });
    const rec = readLocal(task.item_id);
    if (rec && JSON.stringify(rec.value) === JSON.stringify(value)) writeLocal(task.item_id, { ...rec, synced: true });
    if (state.task === task) saveState("Draft saved");
  } catch (err) {
    if (state.task === task) saveState(`Draft kept in this browser only (${errorMessage(err)})`);
  }
}, AUTOSAVE_MS);

function onChange() {
  const task = state.task;
  if (!task || state.busy) return; // a submit or skip is on its way; this task is closing
  const value = collect();
  writeLocal(task.item_id, { value, key: state.key, task: task.id, synced: false, at: Date.now() });
  saveState("Saving…");
  pushDraft(task, value);
}

// -- the page around the task -------------------------------------------------------------
function renderGuidelines(markdown) {
  const box = el("guidelines");
  if (markdown && markdown.trim()) replace(box, renderMarkdown(markdown, { headingOffset: 2 }));
  else replace(box, h("p", { class: "muted" }, "This project has no guidelines yet."));
}

function keyRow(keys, text) {
  return h("div", { class: "key-row" },
    h("dt", {}, keys.flatMap((k, i) => (i ? [" + ", h("kbd", {}, k)] : [h("kbd", {}, k)]))),
    h("dd", {}, text));
}

function renderShortcuts() {
  const rows = [
    h("div", { class: "key-group" }, "Anywhere"),
    keyRow(["Enter"], "submit"),
    keyRow(["Ctrl", "Enter"], "submit from a text box"),
    keyRow(["s"], "skip (outside a field)"),
    keyRow(["Ctrl", "→"], "skip"),
    keyRow(["Ctrl", "←"], "back to the previous item (undo)"),
    keyRow(["Ctrl", "Z"], "undo the last submit or skip"),
    keyRow(["Esc"], "leave the field (letters are then page keys)"),
    keyRow(["Tab"], "next field"),
    keyRow(["Shift", "Tab"], "previous field"),
    keyRow(["?"], "show or hide this list"),
  ];
  for (const f of state.fields) {
    const list = f.shortcuts();
    if (!list.length) continue;
    rows.push(h("div", { class: "key-group" }, f.fieldTitle));
    for (const s of list) rows.push(keyRow(s.keys, s.text));
  }
  replace(el("shortcut-list"), rows);
}

function toggleShortcuts() {
  const panel = el("shortcuts");
  const collapsed = panel.classList.toggle("collapsed");
  el("shortcut-list").hidden = collapsed;
}

function showLease(task) {
  clearInterval(state.leaseTimer);
  state.leaseWarned = false;
  const out = el("lease");
  if (!task.lease_expires_at) { out.textContent = ""; return; }
  const tick = () => {
    const left = Math.round(task.lease_expires_at - Date.now() / 1000);
    if (left <= 0) {
      out.textContent = "Lease expired";
      out.className = "lease lease-expired";
      if (!state.leaseWarned) {
        state.leaseWarned = true;
        say("Your time on this item ran out, so it may go to someone else. Your work is kept; "
          + "submit to try anyway, or get a new task.", "warn", " ", newTaskButton());
      }
      clearInterval(state.leaseTimer);
      return;
    }
    const m = Math.floor(left / 60);
    const s = String(left % 60).padStart(2, "0");
    out.textContent = `Lease: ${m}:${s} left`;
    out.className = left < 60 ? "lease lease-low" : "lease";
  };
  tick();
  state.leaseTimer = setInterval(tick, 1000);
}

function newTaskButton() {
  return h("button", { type: "button", class: "btn btn-small", on: { click: () => nextTask() } }, "Get a task");
}

function renderText(task) {
  // the item view registry shows the item; keys a field shows itself (spans: their text) are
  // left to the field
  const parts = renderItem(task.data || {}, { shown: state.fields.flatMap((f) => f.itemKeys()) });
  replace(el("task-text-body"), parts);
  el("task-text").hidden = parts.length === 0;
}

// -- quality feedback: reviewers' reasons on a returned item, gold answers in training ------
function renderReviewComments(task) {
  const comments = task.review_comments || [];
  el("review-comments").hidden = comments.length === 0;
  replace(el("review-comment-list"), comments.map((c) => h("li", {},
    h("q", { class: "review-comment" }, c.comment), " ",
    h("span", { class: "muted" }, `— ${c.reviewer}, review stage ${c.stage}`))));
}

let toastTimer = null;
function toast(kind, ...parts) {
  const box = el("toast");
  box.className = `toast toast-${kind}`;
  replace(box, ...parts);
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

function showFeedback(feedback) {
  if (!feedback) return;
  if (feedback.correct) { toast("ok", "Gold check: your answer matches the known answer."); return; }
  const fields = (state.info.schema || { fields: [] }).fields;
  const expected = (feedback.wrong_fields || []).map((name) => {
    const spec = fields.find((f) => f.name === name) || { name, type: "" };
    return h("li", {}, `${spec.title || name}: `, formatValue(spec, feedback.expected[name], state.lastData || {}));
  });
  toast("wrong", h("strong", {}, "Gold check: not quite. The known answer is"), h("ul", {}, expected));
}

function buildFields(task) {
  const schema = state.info.schema || { fields: [] };
  const nodes = [];
  state.fields = [];
  for (const spec of schema.fields) {
    const f = createField(spec, task.data || {});
    if (f) { state.fields.push(f); nodes.push(f); } else {
      nodes.push(h("div", { class: "tl-field unknown-field" },
        h("p", {}, `This page cannot show the field “${spec.title || spec.name}” (type ${spec.type}) yet. `
          + `Known types: ${knownFieldTypes().join(", ")}.`)));
    }
  }
  replace(el("fields"), nodes);
}

function showTask(task, note) {
  state.task = task;
  focus.clear();
  buildFields(task);
  const local = readLocal(task.item_id);
  // Unsynced work in this browser is newer than the server's copy; otherwise trust the server.
  const draft = local && !local.synced ? local.value : (task.draft || (local && local.value));
  const restored = restore(draft);
  state.key = (local && local.key) || newKey();
  state.shownAt = Date.now();
  renderText(task);
  renderReviewComments(task);
  renderShortcuts();
  el("task-title").textContent = task.external_id ? `Item ${task.external_id}` : `Item #${task.item_id}`;
  el("task-form").dataset.taskId = String(task.id);
  el("task-form").hidden = false;
  el("done").hidden = true;
  saveState(restored ? "Draft restored" : "");
  if (note) say(note, "info");
  else if (task.skipped_before) say("You skipped this item before; it is back because nothing else is left. Skip it again to leave it for others.", "info");
  else if (restored) say("Restored your unsaved work on this item.", "info");
  questions.load(task.item_id);
  questions.show();
  showLease(task);
  if (state.fields.length) state.fields[0].focusField();
}

function showDone() {
  state.task = null;
  state.fields = [];
  clearInterval(state.leaseTimer);
  el("lease").textContent = "";
  el("task-form").hidden = true;
  el("review-comments").hidden = true;
  questions.hide();
  delete el("task-form").dataset.taskId;
  el("task-title").textContent = "No tasks left";
  el("done").hidden = false;
  el("done").querySelector("a").focus();
}

// -- the loop ----------------------------------------------------------------------------
async function nextTask() {
  pushDraft.cancel();
  try {
    const task = await api.post(projectUrl(project, "/tasks/next"));
    if (task === null) showDone();
    else showTask(task);
  } catch (err) {
    say(errorMessage(err), "error", " ", h("button", { type: "button", class: "btn btn-small",
      on: { click: () => { say(""); nextTask(); } } }, "Try again"));
  }
}

function firstMissing(value) {
  return state.fields.find((f) => f.isRequired && value[f.spec.name] === undefined);
}

async function submit() {
  if (state.busy || !state.task) return;
  const task = state.task;
  const value = collect();
  const missing = firstMissing(value);
  if (missing) {
    say(`“${missing.fieldTitle}” needs a value before you submit.`, "error");
    missing.focusField();
    return;
  }
  if (!(await confirmEmpty(state.info.schema, value, say)) || state.task !== task) return;
  state.busy = true;
  pushDraft.cancel();
  el("submit").disabled = true;
  try {
    const ann = await api.post(projectUrl(project, `/tasks/${task.id}/submit`), {
      value, idempotency_key: state.key, time_spent_ms: Math.max(0, Date.now() - state.shownAt),
    });
    clearLocal(task.item_id);
    state.lastData = task.data;
    showFeedback(ann && ann.feedback);
    const title = el("task-title").textContent.replace(/^Item /, "item ");
    if (!(ann && ann.replayed)) { undo.remember("submit", task, title); progress.count("submit"); }
    say(ann && ann.replayed ? "This item was already submitted." : `Submitted ${title}.`, "success", " ", undo.button());
    await nextTask();
  } catch (err) {
    taskError(err, "Not submitted");
  } finally {
    state.busy = false;
    el("submit").disabled = false;
  }
}

async function skip() {
  if (state.busy || !state.task) return;
  const task = state.task;
  state.busy = true;
  pushDraft.cancel();
  try {
    await api.post(projectUrl(project, `/tasks/${task.id}/skip`));
    // the draft stays in this browser: an undone skip brings it back
    const title = el("task-title").textContent.replace(/^Item /, "item ");
    undo.remember("skip", task, title);
    progress.count("skip");
    say(`Skipped ${title}.`, "info", " ", undo.button());
    await nextTask();
  } catch (err) {
    taskError(err, "Not skipped");
  } finally {
    state.busy = false;
  }
}

function taskError(err, what) {
  if (err instanceof ApiError && (err.status === 409 || err.status === 404)) {
    say(`${what}: ${err.message} Your work on it is kept in this browser.`, "error", " ", newTaskButton());
  } else if (err instanceof ApiError && err.status === 422) {
    say(`${what}: ${err.message}`, "error");
    const f = state.fields.find((x) => x.spec.name === (err.detail && err.detail.field));
    if (f) f.focusField();
  } else {
    say(`${what}: ${errorMessage(err)} Your work is kept in this browser; press Enter to try again.`, "error");
  }
}

// -- keyboard ----------------------------------------------------------------------------
function fieldOf(node) {
  const host = node instanceof Element ? node.closest(".tl-field") : null;
  return state.fields.find((f) => f === host) || null;
}

document.addEventListener("keydown", (e) => {
  if (e.defaultPrevented || e.isComposing) return;
  const target = e.target;
  const typing = isTyping(target);
  if (target instanceof Element && target.closest("dialog, .topbar")) return;
  if (target instanceof Element && target.closest("#ask")) return; // the question box
  if (!state.task) {
    if (!typing && isBackKey(e)) { e.preventDefault(); undo.back(); return; }
    if (e.key === "?" && !typing) { e.preventDefault(); toggleShortcuts(); }
    return;
  }
  if (state.busy) { // keys meant for the next task must not change the one being sent
    if (e.key !== "Tab" && !["Shift", "Control", "Alt", "Meta"].includes(e.key)) e.preventDefault();
    return;
  }
  if (e.key === "Enter" && !e.shiftKey && !e.altKey) {
    if (target instanceof Element && target.tagName === "TEXTAREA" && !(e.ctrlKey || e.metaKey)) return;
    if (target instanceof Element && target.closest("button, a, select, summary") && !(e.ctrlKey || e.metaKey)) return;
    e.preventDefault();
    submit();
    return;
  }
  if (typing) return; // typed characters are text
  if (isBackKey(e)) { e.preventDefault(); undo.back(); return; }
  if (e.key === "ArrowRight" && (e.ctrlKey || e.metaKey) && !e.shiftKey) { e.preventDefault(); skip(); return; }
  const active = fieldOf(target); // the field holding the focus (see label/focus.js)
  if (active && isRadioArrow(e) && !focus.isActive(active)) {
    e.preventDefault(); // the browser would move the answer
    hint(`Arrow keys change “${active.fieldTitle}” once you click it or Tab to it.`);
    return;
  }
  if (active && active.handleKey(e, true)) { e.preventDefault(); focus.set(active); return; }
  if (active && e.key === "Escape") { e.preventDefault(); focus.clear(); el("task-form").focus(); return; }
  const plain = !e.ctrlKey && !e.metaKey && !e.altKey;
  if (plain && e.key === "?") { e.preventDefault(); toggleShortcuts(); return; }
  if (active && isLetter(e)) { // letters belong to the focused field: never skip or label elsewhere
    e.preventDefault();
    hint(`Letters go to “${active.fieldTitle}” while it has the focus; press Esc to leave it.`);
    return;
  }
  if (plain && (e.key === "s" || e.key === "S") && !e.shiftKey) { e.preventDefault(); skip(); return; }
  for (const f of state.fields) {
    if (f !== active && f.handleKey(e, false)) { e.preventDefault(); return; }
  }
});

el("task-form").addEventListener("submit", (e) => { e.preventDefault(); submit(); });
el("skip").addEventListener("click", () => skip());
el("fields").addEventListener("tl-change", onChange);

const focus = activeFieldTracker(el("fields"), fieldOf);
const progress = progressCounter(project, el("progress"));
const questions = questionPanel(project, el("ask"));
const undo = undoControl({
  project,
  backButton: el("back"),
  say,
  onTask: (task, note) => { el("done").hidden = true; showTask(task, note); progress.refresh(); },
});

// -- start -------------------------------------------------------------------------------
async function start() {
  try {
    state.info = await api.get(projectUrl(project));
    await loadFieldKinds(state.info.schema);
  } catch (err) {
    say(errorMessage(err), "error");
    return;
  }
  renderGuidelines(state.info.guidelines);
  renderShortcuts();
  progress.refresh();
  await nextTask();
}

start();

// The review page: one annotation at a time. a accepts; r rejects (a comment is required and
// the item goes back to the queue); c corrects it with the field components, Enter saves.
import { api, projectUrl, errorMessage, ApiError } from "../api.js";
import { h, replace, isTyping } from "../dom.js";
import { createField, loadFieldKinds, routeFieldKeys } from "../fields/index.js";
import { itemText, valueList, when } from "../values.js";
import { initShell } from "../shell.js";
import { showState } from "../lifecycle.js";

initShell();

const project = document.body.dataset.project;
const el = (id) => document.getElementById(id);

const state = {
  schema: { fields: [] },
  view: null,       // {stage, stage_name, annotation, item, other_annotations}
  mode: "view",     // view | reject | correct
  fields: [],       // field components while correcting
  busy: false,
  done: 0,
};

function say(text, kind = "info") {
  const box = el("message");
  box.className = `message message-${kind}`;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  box.textContent = text;
  box.hidden = !text;
}

function stage() { return el("stage").value || "1"; }

// -- modes -------------------------------------------------------------------------------
function setMode(mode) {
  state.mode = mode;
  el("reject-form").hidden = mode !== "reject";
  el("correct-form").hidden = mode !== "correct";
  el("review-actions").hidden = mode !== "view";
  el("annotation-value").classList.toggle("dimmed", mode === "correct");
  if (mode === "reject") {
    el("reject-comment").value = "";
    el("reject-comment").focus();
  } else if (mode === "correct") {
    buildCorrection();
  } else {
    state.fields = [];
    replace(el("correct-fields"));
    el("accept").focus();
  }
}

function buildCorrection() {
  const { annotation, item } = state.view;
  state.fields = [];
  const nodes = [];
  for (const spec of state.schema.fields) {
    const f = createField(spec, item.data || {});
    if (!f) continue;
    if (spec.name in annotation.value) f.value = annotation.value[spec.name];
    state.fields.push(f);
    nodes.push(f);
  }
  replace(el("correct-fields"), nodes);
  el("correct-comment").value = "";
  if (state.fields.length) state.fields[0].focusField();
}

function collect() {
  const value = {};
  for (const f of state.fields) {
    const v = f.value;
    if (v !== null && v !== undefined) value[f.spec.name] = v;
  }
  return value;
}

// -- showing one annotation ----------------------------------------------------------------
function show(view) {
  state.view = view;
  const { annotation, item } = view;
  el("review-layout").hidden = false;
  el("review-done").hidden = true;
  el("item-title").textContent = item.external_id ? `Item ${item.external_id}` : `Item #${item.id}`;
  showState(el("item-state"), item.state);
  el("annotation-meta").textContent = `Stage ${view.stage}: ${view.stage_name} · annotation #${annotation.id} · ${when(annotation.created_at)}`;
  replace(el("item-text"), itemText(item.data));
  el("annotator").textContent = annotation.username;
  replace(el("annotation-value"), valueList(state.schema, annotation.value, item.data));
  el("review-layout").dataset.annotationId = String(annotation.id);
  const others = view.other_annotations || [];
  replace(el("others"), others.length
    ? others.map((a) => h("div", { class: "other-annotation" },
      h("h3", {}, a.username), valueList(state.schema, a.value, item.data)))
    : h("p", { class: "muted" }, "No one else labelled this item."));
  setMode("view");
}

function showDone() {
  state.view = null;
  el("review-layout").hidden = true;
  el("review-done").hidden = false;
  delete el("review-layout").dataset.annotationId;
  const name = el("stage").selectedOptions[0] ? el("stage").selectedOptions[0].textContent : "this stage";
  el("review-done-text").textContent = state.done
    ? `You reviewed ${state.done} annotation${state.done === 1 ? "" : "s"}; nothing else is waiting at ${name}.`
    : `No annotation is waiting at ${name}.`;
  el("review-reload").focus();
}

async function loadNext() {
  try {
    const view = await api.get(projectUrl(project, `/reviews/next?stage=${encodeURIComponent(stage())}`));
    if (view === null) showDone();
    else show(view);
  } catch (err) {
    say(errorMessage(err), "error");
  }
}

// -- decisions ---------------------------------------------------------------------------
async function decide(decision, extra = {}) {
  if (state.busy || !state.view) return;
  const { annotation } = state.view;
  state.busy = true;
  try {
    await api.post(projectUrl(project, "/reviews"), {
      annotation_id: annotation.id, decision, stage: state.view.stage, ...extra,
    });
    state.done += 1;
    const verb = { accept: "Accepted", reject: "Rejected", correct: "Corrected" }[decision];
    say(`${verb} annotation #${annotation.id} by ${annotation.username}.`
      + (decision === "reject" ? " The item is back in the queue with your comment." : ""), "success");
    await loadNext();
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) {
      say(`${err.message}`, "warn");
      await loadNext();
    } else {
      say(errorMessage(err), "error");
      if (err instanceof ApiError && err.detail && err.detail.field === "comment") el("reject-comment").focus();
    }
  } finally {
    state.busy = false;
  }
}

function sendReject() {
  const comment = el("reject-comment").value.trim();
  if (!comment) {
    say("Say why you reject it; the annotator sees your comment.", "error");
    el("reject-comment").focus();
    return;
  }
  decide("reject", { comment });
}

function sendCorrection() {
  const value = collect();
  const missing = state.fields.find((f) => f.isRequired && value[f.spec.name] === undefined);
  if (missing) {
    say(`“${missing.fieldTitle}” needs a value.`, "error");
    missing.focusField();
    return;
  }
  decide("correct", { value, comment: el("correct-comment").value.trim() });
}

// -- keyboard ----------------------------------------------------------------------------
document.addEventListener("keydown", (e) => {
  if (e.defaultPrevented || e.isComposing || !state.view) return;
  const target = e.target;
  if (target instanceof Element && target.closest("dialog, .topbar, .project-nav, select")) return;
  const plain = !e.ctrlKey && !e.metaKey && !e.altKey;
  if (e.key === "Escape" && state.mode !== "view") { e.preventDefault(); setMode("view"); return; }
  if (state.busy) { if (e.key !== "Tab") e.preventDefault(); return; }

  if (state.mode === "reject") {
    if (e.key === "Enter" && !e.shiftKey && target === el("reject-comment")) { e.preventDefault(); sendReject(); }
    return;
  }
  if (state.mode === "correct") {
    routeFieldKeys(e, state.fields, sendCorrection);
    return;
  }
  if (isTyping(target) || !plain) return;
  const key = e.key.toLowerCase();
  if (key === "a") { e.preventDefault(); decide("accept"); }
  else if (key === "r") { e.preventDefault(); setMode("reject"); }
  else if (key === "c") { e.preventDefault(); setMode("correct"); }
});

el("accept").addEventListener("click", () => decide("accept"));
el("reject").addEventListener("click", () => setMode("reject"));
el("correct").addEventListener("click", () => setMode("correct"));
el("reject-cancel").addEventListener("click", () => setMode("view"));
el("correct-cancel").addEventListener("click", () => setMode("view"));
el("reject-form").addEventListener("submit", (e) => { e.preventDefault(); sendReject(); });
el("correct-form").addEventListener("submit", (e) => { e.preventDefault(); sendCorrection(); });
el("review-reload").addEventListener("click", () => { say(""); loadNext(); });
el("stage").addEventListener("change", () => { say(""); state.done = 0; loadNext(); });

// -- start -------------------------------------------------------------------------------
async function start() {
  try {
    const [info, wf] = await Promise.all([api.get(projectUrl(project)), api.get(projectUrl(project, "/workflow"))]);
    state.schema = info.schema || { fields: [] };
    await loadFieldKinds(state.schema);
    const stages = wf.review_stages || [];
    if (!stages.length) {
      el("review-layout").hidden = true;
      el("stage").disabled = true;
      say("This project has no review stages yet. A manager can add them on the Quality page.", "warn");
      return;
    }
    replace(el("stage"), stages.map((s, i) => h("option", { value: String(i + 1) }, `${i + 1}. ${s.name} (${s.role})`)));
    const wanted = new URLSearchParams(location.search).get("stage");
    if (wanted && stages[Number(wanted) - 1]) el("stage").value = wanted;
  } catch (err) {
    say(errorMessage(err), "error");
    return;
  }
  await loadNext();
}

start();

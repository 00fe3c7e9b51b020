// The quality dashboard: progress, agreement with intervals, per-label agreement, annotator
// scorecards (flagged ones highlighted), confusion matrices (server-made SVG), hot spots,
// aggregation, sign-off with its frozen evidence, and the workflow settings for managers.
import { api, projectUrl, errorMessage, request } from "../api.js";
import { h, replace } from "../dom.js";
import { when } from "../values.js";
import { initShell } from "../shell.js";
import { loadSignoffWarnings, missingOverride, overrideNote, overrideReason, showSignoffWarnings } from "../signoff_warnings.js";

initShell();

const project = document.body.dataset.project;
const el = (id) => document.getElementById(id);
const enc = encodeURIComponent;

function say(text, kind = "info") {
  const box = el("message");
  box.className = `message message-${kind}`;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  box.textContent = text;
  box.hidden = !text;
}

const num = (x, d = 2) => (x === null || x === undefined || Number.isNaN(x) ? "–" : Number(x).toFixed(d));
const pct = (x) => (x === null || x === undefined ? "–" : `${Math.round(x * 100)}%`);
const interval = (lo, hi, f = num) => (lo === null || lo === undefined ? "–" : `${f(lo)} – ${f(hi)}`);
const chartUrl = (name, field, v) => projectUrl(project, `/quality/charts/${name}.svg?`)
  + new URLSearchParams({ ...(field ? { field } : {}), v: String(v) });

// -- the report --------------------------------------------------------------------------
function stat(label, value, id) {
  return h("div", { class: "stat", dataset: { stat: id } }, h("dt", {}, label), h("dd", {}, String(value)));
}

function renderProgress(p) {
  const reviews = {};
  for (const r of p.reviews || []) reviews[r.decision] = (reviews[r.decision] || 0) + r.n;
  const adj = p.adjudication || {};
  replace(el("progress"),
    stat("Items", p.items, "items"),
    stat("Labelled (gold aside)", `${p.labeled} of ${p.items - (p.gold_items || 0)}`, "labeled"),
    stat("In progress", p.in_progress, "in_progress"),
    stat("Annotations", p.submitted, "submitted"),
    stat("Gold items", p.gold_items, "gold_items"),
    stat("With ground truth", p.ground_truth_items, "ground_truth_items"),
    stat("Reviews", `${reviews.accept || 0} accepted · ${reviews.reject || 0} rejected · ${reviews.correct || 0} corrected`, "reviews"),
    stat("Adjudication", `${adj.open || 0} open · ${adj.decided || 0} decided`, "adjudication"));
}

function renderAgreement(fields, v) {
  const rows = Object.entries(fields).map(([name, f]) => {
    const measure = f.metric || f.type;
    let value = "–";
    let ci = "–";
    let raw = "–";
    if (f.alpha !== undefined) {
      value = num(f.alpha);
      ci = interval(f.ci_low, f.ci_high);
      raw = pct(f.percent_agreement);
    } else if (f.f1_exact !== undefined) {
      value = num(f.f1_exact);
      raw = f.f1_overlap === null || f.f1_overlap === undefined ? "–" : `overlap F1 ${num(f.f1_overlap)}`;
    }
    const row = h("tr", { dataset: { field: name } },
      h("th", { scope: "row" }, name), h("td", {}, measure), h("td", { class: "num" }, value),
      h("td", { class: "num" }, ci), h("td", {}, raw), h("td", { class: "num" }, f.labels ?? f.documents ?? "–"));
    // Why there is no figure (e.g. not enough overlapping labels) is a note of its own,
    // under the field's row, not part of the name of the measure.
    const said = [f.order ? `label order ${f.order.join(" < ")}` : "", f.error || ""].filter(Boolean);
    const note = said.length ? h("tr", { class: "note-row", dataset: { noteFor: name } },
      h("td", { colspan: "6" }, h("span", { class: "muted" }, `${name}: ${said.join("; ")}`))) : null;
    return note ? [row, note] : [row];
  }).flat();
  replace(el("agreement"), rows.length ? rows : h("tr", {}, h("td", { colspan: "6" }, "No fields.")));
  const img = el("agreement-chart");
  img.src = chartUrl("agreement", null, v);
  img.hidden = false;

  const tables = Object.entries(fields).filter(([, f]) => f.per_label && Object.keys(f.per_label).length)
    .map(([name, f]) => h("div", { class: "per-label" },
      h("h3", {}, `Per label: ${name}`),
      h("table", { class: "items compact", dataset: { field: name } },
        h("caption", { class: "visually-hidden" }, `Agreement per label of ${name}`),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Label"), h("th", { scope: "col" }, "Agreement"))),
        h("tbody", {}, Object.entries(f.per_label).map(([label, x]) =>
          h("tr", {}, h("th", { scope: "row" }, label), h("td", { class: "num" }, num(x))))))));
  replace(el("per-label"), tables);
}

function renderAnnotators(cards, v) {
  replace(el("annotators"), cards.length ? cards.map((c) => h("tr", {
    class: c.flagged ? "flagged" : "", dataset: { annotator: c.annotator, flagged: String(c.flagged) },
  },
  h("th", { scope: "row" }, c.annotator),
  h("td", { class: "num" }, String(c.volume)),
  h("td", { class: "num" }, c.gold_answered ? `${c.gold_correct} / ${c.gold_answered}` : "–"),
  h("td", {}, c.gold_accuracy === null ? "–" : `${pct(c.gold_accuracy)} (${interval(c.gold_ci[0], c.gold_ci[1], pct)})`),
  h("td", {}, c.agreement_with_aggregate === null ? "–" : `${pct(c.agreement_with_aggregate)} of ${c.compared}`),
  h("td", { class: "num" }, c.median_seconds === null ? "–" : `${c.median_seconds} s`),
  h("td", {}, c.flagged ? h("span", { class: "badge badge-flagged" }, "Flagged") : h("span", { class: "badge badge-done" }, "OK"))))
    : h("tr", {}, h("td", { colspan: "7" }, "No annotations yet.")));
  const img = el("annotators-chart");
  img.src = chartUrl("annotators", null, v);
  img.hidden = false;
}

function renderConfusion(confusion, v) {
  const names = Object.keys(confusion);
  replace(el("confusion"), names.length ? names.map((name) => h("figure", { class: "chart", dataset: { field: name } },
    h("img", { src: chartUrl("confusion", name, v), alt: `Confusion matrix of ${name}: annotator labels against the aggregated label, with counts` }),
    h("figcaption", {}, name)))
    : h("p", { class: "muted" }, "No categorical field."));
}

function calibrationCaption(name, c) {
  const how = c.method === "none" ? "not calibrated" : `calibrated: ${c.method}`;
  const ece = c.ece_raw === undefined ? "" : ` · ECE ${num(c.ece_raw, 3)} → ${num(c.ece_calibrated, 3)} on ${c.gold_items} gold items`;
  return `${name} (${c.aggregation || "majority"}, ${how})${ece}`;
}

function renderCalibration(calibration, v) {
  const names = Object.keys(calibration || {});
  replace(el("calibration"), names.length ? names.map((name) => h("figure", { class: "chart", dataset: { field: name } },
    calibration[name].bins_raw
      ? h("img", { src: chartUrl("reliability", name, v), alt: `Reliability diagram of ${name}: accuracy on gold against confidence, raw and calibrated` })
      : h("p", { class: "muted" }, calibration[name].note || "Figures on gold are hidden or there are too few gold items."),
    h("figcaption", {}, calibrationCaption(name, calibration[name]))))
    : h("p", { class: "muted" }, "No categorical field."));
}

function renderHotSpots(spots) {
  replace(el("hot-spots"), spots.length ? spots.map((s) => h("tr", { dataset: { itemId: String(s.item_id) } },
    h("td", {}, h("a", { href: `/p/${enc(project)}?item=${s.item_id}` }, `#${s.item_id}`)),
    h("td", {}, s.field),
    h("td", { class: "num" }, pct(s.majority_share)),
    h("td", {}, Object.entries(s.labels).map(([l, n]) => `${l} ×${n}`).join(", "))))
    : h("tr", {}, h("td", { colspan: "4" }, "No disagreement so far.")));
}

async function loadReport() {
  try {
    const report = await api.get(projectUrl(project, "/quality"));
    const v = Date.now();
    renderProgress(report.progress);
    renderAgreement(report.fields, v);
    renderAnnotators(report.annotators, v);
    renderConfusion(report.confusion, v);
    renderCalibration(report.calibration, v);
    renderHotSpots(report.hot_spots);
    const flagged = report.annotators.filter((c) => c.flagged).map((c) => c.annotator);
    el("report-status").textContent = `Report as of ${new Date().toLocaleTimeString()}`
      + (flagged.length ? ` · flagged: ${flagged.join(", ")}` : "");
  } catch (err) {
    el("report-status").textContent = errorMessage(err);
  }
}

// -- aggregation -------------------------------------------------------------------------
function setupAggregate() {
  const form = el("aggregate-form");
  if (!form) return;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = el("aggregate");
    button.disabled = true;
    say("Aggregating…");
    try {
      const res = await api.post(projectUrl(project, "/aggregate"), { method: el("method").value });
      const parts = Object.entries(res.fields).map(([name, f]) => (f.skipped
        ? `${name}: skipped`
        : `${name}: ${f.items} items by ${f.method}${f.mean_confidence !== undefined && f.mean_confidence !== null ? `, mean confidence ${num(f.mean_confidence)}` : ""}`));
      say(`Ground truth updated (${res.method}). ${parts.join("; ")}.`, "success");
      await loadReport();
    } catch (err) {
      say(`Not aggregated: ${errorMessage(err)}`, "error");
    } finally {
      button.disabled = false;
    }
  });
}

// -- sign-off ----------------------------------------------------------------------------
function evidenceSummary(ev) {
  const p = ev.progress || {};
  const rows = [h("li", {}, `${p.labeled ?? "?"} of ${(p.items ?? 0) - (p.gold_items ?? 0)} items labelled (plus ${p.gold_items ?? 0} gold), ${p.ground_truth_items ?? 0} with ground truth`)];
  for (const [name, f] of Object.entries(ev.fields || {})) {
    if (f.alpha !== undefined && f.alpha !== null) rows.push(h("li", {}, `${name}: alpha ${num(f.alpha)} (95% ${interval(f.ci_low, f.ci_high)})`));
    else if (f.f1_exact !== undefined && f.f1_exact !== null) rows.push(h("li", {}, `${name}: span F1 ${num(f.f1_exact)}`));
  }
  const cards = ev.annotators || [];
  const gold = cards.filter((c) => c.gold_answered).map((c) => `${c.annotator} ${pct(c.gold_accuracy)}`);
  if (gold.length) rows.push(h("li", {}, `Gold accuracy: ${gold.join(", ")}`));
  const flagged = cards.filter((c) => c.flagged).map((c) => c.annotator);
  rows.push(h("li", {}, flagged.length ? `Flagged annotators: ${flagged.join(", ")}` : "No annotator flagged"));
  const reviews = {};
  for (const r of p.reviews || []) reviews[r.decision] = (reviews[r.decision] || 0) + r.n;
  const adj = p.adjudication || {};
  rows.push(h("li", {}, `Reviews: ${reviews.accept || 0} accepted, ${reviews.reject || 0} rejected, ${reviews.correct || 0} corrected · adjudication: ${adj.decided || 0} decided, ${adj.open || 0} open`));
  return h("ul", { class: "evidence" }, rows);
}

function signoffCard(s) {
  return h("article", { class: "card signoff", dataset: { signoff: String(s.id) } },
    h("h3", {}, `Signed off by ${s.username || "you"}`, s.created_at ? ` · ${when(s.created_at)}` : ""),
    s.comment ? h("blockquote", {}, s.comment) : null,
    overrideNote(s.evidence),
    h("p", { class: "muted" }, "Frozen evidence:"),
    evidenceSummary(s.evidence || {}));
}

async function loadSignoffs() {
  try {
    const list = await api.get(projectUrl(project, "/signoffs"));
    replace(el("signoffs"), list.length ? list.slice().reverse().map(signoffCard)
      : h("p", { class: "muted", id: "no-signoff" }, "Not signed off yet."));
  } catch (err) {
    replace(el("signoffs"), h("p", { class: "form-error" }, errorMessage(err)));
  }
}

function setupSignoff() {
  const form = el("signoff-form");
  if (!form) return;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (missingOverride()) { say("Not signed off: give an override reason for the warnings above, or resolve them first.", "error"); return; }
    el("signoff").disabled = true;
    try {
      const s = await api.post(projectUrl(project, "/signoffs"), { comment: el("signoff-comment").value.trim(), override_reason: overrideReason() });
      el("signoff-comment").value = "";
      say("Signed off. The evidence below is frozen with your sign-off.", "success");
      await loadSignoffs();
      const card = el("signoffs").querySelector(`[data-signoff="${s.id}"]`);
      if (card) card.scrollIntoView({ block: "nearest" });
      loadSignoffWarnings(project);
    } catch (err) {
      if (err.code === "signoff_needs_override") showSignoffWarnings(err.detail.warnings);
      say(`Not signed off: ${errorMessage(err)}`, "error");
    } finally {
      el("signoff").disabled = false;
    }
  });
}

// -- workflow settings -------------------------------------------------------------------
const ROLES = ["reviewer", "manager", "admin"];

function stageRow(stage = { name: "", role: "reviewer", sample_rate: 1 }) {
  const k = el("stages").children.length + 1;
  const id = (s) => `stage-${k}-${s}-${Math.random().toString(36).slice(2, 7)}`;
  const nameId = id("name");
  const roleId = id("role");
  const rateId = id("rate");
  const li = h("li", { class: "stage-row" },
    h("label", { htmlFor: nameId }, "Name"),
    h("input", { id: nameId, class: "stage-name", type: "text", value: stage.name, maxlength: "60", required: true }),
    h("label", { htmlFor: roleId }, "Reviewed by"),
    h("select", { id: roleId, class: "stage-role" }, ROLES.map((r) => h("option", { value: r }, `${r}s`))),
    h("label", { htmlFor: rateId }, "Sample %"),
    h("input", { id: rateId, class: "stage-rate", type: "number", min: "0", max: "100", step: "1",
      value: String(Math.round((stage.sample_rate ?? 1) * 100)) }),
    h("button", { type: "button", class: "btn btn-small btn-quiet", "aria-label": "Remove this stage",
      on: { click: () => { li.remove(); syncStages(); } } }, "Remove"));
  li.querySelector(".stage-role").value = ROLES.includes(stage.role) ? stage.role : "reviewer";
  return li;
}

function syncStages() {
  el("stages-empty").hidden = el("stages").children.length > 0;
}

function fillWorkflow(info, wf) {
  el("wf-overlap").value = String(info.overlap);
  el("wf-gold-rate").value = String(Math.round((wf.gold_rate || 0) * 100));
  el("wf-gold-feedback").checked = Boolean(wf.gold_feedback);
  el("wf-threshold").value = wf.adjudication_threshold === null ? "" : String(wf.adjudication_threshold);
  replace(el("stages"));
  for (const s of wf.review_stages || []) el("stages").append(stageRow(s));
  syncStages();
}

async function setupWorkflow() {
  const form = el("workflow-form");
  if (!form) return;
  const status = el("workflow-status");
  let info;
  try {
    const [i, wf] = await Promise.all([api.get(projectUrl(project)), api.get(projectUrl(project, "/workflow"))]);
    info = i;
    fillWorkflow(info, wf);
  } catch (err) {
    status.textContent = errorMessage(err);
    return;
  }
  el("add-stage").addEventListener("click", () => {
    const row = stageRow({ name: `stage ${el("stages").children.length + 1}`, role: "reviewer", sample_rate: 1 });
    el("stages").append(row);
    syncStages();
    row.querySelector(".stage-name").focus();
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const overlap = Number(el("wf-overlap").value);
    const threshold = el("wf-threshold").value.trim();
    const changes = {
      gold_rate: Number(el("wf-gold-rate").value || 0) / 100,
      gold_feedback: el("wf-gold-feedback").checked,
      adjudication_threshold: threshold === "" ? null : Number(threshold),
      review_stages: Array.from(el("stages").children).map((li) => ({
        name: li.querySelector(".stage-name").value.trim(),
        role: li.querySelector(".stage-role").value,
        sample_rate: Number(li.querySelector(".stage-rate").value || 100) / 100,
      })),
    };
    el("workflow-save").disabled = true;
    status.textContent = "Saving…";
    try {
      if (overlap !== info.overlap) {
        info = await request("PATCH", projectUrl(project), { overlap });
      }
      const wf = await request("PATCH", projectUrl(project, "/workflow"), changes);
      fillWorkflow(info, wf);
      status.textContent = "Saved.";
    } catch (err) {
      status.textContent = `Not saved: ${errorMessage(err)}`;
    } finally {
      el("workflow-save").disabled = false;
    }
  });
}

setupAggregate();
setupSignoff();
loadSignoffWarnings(project);
setupWorkflow();
loadReport();
loadSignoffs();

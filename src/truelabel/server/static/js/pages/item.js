// The item page (/p/<project>/items/<id>): the item, every answer with its spans drawn,
// reviews, adjudication, ground truth and the audit history. A permanent URL.
import { api, projectUrl, errorMessage } from "../api.js";
import { h, replace } from "../dom.js";
import { loadFieldKinds } from "../fields/index.js";
import { itemText, valueList, formatValue, when } from "../values.js";
import { initShell } from "../shell.js";

initShell();

const project = document.body.dataset.project;
const itemId = Number(document.body.dataset.item);
const el = (id) => document.getElementById(id);
const none = (text) => h("p", { class: "muted" }, text);

function answers(schema, rec) {
  if (!rec.annotations.length) return none("No answers yet.");
  return rec.annotations.map((a) => h("div", {
    class: `answer${a.is_current ? "" : " superseded"}`, dataset: { annotationId: String(a.id) },
  },
  h("p", {}, h("strong", {}, a.username), " ",
    h("span", { class: "muted" }, `${when(a.created_at)} · schema v${a.schema_version}`
      + (a.origin !== "human" ? ` · ${a.origin}` : "")),
    " ", a.is_current ? h("span", { class: "badge badge-done" }, "current")
      : h("span", { class: "badge" }, "superseded")),
  valueList(schema, a.value, rec.data)));
}

function reviews(rec) {
  if (!rec.reviews.length) return none("Not reviewed.");
  return h("ul", {}, rec.reviews.map((r) => h("li", { dataset: { decision: r.decision } },
    h("strong", {}, r.decision), ` of answer ${r.annotation_id} by ${r.reviewer} (stage ${r.stage}) · ${when(r.created_at)}`,
    r.comment ? h("q", {}, r.comment) : null)));
}

function adjudication(schema, rec) {
  const d = rec.adjudication;
  if (!d) return none("Never disputed.");
  return [
    h("p", {}, h("strong", {}, d.status), d.reason ? ` — ${d.reason}` : "",
      d.decided_by ? ` · decided by ${d.decided_by} ${when(d.decided_at)}` : ""),
    d.value ? valueList(schema, d.value, rec.data) : null,
    d.comment ? h("p", {}, h("q", {}, d.comment)) : null,
  ];
}

function truth(schema, rec) {
  const gt = rec.ground_truth || {};
  const fields = (schema.fields || []).filter((f) => gt[f.name]);
  if (!fields.length) return none("No ground truth yet (run an aggregation).");
  return h("dl", { class: "values" }, fields.map((spec) => h("div", { class: "value-row", dataset: { field: spec.name } },
    h("dt", {}, spec.title || spec.name),
    h("dd", {}, formatValue(spec, gt[spec.name].value, rec.data), " ",
      h("span", { class: "muted" }, `${gt[spec.name].method}` +
        (gt[spec.name].confidence !== null ? ` · ${Math.round(gt[spec.name].confidence * 100)} %` : ""))))));
}

function history(rec) {
  if (!rec.history.length) return [h("li", { class: "muted" }, "No recorded actions.")];
  return rec.history.map((e) => h("li", {}, h("strong", {}, e.action), ` by ${e.username || "the owner"} · ${when(e.at)}`,
    e.detail ? h("span", { class: "muted" }, ` ${JSON.stringify(e.detail)}`) : null));
}

async function load() {
  try {
    const [info, rec] = await Promise.all([
      api.get(projectUrl(project)), api.get(projectUrl(project, `/items/${itemId}/record`))]);
    const schema = info.schema || { fields: [] };
    await loadFieldKinds(schema);
    el("item-title").textContent = `Item #${rec.id}` + (rec.external_id ? ` · ${rec.external_id}` : "");
    document.title = `Item ${rec.id} · ${info.title || info.name} · truelabel`;
    const p = rec.provenance;
    el("item-sub").textContent = `State: ${String(rec.state || "").replace(/_/g, " ")} · ${rec.n_done} answer(s)`
      + (p.source ? ` · imported from ${p.source}${p.line ? ` line ${p.line}` : ""}` : "")
      + (p.imported_at ? ` on ${when(p.imported_at)}` : "");
    replace(el("item-body"), itemText(rec.data));
    el("item-json").textContent = JSON.stringify({ data: rec.data, meta: rec.meta }, null, 2);
    replace(el("answers"), answers(schema, rec));
    if (el("reviews")) replace(el("reviews"), reviews(rec));
    if (el("adjudication")) replace(el("adjudication"), adjudication(schema, rec));
    if (el("ground-truth")) replace(el("ground-truth"), truth(schema, rec));
    if (el("history")) replace(el("history"), history(rec));
    el("record").hidden = false;
  } catch (err) {
    el("item-sub").textContent = "";
    el("item-error").hidden = false;
    el("item-error").textContent = errorMessage(err);
  }
}

// "← Items" goes back to the filtered view the item was opened from, if it was
if (document.referrer) {
  const ref = new URL(document.referrer);
  if (ref.origin === location.origin && ref.pathname === el("back-to-items").pathname) {
    el("back-to-items").href = ref.pathname + ref.search;
  }
}

load();

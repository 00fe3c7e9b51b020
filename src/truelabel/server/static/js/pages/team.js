// The managers' view of the team: queue depth, throughput, activity by day and time per item.
// The numbers come from /api/projects/{p}/team; the charts are server-made SVG images.
import { api, projectUrl, errorMessage } from "../api.js";
import { h, replace } from "../dom.js";
import { initShell } from "../shell.js";

initShell();

const project = document.body.dataset.project;
const el = (id) => document.getElementById(id);
// minutes east of UTC, so a day on the page starts at the viewer's midnight
const tzOffset = -new Date().getTimezoneOffset();
const CHARTS = ["queue", "per-day", "per-hour", "activity", "time", "durations"];

const secs = (x) => (x === null || x === undefined ? "–" : x < 100 ? `${x.toFixed(1)} s` : `${Math.round(x)} s`);

function params(days, extra = {}) {
  return new URLSearchParams({ days: String(days), tz_offset: String(tzOffset), ...extra });
}

function stat(label, value, id) {
  return h("div", { class: "stat", dataset: { stat: id } }, h("dt", {}, label), h("dd", {}, String(value)));
}

function renderQueue(q) {
  replace(el("queue"),
    stat("Not started", q.unlabeled, "unlabeled"),
    stat("Being labelled now", q.in_progress, "in_progress"),
    stat("Waiting for more labels", q.partial, "partial"),
    stat("Fully labelled", q.complete, "complete"),
    stat("Labels still needed", q.labels_needed, "labels_needed"),
    stat("Waiting for review", q.review_waiting, "review_waiting"),
    stat("Open adjudications", q.adjudication_open, "adjudication_open"),
    stat("Gold items", q.gold, "gold"));
}

function renderTable(report) {
  const rows = report.activity.rows;
  const times = Object.fromEntries(report.time_per_item.annotators.map((t) => [t.annotator, t]));
  replace(el("team-rows"), rows.length ? rows.map((r) => {
    const t = times[r.annotator] || {};
    return h("tr", { dataset: { annotator: r.annotator } },
      h("th", { scope: "row" }, r.annotator),
      h("td", { class: "num" }, String(r.total)),
      h("td", { class: "num" }, String(r.active_days)),
      h("td", { class: "num" }, secs(t.median)),
      h("td", { class: "num" }, t.n ? `${secs(t.p25)} – ${secs(t.p75)}` : "–"),
      h("td", { class: "num" }, secs(t.p90)));
  }) : h("tr", {}, h("td", { colspan: "6" }, "No label submitted in this period.")));
}

function showCharts(days) {
  const v = String(Date.now());
  for (const name of CHARTS) {
    const img = el(`chart-${name}`);
    img.src = projectUrl(project, `/team/charts/${name}.svg?`) + params(days, { v });
    img.hidden = false;
  }
}

async function load() {
  const days = Number(el("team-days").value);
  try {
    const report = await api.get(projectUrl(project, "/team?") + params(days));
    renderQueue(report.queue.now);
    renderTable(report);
    showCharts(days);
    const t = report.throughput;
    el("team-status").textContent = `${t.total} labels by ${report.annotators.length} annotators in the last ${days} days`
      + ` · as of ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    el("team-status").textContent = errorMessage(err);
  }
}

el("team-days").addEventListener("change", load);
el("team-form").addEventListener("submit", (e) => { e.preventDefault(); load(); });
load();

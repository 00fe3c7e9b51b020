// A project's jobs (the ones you started): start an export or a quality report, watch
// progress, cancel, restart (also one a server restart interrupted), download the file.
import { api, errorMessage, projectUrl } from "../api.js";
import { h } from "../dom.js";
import { initShell } from "../shell.js";

initShell();

const project = document.body.dataset.project;
const rows = document.getElementById("jobs-rows");
const status = document.getElementById("jobs-status");
let timer = null;

function when(t) {
  return t ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) : "—";
}

function progress(job) {
  if (job.status !== "running") return job.status === "done" ? "100 %" : "—";
  if (!job.total) return job.done ? String(job.done) : "…";
  const bar = h("progress", { max: String(job.total), value: String(job.done) });
  return h("span", {}, bar, ` ${Math.floor((100 * job.done) / job.total)} %`);
}

async function act(url, what) {
  try {
    await api.post(url);
    status.textContent = what;
  } catch (err) {
    status.textContent = errorMessage(err);
  }
  load();
}

function actions(job) {
  const out = [];
  if (job.status === "running") {
    out.push(h("button", { class: "btn", type: "button", "data-action": "cancel",
      on: { click: () => act(`/api/jobs/${job.id}/cancel`, `Cancelling job ${job.id}…`) } }, "Cancel"));
  }
  if (job.restartable) {
    out.push(h("button", { class: "btn", type: "button", "data-action": "restart",
      on: { click: () => act(`/api/jobs/${job.id}/restart`, `Job ${job.id} restarted.`) } }, "Restart"));
  }
  if (job.download) {
    out.push(h("a", { class: "btn", href: `/api/jobs/${job.id}/download`, download: true,
      "data-action": "download" }, "Download"));
  }
  return out;
}

function row(job) {
  return h("tr", { "data-job": String(job.id), "data-status": job.status },
    h("td", {}, String(job.id)),
    h("td", {}, h("code", {}, job.kind)),
    h("td", {}, when(job.created_at)),
    h("td", { class: "job-status" }, job.status),
    h("td", {}, progress(job)),
    h("td", { class: "muted" }, job.message || ""),
    h("td", {}, ...actions(job)));
}

async function load() {
  clearTimeout(timer);
  try {
    const jobs = await api.get(`/api/jobs?project=${encodeURIComponent(project)}`);
    rows.replaceChildren(...jobs.map(row));
    const running = jobs.filter((j) => j.status === "running").length;
    status.textContent = jobs.length
      ? `${jobs.length} job${jobs.length === 1 ? "" : "s"}${running ? `, ${running} running` : ""}`
      : "No jobs yet: start an export or a quality report.";
    if (running) timer = setTimeout(load, 1000);
  } catch (err) {
    status.textContent = errorMessage(err);
  }
}

async function start(path, body, what) {
  try {
    const job = await api.post(projectUrl(project, path), body);
    status.textContent = `${what} started (job ${job.id}).`;
  } catch (err) {
    status.textContent = errorMessage(err);
  }
  load();
}

for (const id of ["job-export-jsonl", "job-export-parquet"]) {
  const btn = document.getElementById(id);
  if (btn) {
    btn.addEventListener("click", () =>
      start("/jobs/export", { format: btn.dataset.format }, `Export (${btn.dataset.format})`));
  }
}
const report = document.getElementById("job-report");
if (report) report.addEventListener("click", () => start("/jobs/quality-report", {}, "Quality report"));
load();

// The data browser: filters and sort in the URL, keyset pages with "x–y of N", bulk actions
// with an in-page confirmation, saved views, item details, import and export.
import { api, projectUrl, errorMessage, upload } from "../api.js";
import { h, replace, debounce, previewText } from "../dom.js";
import { initShell } from "../shell.js";

initShell();

const PAGE_SIZE = 50;
const project = document.body.dataset.project;
const canAnswers = Boolean(document.body.dataset.answers);
const canAssign = Boolean(document.body.dataset.assign);
const el = (id) => document.getElementById(id);

// Every filter is a URL parameter of the page and of GET /browse (docs/browse.md).
const FILTERS = ["q", "status", "annotator", "label", "agreement", "agreement_field", "gt", "review",
  "imported_from", "imported_to", "annotated_from", "annotated_to", "meta"];
const filterControl = (name) => document.querySelector(`#filters [name="${name}"]`);

const state = {
  filters: {},    // name → value, as in the URL
  sort: "id",
  after: null,    // the page's position: after / before a row (keyset), start = its first row number
  before: null,
  start: 1,
  page: null,     // the last answer
  selected: new Set(),
  seq: 0,         // drops answers to superseded requests
};

function readUrl() {
  const params = new URLSearchParams(location.search);
  state.filters = {};
  for (const name of FILTERS) {
    const v = params.get(name);
    if (v) state.filters[name] = v;
    const control = filterControl(name);
    if (control) control.value = v || "";
  }
  state.sort = params.get("sort") || "id";
  el("sort").value = state.sort;
  state.after = params.get("after");
  state.before = params.get("before");
  state.start = Math.max(1, Number(params.get("start")) || 1);
  if (FILTERS.slice(2).some((n) => state.filters[n])) el("more-filters").open = true;
}

/** The filters and sort as a query string (what the API, a saved view and bulk take). */
function filterQuery() {
  const params = new URLSearchParams();
  for (const name of FILTERS) if (state.filters[name]) params.set(name, state.filters[name]);
  if (state.sort !== "id") params.set("sort", state.sort);
  return params;
}

/** Put the view in the URL (a new history entry unless ``replace``) and load it. */
function go({ replace: replaceEntry = false } = {}) {
  const params = filterQuery();
  if (state.after) params.set("after", state.after);
  if (state.before) params.set("before", state.before);
  if (state.start > 1) params.set("start", String(state.start));
  const qs = params.toString();
  const url = location.pathname + (qs ? `?${qs}` : "");
  if (url !== location.pathname + location.search) {
    if (replaceEntry) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
  }
  loadPage();
}

function progressCell(item) {
  let label = "unlabeled";
  if (item.n_taken > item.n_done) label = "in progress";
  else if (item.n_done > 0) label = "done";
  return h("td", {},
    h("span", { class: `badge state state-${item.state}` }, String(item.state || "").replace(/_/g, " ")),
    " ", h("span", { class: `badge badge-${label.replace(" ", "-")}` }, label),
    " ", h("span", { class: "muted" }, `${item.n_done} submitted`));
}

/** A short text of an answer: each field's value, lists joined, spans by label. */
function answerText(value) {
  return Object.entries(value || {}).map(([k, v]) => {
    let s;
    if (Array.isArray(v)) s = v.map((x) => (x && typeof x === "object" ? x.label ?? "…" : String(x))).join("+");
    else if (v && typeof v === "object") s = "…";
    else s = String(v);
    return `${k}: ${s}`;
  }).join(", ");
}

function itemHref(id) {
  return `/p/${encodeURIComponent(project)}/items/${id}`;
}

function row(item) {
  const cells = [];
  if (canAssign) {
    cells.push(h("td", {}, h("input", { type: "checkbox", class: "pick", checked: state.selected.has(item.id),
      "aria-label": `Select item ${item.id}`, on: { change: (ev) => pick(item.id, ev.target.checked) } })));
  }
  cells.push(
    h("td", {}, h("button", { type: "button", class: "link-button", "aria-label": `Show item ${item.id}`,
      on: { click: () => showItem(item.id) } }, `#${item.id}`)),
    h("td", { class: "mono" }, h("a", { href: itemHref(item.id), class: "item-link" }, item.external_id ?? "—")),
    h("td", { class: "preview" }, previewText(item.data)),
    progressCell(item));
  if (canAnswers) {
    cells.push(h("td", { class: "answers" }, (item.answers || []).map((a) =>
      h("div", {}, h("strong", {}, a.annotator), " ", answerText(a.value)))));
  }
  return h("tr", { dataset: { itemId: String(item.id) } }, cells);
}

function pick(id, on) {
  if (on) state.selected.add(id); else state.selected.delete(id);
  if (el("bulk-selected")) el("bulk-selected").textContent = `selected (${state.selected.size})`;
}

function describeTotal(page, n) {
  if (page.total === null || page.total === undefined) return "";
  const n0 = page.total.toLocaleString("en");
  const of = page.total_exact ? n0 : (page.total_estimated ? `about ${n0}` : `${n0}+`);
  return n ? `${state.start}–${state.start + n - 1} of ${of}` : `0 of ${of}`;
}

async function loadPage() {
  const seq = ++state.seq;
  const params = filterQuery();
  params.set("limit", String(PAGE_SIZE));
  if (state.after) params.set("after", state.after);
  if (state.before) params.set("before", state.before);
  el("items-status").textContent = "Loading items…";
  try {
    const page = await api.get(projectUrl(project, `/browse?${params}`));
    if (seq !== state.seq) return;
    state.page = page;
    replace(el("items"), page.items.map(row));
    if (el("select-page")) el("select-page").checked = false;
    const n = page.items.length;
    const pageNo = Math.floor((state.start - 1) / PAGE_SIZE) + 1;
    el("page-no").textContent = `Page ${pageNo}`;
    el("range").textContent = describeTotal(page, n);
    const filtered = Object.keys(state.filters).length > 0;
    el("items-status").textContent = n
      ? `Showing ${n} item${n === 1 ? "" : "s"} (page ${pageNo}).`
      : (filtered ? "No items match." : "No items yet.");
    el("prev-page").disabled = page.prev_before === null;
    el("next-page").disabled = page.next_after === null;
  } catch (err) {
    if (seq === state.seq) el("items-status").textContent = errorMessage(err);
  }
}

/** The filters changed: back to the first page, a new history entry. */
function restart({ replace: replaceEntry = false } = {}) {
  state.after = null;
  state.before = null;
  state.start = 1;
  state.selected.clear();
  pick(0, false);
  go({ replace: replaceEntry });
}

function readControls() {
  state.filters = {};
  for (const name of FILTERS) {
    const control = filterControl(name);
    const v = control ? control.value.trim() : "";
    if (v) state.filters[name] = v;
  }
  state.sort = el("sort").value;
}

async function loadInfo() {
  try {
    const info = await api.get(projectUrl(project));
    el("project-title").textContent = info.title || info.name;
    document.title = `${info.title || info.name} · truelabel`;
    const s = info.status;
    el("project-counts").textContent =
      `${s.items} items · ${s.labeled} labeled · ${s.in_progress} in progress · your role: ${info.role}`;
  } catch (err) {
    el("project-counts").textContent = errorMessage(err);
  }
}

// -- item details ------------------------------------------------------------------------
async function showItem(id) {
  const dialog = el("item-dialog");
  const body = el("item-dialog-body");
  el("item-dialog-title").textContent = `Item #${id}`;
  el("item-dialog-link").href = itemHref(id);
  replace(body, h("p", { class: "muted" }, "Loading…"));
  if (!dialog.open) dialog.showModal();
  try {
    const item = await api.get(projectUrl(project, `/items/${id}`));
    const parts = [
      h("p", {}, "External id: ", h("span", { class: "mono" }, item.external_id ?? "—"),
        ` · ${item.n_done} submitted, ${item.n_taken} taken`),
      h("h3", {}, "Data"),
      h("pre", { class: "json" }, JSON.stringify(item.data, null, 2)),
    ];
    if (item.annotations) {
      parts.push(h("h3", {}, `Annotations (${item.annotations.length})`));
      parts.push(item.annotations.length
        ? h("ul", { class: "annotations" }, item.annotations.map((a) =>
          h("li", {}, h("strong", {}, a.annotator || a.username || `user ${a.user_id}`), " ",
            h("pre", { class: "json" }, JSON.stringify(a.value, null, 2)))))
        : h("p", { class: "muted" }, "None yet."));
    }
    replace(body, parts);
  } catch (err) {
    replace(body, h("p", { class: "form-error" }, errorMessage(err)));
  }
}

el("item-dialog-close").addEventListener("click", () => el("item-dialog").close());

// -- import ------------------------------------------------------------------------------
// What the import did besides adding items (repeats, id conflicts, large items), one per line.
function showNotes(notes) {
  const list = el("import-notes");
  list.replaceChildren(...notes.map((n) => h("li", {}, n)));
  list.hidden = !notes.length;
}

function setupImport() {
  const form = el("import-form");
  if (!form) return;
  const bar = el("import-progress");
  const out = el("import-status");
  const setBar = (done, total) => {
    bar.hidden = false;
    if (total) { bar.max = total; bar.value = Math.min(done, total); } else bar.removeAttribute("value");
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = el("import-file").files[0];
    if (!file) { out.textContent = "Choose a file first."; return; }
    const data = new FormData();
    data.append("file", file, file.name);
    data.append("dedup", el("import-dedup").value);
    data.append("on_conflict", el("import-on-conflict").value);
    showNotes([]);
    el("import-submit").disabled = true;
    out.textContent = `Uploading ${file.name}…`;
    try {
      let job = await upload(projectUrl(project, "/imports"), data, setBar);
      out.textContent = "Importing…";
      while (job.status === "running") {
        setBar(job.done, job.total);
        await new Promise((r) => setTimeout(r, 400));
        job = await api.get(`/api/jobs/${job.id}`);
      }
      bar.hidden = true;
      if (job.status === "done") {
        out.textContent = (job.result && job.result.summary) || job.message || "Import finished.";
        showNotes((job.result && job.result.notes) || []);
        form.reset();
        loadInfo();
        loadPage();
      } else {
        out.textContent = `Import failed: ${job.message || "unknown error"}`;
      }
    } catch (err) {
      bar.hidden = true;
      out.textContent = `Import failed: ${errorMessage(err)}`;
    } finally {
      el("import-submit").disabled = false;
    }
  });
}

// -- bulk actions ------------------------------------------------------------------------
const VERBS = { assign: "Assign", review: "Send to review", requeue: "Re-queue", delete: "Delete" };
let pending = null;  // the bulk request waiting for its confirmation

function bulkBody() {
  const action = el("bulk-action").value;
  const all = el("bulk-scope-all").checked;
  const body = { action };
  if (all) body.query = filterQuery().toString();
  else body.item_ids = Array.from(state.selected);
  if (action === "assign") body.username = el("bulk-user").value.trim();
  return body;
}

function setupBulk() {
  const form = el("bulk-bar");
  if (!form) return;
  const out = el("bulk-status");
  const sync = () => { el("bulk-user").hidden = el("bulk-action").value !== "assign"; };
  el("bulk-action").addEventListener("change", sync);
  sync();
  el("select-page").addEventListener("change", (ev) => {
    for (const box of document.querySelectorAll("#items input.pick")) {
      box.checked = ev.target.checked;
      pick(Number(box.closest("tr").dataset.itemId), ev.target.checked);
    }
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = bulkBody();
    if (body.item_ids && !body.item_ids.length) { out.textContent = "Select items first, or choose all matching the filter."; return; }
    if (body.action === "assign" && !body.username) { out.textContent = "Name the annotator to assign to."; return; }
    out.textContent = "Counting…";
    try {
      const dry = await api.post(projectUrl(project, "/items/bulk"), { ...body, dry_run: true });
      pending = { ...body, expect: dry.count };
      const what = `${dry.count.toLocaleString("en")} item${dry.count === 1 ? "" : "s"}`;
      let q = `${VERBS[body.action]} ${what}`;
      if (body.action === "assign") q += ` to ${body.username}`;
      q += body.action === "delete" ? "? This cannot be undone." : "?";
      el("bulk-question").textContent = q;
      el("bulk-confirm").hidden = false;
      out.textContent = "";
      el("bulk-yes").focus();
    } catch (err) {
      out.textContent = errorMessage(err);
    }
  });
  const cancel = () => { pending = null; el("bulk-confirm").hidden = true; out.textContent = "Nothing was changed."; };
  el("bulk-no").addEventListener("click", cancel);
  el("bulk-confirm").addEventListener("keydown", (ev) => { if (ev.key === "Escape") { ev.preventDefault(); cancel(); } });
  el("bulk-yes").addEventListener("click", async () => {
    if (!pending) return;
    const body = pending;
    pending = null;
    el("bulk-confirm").hidden = true;
    try {
      const done = await api.post(projectUrl(project, "/items/bulk"), body);
      out.textContent = `${VERBS[done.action]}: ${done.count.toLocaleString("en")} item${done.count === 1 ? "" : "s"} done.`;
      state.selected.clear();
      pick(0, false);
      loadInfo();
      loadPage();
    } catch (err) {
      out.textContent = errorMessage(err);
    }
  });
}

// -- saved views -------------------------------------------------------------------------
let views = [];

async function loadViews(selectId = null) {
  const select = el("view-select");
  if (!select) return;
  try {
    views = await api.get(projectUrl(project, "/views"));
  } catch (err) {
    el("view-status").textContent = errorMessage(err);
    return;
  }
  replace(select, h("option", { value: "" }, "—"), views.map((v) =>
    h("option", { value: String(v.id) }, v.shared ? `${v.name} (shared)` : v.name)));
  if (selectId !== null) select.value = String(selectId);
  el("view-delete").disabled = !select.value;
}

function setupViews() {
  const select = el("view-select");
  if (!select) return;
  select.addEventListener("change", () => {
    const v = views.find((x) => String(x.id) === select.value);
    el("view-delete").disabled = !v;
    if (!v) return;
    history.pushState(null, "", location.pathname + (v.query ? `?${v.query}` : ""));
    readUrl();
    loadPage();
  });
  el("view-save").addEventListener("click", async () => {
    const name = el("view-name").value.trim();
    if (!name) { el("view-status").textContent = "Name the view first."; el("view-name").focus(); return; }
    try {
      const saved = await api.post(projectUrl(project, "/views"),
        { name, query: filterQuery().toString(), shared: el("view-shared").checked });
      el("view-status").textContent = `Saved “${saved.name}”.`;
      el("view-name").value = "";
      await loadViews(saved.id);
    } catch (err) {
      el("view-status").textContent = errorMessage(err);
    }
  });
  el("view-delete").addEventListener("click", async () => {
    if (!select.value) return;
    try {
      await api.del(projectUrl(project, `/views/${select.value}`));
      el("view-status").textContent = "View deleted.";
      await loadViews();
    } catch (err) {
      el("view-status").textContent = errorMessage(err);
    }
  });
}

// -- wiring ------------------------------------------------------------------------------
const liveSearch = debounce(() => {
  const q = el("q").value.trim();
  if (q !== (state.filters.q || "")) { readControls(); restart({ replace: true }); }
}, 300);

el("q").addEventListener("input", liveSearch);
el("filters").addEventListener("submit", (ev) => {
  ev.preventDefault();
  liveSearch.cancel();
  readControls();
  restart();
});
for (const control of document.querySelectorAll("#filters select")) {
  control.addEventListener("change", () => { readControls(); restart(); });
}
for (const control of document.querySelectorAll("#filters .filter-grid input")) {
  control.addEventListener("change", () => { readControls(); restart(); });
}
el("clear-filters").addEventListener("click", () => {
  for (const name of FILTERS) { const c = filterControl(name); if (c) c.value = ""; }
  readControls();
  restart();
});
el("next-page").addEventListener("click", () => {
  const page = state.page;
  if (!page || page.next_after === null) return;
  state.start += page.items.length;
  state.after = page.next_after;
  state.before = null;
  go();
});
el("prev-page").addEventListener("click", () => {
  const page = state.page;
  if (!page || page.prev_before === null) return;
  state.start = Math.max(1, state.start - PAGE_SIZE);
  state.after = null;
  state.before = state.start > 1 ? page.prev_before : null;
  go();
});
window.addEventListener("popstate", () => { readUrl(); loadPage(); });

readUrl();
setupImport();
setupBulk();
setupViews();
loadInfo();
loadViews();
loadPage();
// Deep link from elsewhere (the quality dashboard's hot spots): /p/<name>?item=<id>
const linked = Number(new URLSearchParams(location.search).get("item"));
if (Number.isInteger(linked) && linked > 0) showItem(linked);

// The data browser: search, status filter, keyset pages, item details, import and export.
import { api, projectUrl, errorMessage, upload } from "../api.js";
import { h, replace, debounce, previewText } from "../dom.js";
import { initShell } from "../shell.js";

initShell();

const PAGE_SIZE = 50;
const project = document.body.dataset.project;
const el = (id) => document.getElementById(id);

const state = {
  q: "",
  status: "",
  after: 0,       // the `after` of the page on screen
  stack: [],      // the `after` of every earlier page, for "Previous"
  nextAfter: null,
  seq: 0,         // drops answers to superseded requests
};

function readUrl() {
  const params = new URLSearchParams(location.search);
  state.q = params.get("q") || "";
  state.status = params.get("status") || "";
  el("q").value = state.q;
  el("status").value = state.status;
}

function writeUrl() {
  const params = new URLSearchParams();
  if (state.q) params.set("q", state.q);
  if (state.status) params.set("status", state.status);
  const qs = params.toString();
  history.replaceState(null, "", location.pathname + (qs ? `?${qs}` : ""));
}

function progressCell(item) {
  let label = "unlabeled";
  if (item.n_taken > item.n_done) label = "in progress";
  else if (item.n_done > 0) label = "done";
  return h("td", {}, h("span", { class: `badge badge-${label.replace(" ", "-")}` }, label),
    " ", h("span", { class: "muted" }, `${item.n_done} submitted`));
}

function row(item) {
  return h("tr", { dataset: { itemId: String(item.id) } },
    h("td", {}, h("button", { type: "button", class: "link-button", "aria-label": `Show item ${item.id}`,
      on: { click: () => showItem(item.id) } }, `#${item.id}`)),
    h("td", { class: "mono" }, item.external_id ?? "—"),
    h("td", { class: "preview" }, previewText(item.data)),
    progressCell(item));
}

async function loadPage() {
  const seq = ++state.seq;
  const params = new URLSearchParams({ after: String(state.after), limit: String(PAGE_SIZE) });
  if (state.q) params.set("q", state.q);
  if (state.status) params.set("status", state.status);
  el("items-status").textContent = "Loading items…";
  try {
    const page = await api.get(projectUrl(project, `/items?${params}`));
    if (seq !== state.seq) return;
    state.nextAfter = page.next_after;
    replace(el("items"), page.items.map(row));
    const n = page.items.length;
    const pageNo = state.stack.length + 1;
    el("page-no").textContent = `Page ${pageNo}`;
    el("items-status").textContent = n
      ? `Showing ${n} item${n === 1 ? "" : "s"} (page ${pageNo}).`
      : (state.q || state.status ? "No items match." : "No items yet.");
    el("prev-page").disabled = state.stack.length === 0;
    el("next-page").disabled = state.nextAfter === null;
  } catch (err) {
    if (seq === state.seq) el("items-status").textContent = errorMessage(err);
  }
}

function restart() {
  state.after = 0;
  state.stack = [];
  writeUrl();
  loadPage();
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
        restart();
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

// -- wiring ------------------------------------------------------------------------------
const liveSearch = debounce(() => {
  const q = el("q").value.trim();
  if (q !== state.q) { state.q = q; restart(); }
}, 300);

el("q").addEventListener("input", liveSearch);
el("filters").addEventListener("submit", (ev) => {
  ev.preventDefault();
  liveSearch.cancel();
  state.q = el("q").value.trim();
  state.status = el("status").value;
  restart();
});
el("status").addEventListener("change", () => { state.status = el("status").value; restart(); });
el("next-page").addEventListener("click", () => {
  if (state.nextAfter === null) return;
  state.stack.push(state.after);
  state.after = state.nextAfter;
  loadPage();
});
el("prev-page").addEventListener("click", () => {
  if (!state.stack.length) return;
  state.after = state.stack.pop();
  loadPage();
});

readUrl();
setupImport();
loadInfo();
loadPage();
// Deep link from elsewhere (the quality dashboard's hot spots): /p/<name>?item=<id>
const linked = Number(new URLSearchParams(location.search).get("item"));
if (Number.isInteger(linked) && linked > 0) showItem(linked);

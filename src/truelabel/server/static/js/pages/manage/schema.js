// "Schema": edit the label schema as JSON or YAML text. As you type, the server parses it
// (POST /schema/check, nothing saved); the labeling page's own field elements preview it and
// a line diff shows what changes against the current version. Errors appear inline, worded by
// the server. Save: PATCH /api/projects/{p} {schema}.
import { api, request } from "../../api.js";
import { h, replace, debounce } from "../../dom.js";
import { createField, loadFieldKinds } from "../../fields/index.js";
import { lineDiff } from "../../diff.js";
import { section, statusLine, toast } from "./common.js";

export const id = "schema";
export const title = "Schema";

const SAMPLE = { text: "Hello, I ordered a Widget Pro from ACME and it arrived broken. Can I get a refund?" };
const pretty = (obj) => JSON.stringify(obj, null, 2);

export async function mount(panel, ctx) {
  const items = await api.get(ctx.url("/items?limit=1")).catch(() => ({ items: [] }));
  const sample = items.items && items.items[0] ? items.items[0].data : SAMPLE;
  const editor = h("textarea", { id: "schema-text", class: "code-input", spellcheck: "false",
    "aria-describedby": "schema-error", value: pretty(ctx.info.schema) });
  const error = h("p", { class: "inline-error", id: "schema-error", role: "alert" });
  const preview = h("div", { class: "preview-box", id: "schema-preview", "aria-live": "polite" });
  const diff = h("div", { class: "diff", id: "schema-diff", role: "region", "aria-label": "Changes against the current version", tabIndex: 0 });
  const save = h("button", { type: "button", class: "btn btn-primary", id: "schema-save", disabled: true }, "Save as a new version");
  const status = statusLine("schema-status");
  let checked = null;  // the last answer of /schema/check for the text as it is now

  const check = debounce(async () => {
    const text = editor.value;
    try {
      const out = await api.post(ctx.url("/schema/check"), { schema: text });
      if (editor.value !== text) return;  // typed on meanwhile: a newer check follows
      if (!out.valid) { invalid(out.error.message); return; }
      checked = out;
      error.textContent = "";
      editor.removeAttribute("aria-invalid");
      await showPreview(preview, out.schema, sample);
      showDiff(diff, out.current, out.schema);
      save.disabled = !out.changed;
      status.ok(out.changed ? "Valid. Saving makes a new version; existing annotations keep theirs."
        : "Valid, and the same as the current version.");
    } catch (err) {
      if (editor.value === text) invalid(err.message || String(err));
    }
  }, 250);
  const invalid = (message) => {
    checked = null;
    save.disabled = true;
    editor.setAttribute("aria-invalid", "true");
    error.textContent = message;
    status.ok("The preview and the changes show the last valid text.");
  };
  editor.addEventListener("input", () => { save.disabled = true; check(); });
  save.addEventListener("click", async () => {
    if (!checked) return;
    status.busy();
    try {
      await request("PATCH", ctx.url(), { schema: editor.value });
      await ctx.reload();
      status.ok(`Saved: schema version ${ctx.info.schema_version}.`);
      toast("Schema saved");
      check();
    } catch (err) {
      error.textContent = err.message || String(err);
      status.ok("");
    }
  });

  replace(panel,
    section("Label schema", "schema-h",
      h("p", { class: "muted" }, "JSON or YAML. Each field is one question on the labeling page."),
      h("label", { htmlFor: "schema-text", class: "visually-hidden" }, "Schema"),
      editor, error, h("div", { class: "toolbar" }, save), status),
    h("div", { class: "split" },
      section("Preview of the labeling page", "preview-h", preview),
      section("Changes against the current version", "diff-h", diff)));
  check();
  check.flush();
}

async function showPreview(box, schema, sample) {
  await loadFieldKinds(schema);
  const fields = (schema.fields || []).map((spec) => createField(spec, sample)
    || h("p", { class: "inline-error" }, `No element for field type ${spec.type}.`));
  replace(box, schema.title ? h("h3", {}, schema.title) : null,
    h("p", { class: "muted" }, "Sample item: ", String(sample.text ?? JSON.stringify(sample)).slice(0, 300)), fields);
}

function showDiff(box, current, next) {
  const rows = lineDiff(current ? pretty(current) : "", pretty(next));
  const changed = rows.filter((r) => r.op !== " ").length;
  replace(box, changed ? rows.map((r) => h("div", { class: r.op === "+" ? "add" : r.op === "-" ? "del" : "" }, `${r.op} ${r.line}`))
    : h("p", { class: "muted" }, "No changes."));
}

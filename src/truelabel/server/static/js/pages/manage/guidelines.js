// "Guidelines": edit the Markdown with a live preview and a changelog note; every save is a
// new version (PUT /guidelines), and annotators see the note the next time they label.
import { api } from "../../api.js";
import { h, replace, debounce } from "../../dom.js";
import { renderMarkdown } from "../../markdown.js";
import { section, statusLine, toast, when } from "./common.js";

export const id = "guidelines";
export const title = "Guidelines";

export async function mount(panel, ctx) {
  const editor = h("textarea", { id: "guidelines-text", class: "code-input", value: ctx.info.guidelines || "" });
  const note = h("input", { id: "guidelines-note", maxlength: "2000", placeholder: "e.g. Refunds win ties with shipping",
    "aria-describedby": "guidelines-note-help" });
  const preview = h("div", { class: "markdown preview-box", id: "guidelines-preview" });
  const history = h("ol", { id: "guidelines-history", reversed: true });
  const status = statusLine("guidelines-status");
  const render = () => replace(preview, editor.value.trim() ? renderMarkdown(editor.value, { headingOffset: 2 })
    : h("p", { class: "muted" }, "No guidelines yet."));
  const rerender = debounce(render, 150);
  editor.addEventListener("input", rerender);

  const loadHistory = async () => {
    const versions = await api.get(ctx.url("/guidelines/versions"));
    replace(history, versions.map((v) => h("li", { value: String(v.version) },
      h("strong", {}, `Version ${v.version}`), ` · ${when(v.created_at)} · ${v.chars} characters`,
      v.note ? h("div", {}, v.note) : h("div", { class: "muted" }, "(no note)"))));
  };

  const form = h("form", { class: "stack-form", id: "guidelines-form" },
    h("label", { htmlFor: "guidelines-text" }, "Guidelines (Markdown)"), editor,
    h("label", { htmlFor: "guidelines-note" }, "What changed (shown to annotators)"), note,
    h("p", { class: "muted", id: "guidelines-note-help" }, "Annotators see this note once, the next time they open the labeling page."),
    h("div", { class: "toolbar" }, h("button", { class: "btn btn-primary", type: "submit", id: "guidelines-save" }, "Save new version")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.busy();
    try {
      const out = await api.put(ctx.url("/guidelines"), { guidelines: editor.value, note: note.value });
      await ctx.reload();
      note.value = "";
      status.ok(`Saved: guidelines version ${out.version}.`);
      toast("Guidelines saved");
      await loadHistory();
    } catch (err) { status.fail(err); }
  });

  replace(panel, h("div", { class: "split" },
    section("Edit", "guidelines-edit-h", form, status),
    section("Preview", "guidelines-preview-h", preview)),
  section("Versions", "guidelines-versions-h", history));
  render();
  await loadHistory();
}

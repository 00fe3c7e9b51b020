// "General": overlap and lease time (PATCH /api/projects/{p}), and archiving (admins).
import { api, request } from "../../api.js";
import { h, replace } from "../../dom.js";
import { section, statusLine, toast, when } from "./common.js";

export const id = "general";
export const title = "General";

export function mount(panel, ctx) {
  const info = ctx.info;
  const facts = h("dl", { class: "counts" },
    h("div", {}, h("dt", {}, "Name"), h("dd", {}, info.name)),
    h("div", {}, h("dt", {}, "Title"), h("dd", {}, info.title)),
    h("div", {}, h("dt", {}, "Created"), h("dd", {}, when(info.created_at))),
    h("div", {}, h("dt", {}, "Schema version"), h("dd", {}, String(info.schema_version))),
    h("div", {}, h("dt", {}, "Guidelines version"), h("dd", {}, String(info.guideline_version))));

  const overlap = h("input", { id: "overlap", type: "number", min: "1", max: "100", value: String(info.overlap), required: true });
  const lease = h("input", { id: "lease-seconds", type: "number", min: "1", value: String(info.lease_seconds), required: true });
  const status = statusLine("general-status");
  const form = h("form", { class: "stack-form", id: "general-form" },
    h("label", { htmlFor: "overlap" }, "Overlap: how many annotators label each item"), overlap,
    h("label", { htmlFor: "lease-seconds" }, "Lease: seconds an annotator holds a task before it returns to the pool"), lease,
    h("div", { class: "toolbar" }, h("button", { class: "btn btn-primary", type: "submit", id: "general-save" }, "Save")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.busy();
    try {
      await request("PATCH", ctx.url(), { overlap: Number(overlap.value), lease_seconds: Number(lease.value) });
      await ctx.reload();
      status.ok("Saved.");
      toast("Settings saved");
    } catch (err) { status.fail(err); }
  });

  const parts = [section("Project", "general-h", facts), section("Labeling", "labeling-h", form, status)];
  if (ctx.role === "admin") parts.push(archivePart(ctx));
  replace(panel, parts);
}

function archivePart(ctx) {
  const status = statusLine("archive-status");
  const box = h("div", {});
  const render = () => {
    const archived = ctx.info.archived;
    replace(box,
      h("p", {}, archived
        ? "This project is archived: annotators do not see it and get no new tasks. Its data is kept."
        : "Archiving hides the project from annotators and stops new tasks; nothing is deleted, and it can be unarchived."),
      h("button", { type: "button", class: archived ? "btn" : "btn btn-danger", id: archived ? "unarchive" : "archive",
        on: { click: async () => {
          status.busy();
          try {
            await api.post(ctx.url("/archive"), { archived: !archived });
            await ctx.reload();
            status.ok(ctx.info.archived ? "Archived." : "Unarchived: the project is active again.");
            render();
          } catch (err) { status.fail(err); }
        } } }, archived ? "Unarchive project" : "Archive project"));
  };
  render();
  return section("Archive", "archive-h", box, status);
}

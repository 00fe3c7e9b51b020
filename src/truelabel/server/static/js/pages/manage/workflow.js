// "Workflow": every workflow setting (GET/PATCH /workflow) as a form built from the settings'
// JSON Schema (/api/workflow.schema.json), so each input shows its description and limits
// and a setting added on the server appears here without a change to this page.
import { api, request } from "../../api.js";
import { h, replace } from "../../dom.js";
import { section, statusLine, toast } from "./common.js";

export const id = "workflow";
export const title = "Workflow";

const label = (name, prop) => prop.title || name.replace(/_/g, " ");

/** The schema of a property without its "or null" branch, and whether null is allowed. */
function unwrap(prop) {
  const branches = prop.anyOf || [];
  const real = branches.find((b) => b.type !== "null");
  return real ? { ...real, nullable: branches.some((b) => b.type === "null") } : { ...prop, nullable: false };
}

function numberInput(idAttr, p, value) {
  return h("input", { id: idAttr, type: "number", step: p.type === "integer" ? "1" : "any",
    min: p.minimum ?? p.exclusiveMinimum, max: p.maximum, value: value === null || value === undefined ? "" : String(value),
    placeholder: p.nullable ? "off" : undefined });
}

/** One control per setting, each with .read() giving its value (or an Error). */
function control(name, prop, value, defs) {
  const p = unwrap(prop);
  const idAttr = `wf-${name}`;
  if (p.type === "boolean") {
    const box = h("input", { id: idAttr, type: "checkbox", checked: Boolean(value) });
    return { el: box, read: () => box.checked };
  }
  if (p.type === "integer" || p.type === "number") {
    const input = numberInput(idAttr, p, value);
    return { el: input, read: () => {
      if (input.value.trim() === "") return p.nullable ? null : new Error(`${label(name, prop)} needs a value.`);
      return Number(input.value);
    } };
  }
  if (p.type === "array" && p.items && p.items.$ref) {
    return stagesControl(idAttr, defs[p.items.$ref.split("/").pop()], value || [], defs);
  }
  if (p.type === "array") {
    const input = h("input", { id: idAttr, value: (value || []).join(", "), placeholder: "comma-separated" });
    return { el: input, read: () => input.value.split(",").map((s) => s.trim()).filter(Boolean) };
  }
  const input = h("input", { id: idAttr, value: value ?? "" });
  return { el: input, read: () => input.value };
}

/** A list of review stages: name, role, sample rate; add and remove rows. */
function stagesControl(idAttr, def, stages, defs) {
  const roles = (defs.Role && defs.Role.enum) || ["reviewer", "manager", "admin"];
  const list = h("ol", { id: idAttr, class: "stages" });
  const addRow = (stage) => {
    const n = h("input", { "aria-label": "Stage name", value: stage.name || "", maxlength: "60", class: "stage-name" });
    const r = h("select", { "aria-label": "Reviewing role", class: "stage-role" },
      roles.map((x) => h("option", { value: x, selected: x === (stage.role || "reviewer") ? true : undefined }, x)));
    const s = h("input", { "aria-label": "Sample rate", type: "number", step: "any", min: "0", max: "1",
      value: String(stage.sample_rate ?? 1), class: "stage-rate" });
    const row = h("li", { class: "row-form" }, n, r, s,
      h("button", { type: "button", class: "btn btn-small", on: { click: () => row.remove() } }, "Remove stage"));
    row.read = () => ({ name: n.value.trim(), role: r.value, sample_rate: Number(s.value) });
    list.append(row);
  };
  stages.forEach(addRow);
  const help = def && def.properties ? Object.entries(def.properties).map(([k, v]) => `${k}: ${v.description || ""}`).join("; ") : "";
  const el = h("div", {}, list, h("p", { class: "help" }, help),
    h("button", { type: "button", class: "btn btn-small", id: `${idAttr}-add`, on: { click: () => addRow({ name: `stage ${list.children.length + 1}` }) } }, "Add a review stage"));
  return { el, read: () => Array.from(list.children, (row) => row.read()) };
}

export async function mount(panel, ctx) {
  const [schema, current] = await Promise.all([api.get("/api/workflow.schema.json"), api.get(ctx.url("/workflow"))]);
  const defs = schema.$defs || {};
  const status = statusLine("workflow-status");
  const controls = {};
  const rows = Object.entries(schema.properties).map(([name, prop]) => {
    const c = control(name, prop, current[name], defs);
    controls[name] = c;
    if (c.el.matches("input")) c.el.setAttribute("aria-describedby", `wf-${name}-help`);
    return h("div", { class: "setting", dataset: { setting: name } },
      h("label", { htmlFor: `wf-${name}` }, h("strong", {}, label(name, prop)), h("code", { class: "muted" }, ` ${name}`)),
      c.el, h("span", { class: "help", id: `wf-${name}-help` }, prop.description || ""));
  });
  const form = h("form", { id: "workflow-form" }, rows,
    h("div", { class: "toolbar" }, h("button", { class: "btn btn-primary", type: "submit", id: "workflow-save" }, "Save workflow")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {};
    for (const [name, c] of Object.entries(controls)) {
      const v = c.read();
      if (v instanceof Error) { status.fail(v); return; }
      body[name] = v;
    }
    status.busy();
    try {
      await request("PATCH", ctx.url("/workflow"), body);
      status.ok("Workflow saved.");
      toast("Workflow saved");
    } catch (err) { status.fail(err); }
  });
  replace(panel, section("Quality workflow", "workflow-h", form, status));
}

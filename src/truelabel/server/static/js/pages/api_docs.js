// The HTTP API reference, rendered from /api/openapi.json (no third-party code, no inline
// script: it runs under the app's own CSP). Every text goes in as text.
import { h, append, replace } from "../dom.js";
import { initTheme } from "../theme.js";

initTheme();

const status = document.getElementById("api-status");
const list = document.getElementById("api-operations");
const METHODS = ["get", "post", "put", "patch", "delete"];

function refName(schema) {
  if (!schema) return "";
  if (schema.$ref) return schema.$ref.split("/").pop();
  if (schema.type === "array") return `array of ${refName(schema.items) || "values"}`;
  if (schema.anyOf) return schema.anyOf.map(refName).filter(Boolean).join(" | ");
  return schema.type || "";
}

function parameters(op) {
  const params = op.parameters || [];
  if (!params.length) return null;
  return h("table", { class: "table api-params" },
    h("thead", {}, h("tr", {}, h("th", {}, "Parameter"), h("th", {}, "In"),
      h("th", {}, "Type"), h("th", {}, "Description"))),
    h("tbody", {}, params.map((p) => h("tr", {},
      h("td", {}, h("code", {}, p.name), p.required ? " (required)" : ""),
      h("td", {}, p.in), h("td", {}, refName(p.schema)),
      h("td", {}, p.description || "")))));
}

function fields(schema, spec) {
  const name = schema && schema.$ref && schema.$ref.split("/").pop();
  const model = name && spec.components && spec.components.schemas[name];
  if (!model || !model.properties) return null;
  const required = new Set(model.required || []);
  return h("ul", { class: "api-fields" }, Object.entries(model.properties).map(([k, v]) =>
    h("li", {}, h("code", {}, k), ` ${refName(v)}`, required.has(k) ? " (required)" : "",
      v.description ? ` — ${v.description}` : "")));
}

function requestBody(op, spec) {
  const content = op.requestBody && op.requestBody.content;
  if (!content) return null;
  return Object.entries(content).map(([type, c]) => [
    h("p", {}, "Body: ", h("code", {}, type), " ", refName(c.schema)), fields(c.schema, spec)]);
}

function responses(op) {
  return h("ul", { class: "api-responses" },
    Object.entries(op.responses || {}).map(([code, r]) =>
      h("li", {}, h("code", {}, code), " ", r.description || "")));
}

function operation(path, method, op, spec) {
  return h("details", { class: "card api-op", id: op.operationId || undefined },
    h("summary", {},
      h("span", { class: "badge api-method" }, method.toUpperCase()), " ",
      h("code", { class: "api-path" }, path), " ",
      h("span", { class: "muted" }, op.summary || "")),
    op.description ? h("p", {}, op.description) : null,
    parameters(op), requestBody(op, spec), responses(op));
}

async function load() {
  const res = await fetch("/api/openapi.json", { credentials: "same-origin" });
  if (!res.ok) throw new Error(`The API description did not load (HTTP ${res.status}).`);
  const spec = await res.json();
  document.getElementById("api-version").textContent = spec.info.version;
  replace(document.getElementById("api-description"), spec.info.description || "");
  const groups = new Map();
  for (const [path, ops] of Object.entries(spec.paths || {})) {
    for (const method of METHODS) {
      const op = ops[method];
      if (!op) continue;
      const tag = (op.tags && op.tags[0]) || "other";
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push(operation(path, method, op, spec));
    }
  }
  for (const [tag, ops] of groups) {
    append(list, [h("h2", {}, tag), ops]);
  }
  const n = list.querySelectorAll(".api-op").length;
  status.textContent = `${n} operations.`;
  list.dataset.ready = "1";
}

load().catch((err) => { status.textContent = err.message; });

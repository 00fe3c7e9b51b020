// "Assign": reserve items for one annotator, by item ids (POST /assign) or as the next N
// untouched items (POST /assign/count). They get these before the shared pool. Also the claim
// order: items' priorities, higher handed out first (POST /items/priority).
import { api } from "../../api.js";
import { h, replace } from "../../dom.js";
import { section, statusLine } from "./common.js";

export const id = "assign";
export const title = "Assign";

/** Item ids typed as "1, 2 5-8": numbers and ranges; an Error for anything else. */
export function parseIds(text) {
  const ids = [];
  for (const part of text.split(/[\s,;]+/).filter(Boolean)) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (b < a || b - a > 10000) return new Error(`The range ${part} is backwards or too long.`);
      for (let i = a; i <= b; i++) ids.push(i);
    } else if (/^\d+$/.test(part)) ids.push(Number(part));
    else return new Error(`"${part}" is not an item id; type numbers like 12, 15 or ranges like 20-30.`);
  }
  return ids.length ? ids : new Error("Type at least one item id.");
}

export async function mount(panel, ctx) {
  const status = statusLine("assign-status");
  const members = await api.get(ctx.url("/members"));
  const who = h("select", { id: "assign-user", required: true },
    members.map((m) => h("option", { value: m.username }, `${m.username} (${m.role})`)));
  const mode = (value, label, checked) => h("label", {}, h("input", { type: "radio", name: "assign-mode", value, id: `assign-mode-${value}`, checked }), ` ${label}`);
  const ids = h("input", { id: "assign-ids", placeholder: "e.g. 12, 15, 20-30", autocomplete: "off" });
  const count = h("input", { id: "assign-count", type: "number", min: "1", max: "500", value: "10" });
  const form = h("form", { class: "stack-form", id: "assign-form" },
    h("label", { htmlFor: "assign-user" }, "Annotator"), who,
    h("fieldset", {}, h("legend", {}, "Which items"),
      mode("ids", "These item ids", true), ids,
      mode("count", "The next untouched items, this many", false), count),
    h("div", { class: "toolbar" }, h("button", { class: "btn btn-primary", type: "submit", id: "assign-submit" }, "Assign")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const byCount = form.querySelector("#assign-mode-count").checked;
    status.busy("Assigning…");
    try {
      let out;
      if (byCount) out = await api.post(ctx.url("/assign/count"), { username: who.value, count: Number(count.value) });
      else {
        const list = parseIds(ids.value);
        if (list instanceof Error) { status.fail(list); return; }
        out = await api.post(ctx.url("/assign"), { username: who.value, item_ids: list });
      }
      status.ok(`${out.assigned} item${out.assigned === 1 ? "" : "s"} reserved for ${who.value}.`);
    } catch (err) { status.fail(err); }
  });
  replace(panel, section("Assign items to an annotator", "assign-h", form, status), priorityPart(ctx));
}

function priorityPart(ctx) {
  const status = statusLine("priority-status");
  const ids = h("input", { id: "priority-ids", placeholder: "e.g. 12, 15, 20-30", autocomplete: "off", required: true });
  const level = h("input", { id: "priority-value", type: "number", step: "1", value: "10", required: true });
  const form = h("form", { class: "row-form", id: "priority-form" },
    h("label", {}, "Item ids", ids), h("label", {}, "Priority (higher first; 0 is the default)", level),
    h("button", { class: "btn", type: "submit", id: "priority-submit" }, "Set priority"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const list = parseIds(ids.value);
    if (list instanceof Error) { status.fail(list); return; }
    status.busy();
    try {
      const priority = Number(level.value);
      const out = await api.post(ctx.url("/items/priority"), { items: list.map((id) => ({ item_id: id, priority })) });
      status.ok(`Priority ${priority} set on ${out.set} item${list.length === 1 ? "" : "s"}.`);
    } catch (err) { status.fail(err); }
  });
  return section("Which items come first", "priority-h", form, status);
}

// "Gold": items with a known answer. Upload a file (POST /gold, all or nothing), list them,
// edit one answer (PUT /items/{id}/gold), make an item gold by id, or remove it (DELETE).
import { api, upload } from "../../api.js";
import { h, replace } from "../../dom.js";
import { confirmButton, section, statusLine } from "./common.js";

export const id = "gold";
export const title = "Gold";

/** The JSON object typed in a box, or an Error saying what is wrong with it. */
function parseAnswer(text) {
  let value;
  try { value = JSON.parse(text); } catch (err) { return new Error(`The answer is not JSON: ${err.message}`); }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    return new Error('The answer is a JSON object of field name → value, e.g. {"intent": "refund"}.');
  }
  return value;
}

export async function mount(panel, ctx) {
  const status = statusLine("gold-status");
  const body = h("tbody", { id: "gold-body" });
  const count = h("p", { class: "muted", id: "gold-count" });

  const put = async (itemId, text) => {
    const value = parseAnswer(text);
    if (value instanceof Error) { status.fail(value); return false; }
    status.busy();
    try {
      await api.put(ctx.url(`/items/${itemId}/gold`), { value });
      status.ok(`Item ${itemId}: known answer saved.`);
      return true;
    } catch (err) { status.fail(err); return false; }
  };

  const load = async () => {
    const gold = await api.get(ctx.url("/gold"));
    count.textContent = gold.length ? `${gold.length} gold item${gold.length === 1 ? "" : "s"}.` : "No gold items yet.";
    replace(body, gold.map((g) => {
      const box = h("textarea", { id: `gold-value-${g.item_id}`, "aria-label": `Known answer of item ${g.item_id}`,
        spellcheck: "false", value: JSON.stringify(g.value) });
      const save = h("button", { type: "button", class: "btn btn-small", id: `gold-save-${g.item_id}`,
        on: { click: () => put(g.item_id, box.value) } }, "Save");
      const remove = confirmButton("Remove", "Remove gold", async () => {
        status.busy();
        try {
          await api.del(ctx.url(`/items/${g.item_id}/gold`));
          status.ok(`Item ${g.item_id} is no longer gold; it returns to the pool.`);
          await load();
        } catch (err) { status.fail(err); }
      }, { id: `gold-remove-${g.item_id}` });
      return h("tr", { dataset: { item: String(g.item_id) } },
        h("td", {}, String(g.item_id)),
        h("td", {}, box), h("td", {}, save, " ", remove));
    }));
  };

  // upload a file
  const file = h("input", { id: "gold-file", type: "file", required: true, accept: ".jsonl,.json,.csv,.parquet" });
  const idField = h("input", { id: "gold-id-field", value: "id", required: true });
  const up = h("form", { class: "row-form", id: "gold-upload" },
    h("label", {}, "File (JSONL, CSV or Parquet: one record per item, its id and each field's answer)", file),
    h("label", {}, "Id column", idField),
    h("button", { class: "btn btn-primary", type: "submit", id: "gold-upload-submit" }, "Upload gold"));
  up.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!file.files.length) return;
    const data = new FormData();
    data.append("file", file.files[0]);
    data.append("id_field", idField.value);
    status.busy("Uploading…");
    try {
      const out = await upload(ctx.url("/gold"), data);
      status.ok(`${out.imported} known answers imported from ${out.source}.`);
      up.reset();
      await load();
    } catch (err) { status.fail(err); }
  });

  // one item by id
  const itemId = h("input", { id: "gold-item", type: "number", min: "1", required: true });
  const answer = h("input", { id: "gold-answer", required: true, placeholder: '{"intent": "refund"}', spellcheck: "false" });
  const one = h("form", { class: "row-form", id: "gold-one" },
    h("label", {}, "Item id (number)", itemId), h("label", {}, "Known answer (JSON)", answer),
    h("button", { class: "btn", type: "submit", id: "gold-one-submit" }, "Make gold"));
  one.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (await put(Number(itemId.value), answer.value)) { one.reset(); await load(); }
  });

  replace(panel,
    section("Add gold", "gold-add-h", up, one, status),
    section("Gold items", "gold-list-h", count, h("table", { class: "list" },
      h("thead", {}, h("tr", {}, ["Item", "Known answer", ""].map((t) => h("th", { scope: "col" }, t)))), body)));
  await load();
}

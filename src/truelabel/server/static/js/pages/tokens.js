// Your API tokens: list, create (the secret shown once), revoke (GET/POST/DELETE /api/me/tokens).
import { api, errorMessage } from "../api.js";
import { h, append } from "../dom.js";
import { initShell } from "../shell.js";

initShell();

const rows = document.getElementById("token-rows");
const status = document.getElementById("token-status");
const form = document.getElementById("token-form");
const fresh = document.getElementById("token-new");
const secret = document.getElementById("token-secret");

function when(t, none) {
  return t ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 16) : none;
}

function row(t) {
  const expired = t.expires_at !== null && t.expires_at * 1000 < Date.now();
  const revoke = h("button", { type: "button", class: "btn btn-danger" }, "Revoke");
  revoke.setAttribute("aria-label", `Revoke token ${t.name || t.id}`);
  revoke.addEventListener("click", async () => {
    revoke.disabled = true;
    try {
      await api.del(`/api/me/tokens/${encodeURIComponent(t.id)}`);
      status.textContent = `Token “${t.name || t.id}” revoked.`;
      await load(false);
    } catch (err) {
      revoke.disabled = false;
      status.textContent = `Not revoked: ${errorMessage(err)}`;
    }
  });
  return h("tr", { dataset: { tokenId: String(t.id) } },
    h("td", {}, t.name || "—"),
    h("td", {}, h("code", {}, t.scope)),
    h("td", {}, when(t.created_at, "")),
    h("td", {}, when(t.last_used_at, "never")),
    h("td", { class: expired ? "muted" : "" }, expired ? "expired" : when(t.expires_at, "never")),
    h("td", {}, revoke));
}

async function load(announce = true) {
  try {
    const tokens = await api.get("/api/me/tokens");
    rows.replaceChildren();
    append(rows, tokens.map(row));
    document.getElementById("token-table").hidden = tokens.length === 0;
    if (announce) {
      status.textContent = tokens.length
        ? `${tokens.length} token${tokens.length === 1 ? "" : "s"}.`
        : "You have no API tokens.";
    }
  } catch (err) {
    status.textContent = errorMessage(err);
  }
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const data = new FormData(form);
  const expires = data.get("expires");
  const body = {
    name: data.get("name").trim(),
    scope: data.get("scope"),
    expires_in_days: expires === "never" ? null : Number(expires),
  };
  status.textContent = "Creating…";
  try {
    const made = await api.post("/api/me/tokens", body);
    secret.textContent = made.token;
    fresh.hidden = false;
    form.reset();
    await load(false);
    status.textContent = `Token “${made.name || made.id}” created.`;
  } catch (err) {
    status.textContent = `Not created: ${errorMessage(err)}`;
  }
});

load();

// Workspace settings for admins: the URL-import allow-list (GET/PUT /api/settings/url-allowlist).
import { api, errorMessage } from "../api.js";
import { initShell } from "../shell.js";

initShell();

const form = document.getElementById("allow-form");
const entries = document.getElementById("allow-entries");
const status = document.getElementById("allow-status");

function show(list) {
  entries.value = list.join("\n");
  status.textContent = list.length
    ? `${list.length} entr${list.length === 1 ? "y" : "ies"} allowed.`
    : "Nothing extra is allowed: only public addresses can be imported from.";
}

async function load() {
  try {
    show((await api.get("/api/settings/url-allowlist")).allow);
  } catch (err) {
    status.textContent = errorMessage(err);
  }
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const allow = entries.value.split("\n").map((s) => s.trim()).filter(Boolean);
  status.textContent = "Saving…";
  try {
    show((await api.put("/api/settings/url-allowlist", { allow })).allow);
    status.textContent = `Saved. ${status.textContent}`;
  } catch (err) {
    status.textContent = `Not saved: ${errorMessage(err)}`;
  }
});

load();

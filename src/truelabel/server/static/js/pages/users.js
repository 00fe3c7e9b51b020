// Users (admins): add a user (POST /api/users), disable or enable one, set a new password
// (PATCH /api/users/{u}; their sessions and tokens end), see and revoke their API tokens.
// Asks in place, never window.confirm.
import { api, request, errorMessage } from "../api.js";
import { h, replace } from "../dom.js";
import { initShell } from "../shell.js";
import { confirmButton } from "./manage/common.js";

initShell();

const body = document.getElementById("users-body");
const status = document.getElementById("users-status");
const me = document.querySelector('meta[name="tl-user"]')?.getAttribute("content");
const userUrl = (name) => `/api/users/${encodeURIComponent(name)}`;

function say(text, bad = false) {
  status.className = bad ? "inline-error" : "notice";
  status.textContent = text;
}

async function patch(name, change, done) {
  try {
    await request("PATCH", userUrl(name), change);
    say(done);
    await load();
  } catch (err) { say(errorMessage(err), true); }
}

function passwordForm(u) {
  const input = h("input", { type: "password", minlength: "8", required: true, autocomplete: "new-password",
    id: `password-${u.username}`, "aria-label": `New password for ${u.username}` });
  const form = h("form", { class: "row-form", id: `password-form-${u.username}` }, input,
    h("button", { type: "submit", class: "btn btn-small", id: `password-save-${u.username}` }, "Set password"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    patch(u.username, { password: input.value }, `${u.username} has a new password; their sessions and tokens ended.`);
  });
  return form;
}

function row(u) {
  const self = String(u.id) === me;
  const toggle = u.disabled
    ? h("button", { type: "button", class: "btn btn-small", id: `enable-${u.username}`,
      on: { click: () => patch(u.username, { disabled: false }, `${u.username} may log in again.`) } }, "Enable")
    : self ? null : confirmButton("Disable", `Disable ${u.username}`,
      () => patch(u.username, { disabled: true }, `${u.username} is disabled: logged out, and their tokens are revoked.`),
      { id: `disable-${u.username}` });
  const reset = h("details", {}, h("summary", { id: `reset-${u.username}` }, "Reset password"), passwordForm(u));
  const tokens = h("details", { on: { toggle: (ev) => { if (ev.target.open) showTokens(u, list); } } },
    h("summary", { id: `tokens-${u.username}` }, "API tokens"));
  const list = h("ul", { id: `token-list-${u.username}` });
  tokens.append(list);
  return h("tr", { dataset: { username: u.username } },
    h("td", {}, u.username), h("td", {}, u.display_name || ""), h("td", {}, u.role),
    h("td", {}, u.disabled ? h("span", { class: "badge badge-archived" }, "disabled") : "active"),
    h("td", {}, toggle, " ", reset, tokens));
}

/** A user's API tokens (never the secrets), each revocable (GET/DELETE /api/users/{u}/tokens). */
async function showTokens(u, list) {
  try {
    const tokens = await api.get(`${userUrl(u.username)}/tokens`);
    replace(list, tokens.length ? tokens.map((t) => h("li", {}, `${t.name || "(unnamed)"} · ${t.scope}`,
      t.expires_at ? ` · expires ${new Date(t.expires_at * 1000).toLocaleDateString()}` : " · never expires", " ",
      confirmButton("Revoke", "Revoke token", async () => {
        try {
          await api.del(`${userUrl(u.username)}/tokens/${t.id}`);
          say(`A token of ${u.username} was revoked.`);
          await showTokens(u, list);
        } catch (err) { say(errorMessage(err), true); }
      }, { id: `revoke-${u.username}-${t.id}` }))) : h("li", { class: "muted" }, "No tokens."));
  } catch (err) { say(errorMessage(err), true); }
}

async function load() {
  try {
    const users = await api.get("/api/users");
    replace(body, users.map(row));
    if (!status.textContent || status.textContent === "Loading…") say(`${users.length} user${users.length === 1 ? "" : "s"}`);
  } catch (err) { say(errorMessage(err), true); }
}

const form = document.getElementById("add-user");
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const out = document.getElementById("add-user-status");
  const value = (id) => document.getElementById(id).value;
  try {
    const made = await api.post("/api/users", { username: value("new-username").trim(), display_name: value("new-display").trim(),
      role: value("new-role"), password: value("new-password") });
    out.className = "notice";
    out.textContent = `${made.username} added as ${made.role}. Add them to projects from each project's Manage page.`;
    form.reset();
    await load();
  } catch (err) {
    out.className = "inline-error";
    out.textContent = errorMessage(err);
  }
});

load();

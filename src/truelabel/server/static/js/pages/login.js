// The login form: POST /api/login, then go where the user was headed.
import { request, errorMessage } from "../api.js";
import { safeNext } from "../urls.js";
import { keepOnlyDraftsOf } from "../drafts.js";
import { initTheme } from "../theme.js";

initTheme();

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
const button = document.getElementById("login-submit");

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.hidden = true;
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username || !password) {
    error.textContent = "Enter your username and password.";
    error.hidden = false;
    return;
  }
  button.disabled = true;
  try {
    const me = await request("POST", "/api/login", { username, password }, { redirectOn401: false, sendCsrf: false });
    // Someone else's unsent answers must not outlive their session on a shared browser.
    keepOnlyDraftsOf(me && me.id);
    location.assign(safeNext(form.dataset.next));
  } catch (err) {
    error.textContent = errorMessage(err);
    error.hidden = false;
    form.password.select();
    button.disabled = false;
  }
});

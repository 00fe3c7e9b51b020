// What every page shares: the log-out button, the light/dark toggle.
import { request } from "./api.js";
import { clearAllDrafts } from "./drafts.js";
import { initTheme } from "./theme.js";

export function initShell() {
  initTheme();
  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      // Unsent answers stay with their author: the next person on this browser must not
      // see them (blind overlap). Cleared before the request, and again after it in case an
      // autosave wrote one meanwhile.
      clearAllDrafts();
      try { await request("POST", "/api/logout", undefined, { redirectOn401: false }); } catch { /* gone anyway */ }
      clearAllDrafts();
      location.assign("/login");
    });
  }
}

// What every page shares: the log-out button.
import { request } from "./api.js";

export function initShell() {
  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      try { await request("POST", "/api/logout", undefined, { redirectOn401: false }); } catch { /* gone anyway */ }
      location.assign("/login");
    });
  }
}

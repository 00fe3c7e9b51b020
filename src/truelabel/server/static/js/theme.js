// Light or dark: the system's choice (prefers-color-scheme) until the user picks one with
// the toggle in the header; the pick is remembered in this browser (localStorage) and set
// as <html data-theme>, which app.css's color-scheme follows.
const KEY = "tl-theme";

function stored() {
  try {
    const v = localStorage.getItem(KEY);
    return v === "dark" || v === "light" ? v : null;
  } catch { return null; }
}

const systemDark = () => window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;

/** The theme in effect: "dark" or "light". */
export const currentTheme = () => stored() || (systemDark() ? "dark" : "light");

function label(button) {
  const dark = currentTheme() === "dark";
  button.setAttribute("aria-pressed", String(dark));
  button.title = dark ? "Dark mode is on: switch to light" : "Switch to dark mode";
  button.textContent = dark ? "☾ Dark" : "☀ Light";
}

/** Apply the remembered theme and wire the toggle (#theme-toggle), if the page has one. */
export function initTheme() {
  const root = document.documentElement;
  const pick = stored();
  if (pick) root.dataset.theme = pick;
  const button = document.getElementById("theme-toggle");
  if (!button) return;
  label(button);
  button.addEventListener("click", () => {
    const next = currentTheme() === "dark" ? "light" : "dark";
    // back to following the system when the pick is what the system would give anyway
    try {
      if ((next === "dark") === systemDark()) localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, next);
    } catch { /* storage blocked: this page only */ }
    root.dataset.theme = next;
    label(button);
  });
}

// Which URLs a page may follow: decided with the browser's own URL parser, never by looking
// at the raw string. The parser trims C0 controls and spaces, deletes tabs and newlines and
// reads "\" as "/", so "/\evil", "/<tab>/evil" or "\/evil" are all "//evil" — another host.

/** Where to land when `next` is missing or refused. */
export const DEFAULT_NEXT = "/";
const MAX_NEXT = 2048;

// What the parser ignores at the ends and inside (WHATWG "basic URL parser", first steps).
const cleaned = (raw) => raw.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "").replace(/[\t\n\r]/g, "");

/** `raw` parsed (against `base` if one is given), or null if the parser refuses it. */
function parse(raw, base) {
  try { return base === undefined ? new URL(raw) : new URL(raw, base); } catch { return null; }
}

/** A parsed URL on this page's origin whose path starts with exactly one "/". */
const sameOriginPath = (url) => url !== null && url.origin === location.origin
  && url.pathname.startsWith("/") && !url.pathname.startsWith("//");

/**
 * The same-origin path to go to after login, or `fallback` if `value` is not one.
 * Only path-absolute references count ("/…", as our own login links make them); the answer is
 * the parsed form (path + query + fragment), so the browser goes exactly where was checked.
 * Mirrors `truelabel.server.pages.redirects.safe_next` on the server.
 */
export function safeNext(value, fallback = DEFAULT_NEXT) {
  if (typeof value !== "string" || !value || value.length > MAX_NEXT) return fallback;
  if (!/^[/\\]/.test(cleaned(value))) return fallback; // a scheme or a relative path
  const url = parse(value, location.origin);
  return sameOriginPath(url) ? url.pathname + url.search + url.hash : fallback;
}

/**
 * Where a Markdown link may point, or null (the link is then shown as text):
 * - an absolute http(s) URL elsewhere → `{ href, external: true }` (opened in a new tab,
 *   rel="noopener noreferrer");
 * - mailto: → `{ href, external: false }`;
 * - a same-origin path ("/…", "?…" or "#…") → `{ href: path+query+fragment, external: false }`.
 * Everything else — other schemes (javascript:, data:, vbscript:), scheme-relative "//host",
 * "/\host", "\\host", relative paths — is refused.
 */
export function linkTarget(raw) {
  if (typeof raw !== "string" || !raw) return null;
  const text = cleaned(raw);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text);
  if (scheme) {
    const name = scheme[1].toLowerCase();
    if (name !== "http" && name !== "https" && name !== "mailto") return null;
    const url = parse(raw); // absolute: no base to fall back on
    if (url === null) return null;
    if (name === "mailto") return { href: url.href, external: false };
    if (sameOriginPath(url)) return { href: url.pathname + url.search + url.hash, external: false };
    if (url.origin === location.origin) return null; // this site, but a "//…" path
    return { href: url.href, external: true };
  }
  if (!/^[/?#]/.test(text)) return null; // relative paths mean different things on each page
  const url = parse(raw, location.href); // "//host" and "/\host" land on another origin
  return sameOriginPath(url) ? { href: url.pathname + url.search + url.hash, external: false } : null;
}

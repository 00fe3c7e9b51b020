// The JSON API client: session cookie + CSRF header on writes, one error type.

export class ApiError extends Error {
  constructor(status, body) {
    const message = (body && body.message) || `The server answered ${status}.`;
    super(message);
    this.status = status;
    this.code = (body && body.error) || "http_error";
    this.detail = (body && body.detail) || {};
  }
}

let csrfToken = null;

function csrfFromPage() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") : null;
}

async function csrf() {
  if (!csrfToken) csrfToken = csrfFromPage();
  if (!csrfToken) {
    const me = await request("GET", "/api/me");
    csrfToken = me.csrf_token || null;
  }
  return csrfToken;
}

export function setCsrf(token) { csrfToken = token; }

/** Go to the login page, coming back here afterwards. */
export function toLogin() {
  const here = location.pathname + location.search;
  location.assign(`/login?next=${encodeURIComponent(here)}`);
}

/**
 * Call the API. ``body`` is sent as JSON unless it is FormData. Resolves to the parsed JSON
 * (``null`` for 204); rejects with ApiError (HTTP errors) or TypeError (network down).
 */
export async function request(method, url, body, { redirectOn401 = true, sendCsrf = true } = {}) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (sendCsrf && method !== "GET" && method !== "HEAD") {
    const token = await csrf();
    if (token) headers["X-CSRF-Token"] = token;
  }
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url, init);
  if (res.status === 204) return null;
  let data = null;
  const type = res.headers.get("content-type") || "";
  if (type.includes("application/json")) data = await res.json();
  if (!res.ok) {
    if (res.status === 401 && redirectOn401) toLogin();
    throw new ApiError(res.status, data);
  }
  return data;
}

export const api = {
  get: (url) => request("GET", url),
  post: (url, body) => request("POST", url, body),
  put: (url, body) => request("PUT", url, body),
  del: (url) => request("DELETE", url),
};

/** "/api/projects/<name>" with the name escaped. */
export const projectUrl = (name, rest = "") => `/api/projects/${encodeURIComponent(name)}${rest}`;

/** A message for any error thrown by ``request``. */
export function errorMessage(err) {
  if (err instanceof ApiError) return err.message;
  if (err instanceof TypeError) return "Could not reach the server. Check your connection and try again.";
  return String(err && err.message ? err.message : err);
}

/** POST a FormData with upload progress (fetch cannot report it). Resolves to the JSON body. */
export async function upload(url, formData, onProgress) {
  const token = await csrf();
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.responseType = "json";
    xhr.setRequestHeader("Accept", "application/json");
    if (token) xhr.setRequestHeader("X-CSRF-Token", token);
    xhr.upload.addEventListener("progress", (ev) => {
      if (ev.lengthComputable && onProgress) onProgress(ev.loaded, ev.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.response);
      else {
        if (xhr.status === 401) toLogin();
        reject(new ApiError(xhr.status, xhr.response));
      }
    });
    xhr.addEventListener("error", () => reject(new TypeError("network error")));
    xhr.send(formData);
  });
}

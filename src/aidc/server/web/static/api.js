// The one way the dashboard talks to the server: /api/v1 with the bearer token kept in this tab.
const KEY = "aidc.token";

export class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

export const token = () => sessionStorage.getItem(KEY);
export const setToken = (t) => t ? sessionStorage.setItem(KEY, t) : sessionStorage.removeItem(KEY);

let onUnauthorized = () => {};
export const whenUnauthorized = (fn) => { onUnauthorized = fn; };

export async function request(path, { method = "GET", body, tok } = {}) {
  const headers = { Authorization: `Bearer ${tok || token() || ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401 && !tok) onUnauthorized();
  if (!r.ok) {
    let detail = r.statusText;
    try { detail = (await r.json()).detail || detail; } catch (e) { /* not JSON */ }
    throw new ApiError(r.status, detail);
  }
  return r;
}

export const api = async (path, opts) => (await request(path, opts)).json();

// The API client: the only module that calls fetch. It sends the session's
// CSRF token on changes, the chosen language, maps an API error to its
// message and hint, and retries reads with back-off while the server is
// unreachable (telling the page through `connection` events).

const BASE = "/api/v1";
const CSRF_KEY = "stackhub.csrf";

/** ApiError carries the API's own text: message and hint. status 0 = network. */
export class ApiError extends Error {
  constructor(status, message, hint = "") {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.hint = hint;
  }
}

/** events: "unauthenticated", "connection" (detail {online, retryIn}). */
export const events = new EventTarget();

let language = "en";
/** setLanguage makes API messages come back in lang. */
export function setLanguage(lang) { language = lang; }

export function setCSRF(token) {
  if (token) localStorage.setItem(CSRF_KEY, token);
  else localStorage.removeItem(CSRF_KEY);
}

const sleep = (ms, signal) => new Promise((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener("abort", () => { clearTimeout(t); reject(signal.reason); }, { once: true });
});

let offline = false;
function connection(online, retryIn = 0) {
  if (online === !offline && online) return;
  offline = !online;
  events.dispatchEvent(new CustomEvent("connection", { detail: { online, retryIn } }));
}

/** backoff returns the wait before retry n (0-based): 1, 2, 4 ... 30 s. */
export function backoff(n) { return Math.min(30000, 1000 * 2 ** n); }

async function send(method, path, { body, query, signal, raw } = {}) {
  let url = path.startsWith("/ui/") ? path : BASE + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
    const s = q.toString();
    if (s) url += "?" + s;
  }
  const headers = { "Accept": raw ? "*/*" : "application/json", "Accept-Language": language };
  if (method !== "GET") {
    const csrf = localStorage.getItem(CSRF_KEY);
    if (csrf) headers["X-CSRF-Token"] = csrf;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const init = { method, headers, signal, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) };
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch(url, init);
    } catch (err) {
      if (signal?.aborted) throw err;
      if (method !== "GET") {
        throw new ApiError(0, "network", "");
      }
      const wait = backoff(attempt);
      connection(false, wait);
      await sleep(wait, signal);
      continue;
    }
    connection(true);
    if (res.ok) {
      if (raw) return res;
      if (res.status === 204) return null;
      return res.json();
    }
    let msg = res.statusText, hint = "";
    try {
      const b = await res.json();
      msg = b.error || b.message || msg;
      hint = b.hint || "";
    } catch { /* not JSON: keep the status text */ }
    if (res.status === 401 && !path.startsWith("/login") && !path.startsWith("/setup")) {
      events.dispatchEvent(new CustomEvent("unauthenticated"));
    }
    throw new ApiError(res.status, msg, hint);
  }
}

const get = (path, query, opts) => send("GET", path, { ...opts, query });
const enc = encodeURIComponent;

/** The API, one function per call the console makes. */
export const api = {
  login: (username, password) => send("POST", "/login", { body: { username, password } }),
  logout: () => send("POST", "/logout"),
  setup: (token, password) => send("POST", "/setup", { body: { token, password } }),
  me: () => get("/me"),
  setMyLanguage: (language) => send("PUT", "/me", { body: { language } }),

  apps: (query, opts) => get("/apps", query, opts),
  app: (name) => get("/apps/" + enc(name)),
  appIcon: (name) => BASE + "/apps/" + enc(name) + "/icon",

  installations: () => get("/installations"),
  installation: (name) => get("/installations/" + enc(name)),
  install: (req) => send("POST", "/installations", { body: req }),
  upgrade: (name, parameters) => send("POST", "/installations/" + enc(name) + "/upgrade", { body: { parameters } }),
  action: (name, action) => send("POST", "/installations/" + enc(name) + "/actions/" + enc(action)),
  uninstall: (name, purge) => send("DELETE", "/installations/" + enc(name), { query: { purge, async: true } }),
  outputs: (name, reveal) => get("/installations/" + enc(name) + "/outputs", { reveal: reveal || undefined }),
  /** logs answers the log text; with follow it calls onText per chunk until signal aborts. */
  logs: async (name, { tail, service, follow, signal, onText } = {}) => {
    const res = await send("GET", "/installations/" + enc(name) + "/logs",
      { query: { tail, service, follow: follow || undefined }, signal, raw: true });
    if (!follow) return res.text();
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return "";
      onText(dec.decode(value, { stream: true }));
    }
  },

  backups: (name) => get("/installations/" + enc(name) + "/backups"),
  createBackup: (name) => send("POST", "/installations/" + enc(name) + "/backups"),
  restoreBackup: (name, id, as) => send("POST", "/installations/" + enc(name) + "/backups/" + enc(id) + "/restore", { body: { as: as || undefined } }),
  deleteBackup: (name, id) => send("DELETE", "/installations/" + enc(name) + "/backups/" + enc(id)),
  backupSchedule: (name) => get("/installations/" + enc(name) + "/backups/schedule"),
  setBackupSchedule: (name, body) => send("PUT", "/installations/" + enc(name) + "/backups/schedule", { body }),
  clearBackupSchedule: (name) => send("DELETE", "/installations/" + enc(name) + "/backups/schedule"),

  domains: () => get("/domains"),
  addDomain: (req) => send("POST", "/domains", { body: req }),
  removeDomain: (domain) => send("DELETE", "/domains/" + enc(domain)),

  nodes: () => get("/nodes"),
  nodeJoin: (manager) => send("POST", "/nodes/join", { body: { manager } }),
  setNodeAvailability: (id, availability) => send("POST", "/nodes/" + enc(id) + "/availability", { body: { availability } }),
  removeNode: (id, force) => send("DELETE", "/nodes/" + enc(id), { query: { force: force || undefined } }),

  job: (id) => get("/jobs/" + enc(id)),
  jobs: (limit) => get("/jobs", { limit }),
  jobEventsURL: (id) => BASE + "/jobs/" + enc(id) + "/events",

  server: () => get("/server"),
  serverHistory: () => get("/server/history"),

  users: () => get("/users"),
  createUser: (username, password, role) => send("POST", "/users", { body: { username, password, role } }),
  setRole: (username, role) => send("PATCH", "/users/" + enc(username), { body: { role } }),
  deleteUser: (username) => send("DELETE", "/users/" + enc(username)),
  tokens: () => get("/tokens"),
  createToken: (name) => send("POST", "/tokens", { body: { name } }),
  revokeToken: (id) => send("DELETE", "/tokens/" + enc(id)),
  settings: () => get("/settings"),
  saveSettings: (s) => send("PUT", "/settings", { body: s }),
  audit: (limit) => get("/audit", { limit }),

  /** catalog loads a message catalog of the console. */
  catalog: (lang) => send("GET", "/ui/i18n/" + enc(lang) + ".json"),
};

// The console's shell: picks the language, finds out who is logged in,
// routes #/<view>/<arg> to one view module, and shows a lost connection.
// The current user and language are the only state kept here.

import { api, events, setCSRF } from "./api.js";
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import { h, errorBox, fill } from "./dom.js";

const views = {
  login: () => import("../views/login.js"),
  setup: () => import("../views/login.js"),
  store: () => import("../views/store.js"),
  apps: () => import("../views/apps.js"),
  app: () => import("../views/app.js"),
  server: () => import("../views/server.js"),
  admin: () => import("../views/admin.js"),
};

let user = null;
let cleanup = null;
let renderSeq = 0;
const main = document.getElementById("main");

function route() {
  if (location.pathname === "/setup") return { view: "setup", args: [] };
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  let view = parts[0] || "store";
  if (view === "apps" && parts[1]) view = "app";
  return { view: views[view] ? view : "store", args: parts.slice(1) };
}

async function render() {
  const seq = ++renderSeq;
  let { view, args } = route();
  if (!user && view !== "setup") view = "login";
  if (user && view === "login") { location.hash = "#/store"; return; }
  cleanup?.();
  cleanup = null;
  for (const d of document.querySelectorAll("dialog[open]")) d.close();
  document.getElementById("top").hidden = !user;
  for (const a of document.querySelectorAll("[data-nav]")) {
    const active = a.dataset.nav === view || (view === "app" && a.dataset.nav === "apps");
    if (active) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  try {
    const mod = await views[view]();
    if (seq !== renderSeq) return;
    main.replaceChildren();
    const ctx = { user, args, view, onLogin, navigate };
    cleanup = (await mod.render(main, ctx)) || null;
    document.title = (main.querySelector("h1")?.textContent || "") + " · StackHub";
  } catch (err) {
    if (seq !== renderSeq) return;
    fill(main, errorBox(err, render));
  }
}

function navigate(hash) {
  if (location.hash === hash) render(); else location.hash = hash;
}

// gateNext is where the proxy's login gate wants the browser to go back
// to once logged in: only the gate's own route, never another address.
function gateNext() {
  const next = new URLSearchParams(location.search).get("next") || "";
  return next.startsWith("/api/v1/gate?") ? next : "";
}

async function onLogin(login) {
  setCSRF(login.csrfToken);
  if (gateNext()) { location.assign(gateNext()); return; }
  await loadUser();
  if (location.pathname === "/setup") history.replaceState(null, "", "/#/store");
  if (!location.hash || location.hash === "#/login") location.hash = "#/store";
  else render();
}

async function loadUser() {
  // Without a CSRF token this browser holds no session: skip asking.
  if (!localStorage.getItem("stackhub.csrf")) {
    user = null;
    i18n.translate();
    return;
  }
  try {
    user = await api.me();
  } catch (err) {
    if (err.status !== 401) throw err;
    user = null;
  }
  if (user) {
    const l = i18n.pick(user.language);
    if (l !== i18n.current()) await i18n.use(l);
    document.getElementById("who").textContent = user.username;
    document.getElementById("nav-admin").hidden = user.role !== "admin";
    document.getElementById("lang-select").value = i18n.current();
  }
  i18n.translate();
}

async function setLanguage(l) {
  await i18n.use(l);
  i18n.translate();
  document.getElementById("lang-select").value = l;
  if (user) api.setMyLanguage(l).catch(() => { /* kept in this browser anyway */ });
  render();
}

/** connection shows the lost-connection banner while reads retry. */
function connection(ev) {
  const banner = document.getElementById("conn");
  if (ev.detail.online) {
    banner.hidden = true;
    return;
  }
  banner.textContent = t("error.offline", { seconds: Math.round(ev.detail.retryIn / 1000) });
  banner.hidden = false;
}

async function boot() {
  await i18n.use(i18n.pick());
  events.addEventListener("connection", connection);
  events.addEventListener("unauthenticated", () => {
    if (!user) return;
    user = null;
    setCSRF("");
    sessionStorage.setItem("stackhub.expired", "1");
    render();
  });
  document.getElementById("lang-select").addEventListener("change", (e) => setLanguage(e.target.value));
  document.getElementById("logout").addEventListener("click", async () => {
    try { await api.logout(); } catch { /* the session may be gone already */ }
    user = null;
    setCSRF("");
    location.hash = "#/login";
    render();
  });
  document.getElementById("skip-link").addEventListener("click", (e) => { e.preventDefault(); main.focus(); });
  window.addEventListener("hashchange", render);
  window.addEventListener("language", (e) => setLanguage(e.detail));
  try {
    await loadUser();
  } catch (err) {
    fill(main, errorBox(err, () => location.reload()));
    return;
  }
  // Logged in already (a strict session cookie does not travel with a
  // redirect from another site): back to the gate from here.
  if (user && gateNext()) { location.assign(gateNext()); return; }
  render();
}

boot().catch((err) => {
  fill(main, h("div", { class: "alert bad", role: "alert", text: String(err) }));
});

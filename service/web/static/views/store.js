// The app store: the catalog as a grid (search as you type, category
// filter, more pages loaded as the user scrolls), and one app's details
// with its install button.

import { api } from "../js/api.js";
import { t, has, localized, bytes, number } from "../js/i18n.js";
import { h, errorBox, appIcon, put, fill } from "../js/dom.js";
import { openInstall } from "./install.js";

const PER_PAGE = 48;

/** <sh-app-card> is one catalog entry in the grid. */
class AppCard extends HTMLElement {
  set app(a) {
    const title = localized(a.titles, a.title || a.name);
    const desc = localized(a.descriptions, a.description);
    fill(this, h("a", { class: "card", href: "#/store/" + encodeURIComponent(a.name), "aria-label": title },
      appIcon(a.name, a.icon),
      h("div", { class: "body" },
        h("span", { class: "title", text: title }),
        h("span", { class: "desc", text: desc || t("store.noDescription") }),
        h("span", { class: "meta" },
          a.category && h("span", { class: "chip", text: categoryName(a.category) }),
          a.version && h("span", { text: "v" + a.version })))));
  }
}
customElements.define("sh-app-card", AppCard);

function categoryName(c) {
  return has("category." + c) ? t("category." + c) : c;
}

/** matches filters a catalog entry on the client (catalogs without server search). */
export function matches(a, q, category) {
  if (category && a.category !== category) return false;
  if (!q) return true;
  const hay = [a.name, a.title, a.description, a.category, ...(a.keywords || []),
    ...Object.values(a.titles || {}), ...Object.values(a.descriptions || {})].join(" ").toLowerCase();
  return q.toLowerCase().split(/\s+/).every((w) => hay.includes(w));
}

export async function render(main, ctx) {
  if (ctx.args[0]) return details(main, ctx, ctx.args[0]);
  return grid(main, ctx);
}

async function grid(main, ctx) {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  let q = params.get("q") || "", category = params.get("category") || "", page = 1;
  let all = null; // the whole catalog, when the API does not page
  let loading = false, more = false;
  const search = h("input", { type: "search", id: "store-search", value: q, placeholder: t("store.searchPlaceholder"),
    "aria-label": t("store.search"), autocomplete: "off", enterkeyhint: "search" });
  const chips = h("div", { class: "chips", role: "group", "aria-label": t("store.categories") });
  const count = h("p", { class: "muted", "aria-live": "polite", id: "store-count" });
  const list = h("div", { class: "grid", id: "store-grid" });
  const moreBtn = h("button", { type: "button", class: "btn", hidden: true }, t("store.more"));
  const errBox = h("div");
  put(main, 
    h("div", { class: "page-head" }, h("div", {}, h("h1", { text: t("store.title") }), h("p", { text: t("store.subtitle") }))),
    h("div", { class: "toolbar", role: "search" }, search),
    chips, count, errBox, list, h("div", { class: "pager" }, moreBtn));

  const drawChips = (cats) => {
    const mk = (name, label, n) => {
      const b = h("button", { type: "button", class: "btn small", "aria-pressed": String(category === name) },
        label, n !== undefined ? h("span", { class: "muted small", text: " " + number(n) }) : null);
      b.addEventListener("click", () => { category = name; load(true); });
      return b;
    };
    fill(chips, mk("", t("store.allCategories")), ...cats.map((c) => mk(c.name, categoryName(c.name), c.count)));
  };

  const load = async (reset) => {
    if (reset) { page = 1; list.replaceChildren(); }
    loading = true;
    errBox.replaceChildren();
    const state = new URLSearchParams();
    if (q) state.set("q", q);
    if (category) state.set("category", category);
    history.replaceState(null, "", "#/store" + (state.size ? "?" + state : ""));
    try {
      let apps, total, cats;
      if (all) {
        ({ apps, total, cats } = local());
      } else {
        const res = await api.apps({ q, category, page, per_page: PER_PAGE });
        if (res.total === undefined) {
          all = res.apps || [];
          ({ apps, total, cats } = local());
        } else {
          apps = res.apps || [];
          total = res.total;
          cats = res.categories || [];
        }
      }
      drawChips(cats);
      put(list, ...apps.map((a) => { const c = document.createElement("sh-app-card"); c.app = a; return c; }));
      more = list.children.length < total;
      moreBtn.hidden = !more;
      count.textContent = total ? t("store.count", { n: number(total) }) : "";
      if (!total) fill(list, h("p", { class: "empty", text: q || category ? t("store.noMatch") : t("store.empty") }));
    } catch (err) {
      fill(errBox, errorBox(err, () => load(true)));
    } finally {
      loading = false;
    }
  };

  const local = () => {
    const counts = new Map();
    for (const a of all) if (a.category) counts.set(a.category, (counts.get(a.category) || 0) + 1);
    const found = all.filter((a) => matches(a, q, category));
    return {
      apps: found.slice((page - 1) * PER_PAGE, page * PER_PAGE),
      total: found.length,
      cats: [...counts].sort((a, b) => a[0].localeCompare(b[0])).map(([name, count]) => ({ name, count })),
    };
  };

  let timer = 0;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { q = search.value.trim(); load(true); }, 150);
  });
  search.addEventListener("keydown", (e) => { if (e.key === "Enter") { clearTimeout(timer); q = search.value.trim(); load(true); } });
  moreBtn.addEventListener("click", () => { page++; load(false); });
  const io = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && more && !loading) { page++; load(false); }
  }, { rootMargin: "400px" });
  io.observe(moreBtn);
  await load(true);
  // For make bench: when the first page of the grid is there to use.
  performance.mark("stackhub:store-ready");
  if (!q) search.focus({ preventScroll: true });
  return () => { io.disconnect(); clearTimeout(timer); };
}

async function details(main, ctx, name) {
  let app;
  try {
    app = await api.app(name);
  } catch (err) {
    if (err.status !== 404 && err.status !== 405) throw err;
    // Catalogs without GET /apps/{name}: take the entry from the list.
    const res = await api.apps({ q: name });
    app = (res.apps || []).find((a) => a.name === name);
    if (!app) throw err;
  }
  const title = localized(app.titles, app.title || app.name);
  const desc = localized(app.descriptions, app.description);
  const canInstall = ctx.user.role === "admin" || ctx.user.role === "operator";
  const installBtn = h("button", { type: "button", class: "btn primary", id: "install-open" }, t("store.install"));
  installBtn.addEventListener("click", async () => {
    let taken = [];
    try { taken = (await api.installations()).installations.map((i) => i.name); } catch { /* the API checks again */ }
    openInstall(app, { taken, onDone: () => ctx.navigate("#/apps"), isAdmin: ctx.user.role === "admin" });
  });
  const req = app.requirements || {};
  const facts = [
    [t("app.version"), app.version + (app.appVersion ? " (" + t("app.appVersion", { v: app.appVersion }) + ")" : "")],
    app.category && [t("app.category"), categoryName(app.category)],
    req.cpu && [t("app.cpu"), String(req.cpu)],
    req.memoryMB && [t("app.memory"), bytes(req.memoryMB * 1024 * 1024)],
    req.diskMB && [t("app.disk"), bytes(req.diskMB * 1024 * 1024)],
    app.architectures?.length && [t("app.architectures"), app.architectures.join(", ")],
  ].filter(Boolean);
  const ports = app.ports || [];
  put(main, 
    h("p", {}, h("a", { href: "#/store", text: "← " + t("store.back") })),
    h("div", { class: "panel" },
      h("div", { class: "row", style: "align-items:flex-start;gap:1rem" },
        appIcon(app.name, app.icon, true),
        h("div", { style: "flex:1;min-width:12rem" },
          h("h1", { text: title }),
          h("p", { class: "muted", text: desc }),
          h("div", { class: "row" }, canInstall ? installBtn : h("span", { class: "muted", text: t("store.needOperator") }),
            app.homepage && h("a", { class: "btn", href: app.homepage, target: "_blank", rel: "noopener noreferrer" }, t("app.homepage")))))),
    h("div", { class: "panel" },
      h("h2", { text: t("app.facts") }),
      h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]))),
    app.permissions && permissionsPanel(app.permissions),
    h("div", { class: "panel" },
      h("h2", { text: t("app.ports") }),
      ports.length ? h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, [t("app.portName"), t("app.service"), t("app.target"), t("app.protocol")].map((c) => h("th", { scope: "col", text: c })))),
        h("tbody", {}, ports.map((p) => h("tr", {}, h("td", { text: p.name }), h("td", { text: p.service || "" }),
          h("td", { text: p.target ? String(p.target) : "" }), h("td", { text: p.protocol || "tcp" }))))))
        : h("p", { class: "muted", text: t("app.noPorts") }),
      h("p", { class: "muted small", text: t("app.portsNote") })),
    app.readme && h("div", { class: "panel" }, h("h2", { text: t("app.readme") }), h("pre", { class: "mono", style: "white-space:pre-wrap", text: app.readme })),
  );
  installBtn.focus({ preventScroll: true });
}

/** permissionsPanel says what the bundle asks of the host (API: permissions). */
function permissionsPanel(p) {
  const list = (xs) => xs.join(", ");
  const lines = [];
  if (p.privileged?.length) lines.push(t("perm.privileged", { list: list(p.privileged) }));
  if (p.hostNamespaces?.length) lines.push(t("perm.hostNamespaces", { list: list(p.hostNamespaces) }));
  if (p.hostPaths?.length) {
    lines.push(t("perm.hostPaths", { list: list(p.hostPaths.map((m) => m.source + " → " + m.service + ":" + m.target + (m.readOnly ? " (ro)" : ""))) }));
  }
  if (p.devices?.length) lines.push(t("perm.devices", { list: list(p.devices) }));
  if (p.capabilities?.length) lines.push(t("perm.capabilities", { list: list(p.capabilities) }));
  const needsAdmin = (p.privilegedRequests || []).length > 0;
  return h("div", { class: "panel", id: "app-permissions" },
    h("h2", { text: t("app.permissions") }),
    h("ul", {},
      lines.length ? lines.map((l) => h("li", { text: l })) : h("li", { text: t("perm.none") }),
      p.dockerSocket ? h("li", { class: "muted", text: t("perm.dockerSocket") }) : null),
    needsAdmin ? h("p", { class: "alert warn", role: "note", text: t("perm.needsAdmin") }) : null,
    p.incomplete ? h("p", { class: "muted small", text: t("perm.incomplete", { why: p.incomplete }) }) : null);
}

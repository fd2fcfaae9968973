// Administration: users (add, change role, remove), API tokens (create,
// shown once; list; revoke), settings, and the audit log.

import { api } from "../js/api.js";
import { t, date, relative, number } from "../js/i18n.js";
import { h, errorBox, toast, copyButton, dialog, put, fill } from "../js/dom.js";

const ROLES = ["admin", "operator", "viewer"];
const TABS = ["users", "tokens", "settings", "audit"];

export async function render(main, ctx) {
  const tab = TABS.includes(ctx.args[0]) ? ctx.args[0] : "users";
  const body = h("div", { id: "admin-" + tab });
  put(main, 
    h("div", { class: "page-head" }, h("div", {}, h("h1", { text: t("admin.title") }), h("p", { text: t("admin.subtitle") }))),
    h("nav", { class: "chips", "aria-label": t("admin.sections"), style: "margin-bottom:1rem" },
      TABS.map((k) => h("a", { class: "btn small", href: "#/admin/" + k, "aria-current": k === tab ? "page" : undefined,
        style: k === tab ? "background:var(--primary);color:var(--primary-text);border-color:var(--primary)" : undefined }, t("admin.tab." + k)))),
    body);
  await ({ users, tokens, settings, audit })[tab](body, ctx);
}

function table(cols, rows) {
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col", text: c })))),
    h("tbody", {}, rows)));
}

async function users(body, ctx) {
  const draw = async () => {
    let list;
    try { list = (await api.users()).users; } catch (err) { fill(body, errorBox(err, draw)); return; }
    const msg = h("div", { "aria-live": "polite" });
    const rows = list.map((u) => {
      const self = u.username === ctx.user.username || u.username === "admin";
      const role = h("select", { "aria-label": t("admin.roleOf", { name: u.username }), disabled: self },
        ROLES.map((r) => h("option", { value: r, selected: r === u.role, text: t("role." + r) })));
      role.addEventListener("change", async () => {
        try { await api.setRole(u.username, role.value); toast(t("admin.roleSet", { name: u.username, role: t("role." + role.value) })); }
        catch (err) { fill(msg, errorBox(err)); role.value = u.role; }
      });
      const del = h("button", { type: "button", class: "btn small danger", disabled: self, "aria-label": t("admin.removeWhat", { name: u.username }) }, t("admin.remove"));
      del.addEventListener("click", () => confirmRemove(u.username, async () => { await api.deleteUser(u.username); draw(); }));
      return h("tr", {}, h("td", { text: u.username }), h("td", {}, role), h("td", { text: u.created ? date(u.created) : "" }), h("td", {}, del));
    });
    const name = h("input", { id: "new-user", required: true, autocomplete: "off" });
    const pass = h("input", { id: "new-pass", type: "password", required: true, autocomplete: "new-password", minlength: 12 });
    const role = h("select", { id: "new-role" }, ROLES.map((r) => h("option", { value: r, selected: r === "viewer", text: t("role." + r) })));
    const add = h("form", { class: "panel", novalidate: true },
      h("h2", { text: t("admin.addUser") }),
      h("div", { class: "row", style: "align-items:flex-end" },
        h("div", { class: "field" }, h("label", { for: "new-user", text: t("auth.username") }), name),
        h("div", { class: "field" }, h("label", { for: "new-pass", text: t("auth.password") }), pass),
        h("div", { class: "field" }, h("label", { for: "new-role", text: t("admin.role") }), role),
        h("div", { class: "field" }, h("button", { type: "submit", class: "btn primary", id: "user-add" }, t("admin.add")))),
      h("p", { class: "muted small", text: t("admin.passwordRule") }));
    add.addEventListener("submit", async (e) => {
      e.preventDefault();
      try { await api.createUser(name.value.trim(), pass.value, role.value); toast(t("admin.userAdded", { name: name.value })); draw(); }
      catch (err) { fill(msg, errorBox(err)); }
    });
    fill(body, h("div", { class: "panel" }, table([t("auth.username"), t("admin.role"), t("admin.created"), ""], rows)), msg, add);
  };
  await draw();
}

function confirmRemove(what, fn) {
  const msg = h("div");
  const go = h("button", { type: "button", class: "btn danger" }, t("admin.remove"));
  const cancel = h("button", { type: "button", class: "btn" }, t("action.cancel"));
  const d = dialog(t("admin.confirmRemove", { name: what }), { body: [h("p", { text: t("admin.confirmRemoveText", { name: what }) }), msg], foot: [cancel, go] });
  cancel.addEventListener("click", () => d.close());
  go.addEventListener("click", async () => {
    try { await fn(); d.close(); } catch (err) { fill(msg, errorBox(err)); }
  });
  cancel.focus();
}

async function tokens(body) {
  const draw = async (created) => {
    let list;
    try { list = (await api.tokens()).tokens; } catch (err) { fill(body, errorBox(err, () => draw())); return; }
    const msg = h("div", { "aria-live": "polite" });
    const rows = list.map((k) => {
      const del = h("button", { type: "button", class: "btn small danger", "aria-label": t("admin.revokeWhat", { name: k.name || k.id }) }, t("admin.revoke"));
      del.addEventListener("click", () => confirmRemove(k.name || k.id, async () => { await api.revokeToken(k.id); draw(); }));
      return h("tr", {}, h("td", { text: k.name || "—" }), h("td", { text: k.user }), h("td", { text: date(k.created) }),
        h("td", { text: k.lastUsed ? relative(k.lastUsed) : t("admin.never") }), h("td", {}, del));
    });
    const name = h("input", { id: "token-name", autocomplete: "off", pattern: "[A-Za-z0-9_.-]{1,64}" });
    const add = h("form", { class: "panel", novalidate: true }, h("h2", { text: t("admin.newToken") }),
      h("div", { class: "row", style: "align-items:flex-end" },
        h("div", { class: "field" }, h("label", { for: "token-name", text: t("admin.tokenName") }), name),
        h("div", { class: "field" }, h("button", { type: "submit", class: "btn primary", id: "token-create" }, t("admin.create")))));
    add.addEventListener("submit", async (e) => {
      e.preventDefault();
      try { draw(await api.createToken(name.value.trim())); } catch (err) { fill(msg, errorBox(err)); }
    });
    fill(body, 
      created ? h("div", { class: "panel", id: "new-token" }, h("h2", { text: t("admin.tokenCreated") }),
        h("div", { class: "alert warn", text: t("admin.tokenOnce") }),
        h("div", { class: "secret" }, h("code", { text: created.token }), copyButton(created.token, created.name))) : null,
      h("div", { class: "panel" }, list.length
        ? table([t("admin.tokenName"), t("admin.user"), t("admin.created"), t("admin.lastUsed"), ""], rows)
        : h("p", { class: "muted", text: t("admin.noTokens") })),
      msg, add);
  };
  await draw();
}

async function settings(body) {
  let s;
  try { s = await api.settings(); } catch (err) { fill(body, errorBox(err)); return; }
  const reg = h("select", { id: "set-registration" }, ["closed", "open"].map((v) => h("option", { value: v, selected: s.registration === v, text: t("admin.registration." + v) })));
  const lang = h("select", { id: "set-language" }, ["", "en", "zh"].map((v) => h("option", { value: v, selected: (s.defaultLanguage || "") === v, text: v ? t("lang." + v) : t("admin.browserLanguage") })));
  const msg = h("div", { "aria-live": "polite" });
  const f = h("form", { class: "panel" },
    h("div", { class: "field" }, h("label", { for: "set-registration", text: t("admin.registration") }), reg, h("span", { class: "help", text: t("admin.registrationHelp") })),
    h("div", { class: "field" }, h("label", { for: "set-language", text: t("admin.defaultLanguage") }), lang, h("span", { class: "help", text: t("admin.defaultLanguageHelp") })),
    h("div", { class: "field" }, h("span", { class: "label", text: t("admin.portRange") }),
      h("span", { class: "mono", id: "port-range", text: s.portMin ? number(s.portMin, { useGrouping: false }) + " – " + number(s.portMax, { useGrouping: false }) : "—" }),
      h("span", { class: "help", text: t("admin.portRangeHelp") })),
    msg, h("button", { type: "submit", class: "btn primary", id: "settings-save" }, t("action.save")));
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    try { await api.saveSettings({ registration: reg.value, defaultLanguage: lang.value }); toast(t("admin.saved")); msg.replaceChildren(); }
    catch (err) { fill(msg, errorBox(err)); }
  });
  fill(body, f);
}

async function audit(body) {
  let list;
  try { list = (await api.audit(200)).entries || []; } catch (err) { fill(body, errorBox(err)); return; }
  fill(body, h("div", { class: "panel" }, list.length
    ? table([t("admin.when"), t("admin.user"), t("admin.action"), t("admin.target"), "IP"],
      list.map((e) => h("tr", {}, h("td", { title: date(e.time), text: relative(e.time) }), h("td", { text: e.user }),
        h("td", { text: e.action }), h("td", { class: "mono", text: e.target }), h("td", { class: "mono", text: e.ip || "" }))))
    : h("p", { class: "muted", text: t("admin.noAudit") })));
}

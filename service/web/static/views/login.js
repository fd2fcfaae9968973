// Login, and the first-run setup that the one-time link in the service's
// log opens (/setup?token=...).

import { api } from "../js/api.js";
import { t, current, LANGUAGES } from "../js/i18n.js";
import { h, errorBox, put } from "../js/dom.js";

function langPicker() {
  const sel = h("select", { id: "auth-lang", "aria-label": t("lang.label") },
    LANGUAGES.map((l) => h("option", { value: l, selected: l === current(), text: l === "zh" ? "中文" : "English" })));
  sel.addEventListener("change", () => window.dispatchEvent(new CustomEvent("language", { detail: sel.value })));
  return h("div", { class: "lang" }, sel);
}

function brand() {
  return h("div", { class: "brand" }, h("img", { src: "/ui/img/logo.svg", alt: "", width: 36, height: 36 }), h("span", { text: "StackHub" }));
}

export async function render(main, ctx) {
  return ctx.view === "setup" ? setup(main, ctx) : login(main, ctx);
}

function login(main, ctx) {
  const msg = h("div", { "aria-live": "polite" });
  if (sessionStorage.getItem("stackhub.expired")) {
    sessionStorage.removeItem("stackhub.expired");
    put(msg, h("div", { class: "alert info", role: "status", text: t("auth.expired") }));
  }
  const user = h("input", { id: "login-user", name: "username", autocomplete: "username", required: true, value: "admin" });
  const pass = h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "btn primary", id: "login-submit" }, t("auth.login"));
  const form = h("form", { class: "panel", novalidate: true },
    h("h1", { text: t("auth.title") }),
    h("p", { class: "muted", text: t("auth.intro") }),
    h("div", { class: "field" }, h("label", { for: "login-user", text: t("auth.username") }), user),
    h("div", { class: "field" }, h("label", { for: "login-password", text: t("auth.password") }), pass),
    msg, submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.replaceChildren();
    if (!user.value || !pass.value) {
      put(msg, h("div", { class: "alert bad", role: "alert", text: t("auth.missing") }));
      (user.value ? pass : user).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = t("auth.loggingIn");
    try {
      const res = await api.login(user.value.trim(), pass.value);
      await ctx.onLogin(res);
    } catch (err) {
      put(msg, errorBox(err));
      pass.select();
      pass.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = t("auth.login");
    }
  });
  put(main, h("div", { class: "auth" }, brand(), form, langPicker()));
  (user.value ? pass : user).focus();
}

function setup(main, ctx) {
  const token = new URLSearchParams(location.search).get("token") || "";
  const msg = h("div", { "aria-live": "polite" });
  const pass = h("input", { id: "setup-password", type: "password", autocomplete: "new-password", minlength: 10, required: true, "aria-describedby": "setup-help" });
  const again = h("input", { id: "setup-again", type: "password", autocomplete: "new-password", minlength: 10, required: true });
  const submit = h("button", { type: "submit", class: "btn primary", id: "setup-submit" }, t("setup.submit"));
  const form = h("form", { class: "panel", novalidate: true },
    h("h1", { text: t("setup.title") }),
    h("p", { class: "muted", text: t("setup.intro") }),
    !token && h("div", { class: "alert warn", role: "alert" }, h("strong", { text: t("setup.noToken") }), h("div", { class: "hint", text: t("setup.noTokenHint") })),
    h("div", { class: "field" }, h("label", { text: t("auth.username") }), h("input", { value: "admin", readonly: true, "aria-readonly": "true", "aria-label": t("auth.username") })),
    h("div", { class: "field" }, h("label", { for: "setup-password", text: t("setup.password") }), pass,
      h("span", { class: "help", id: "setup-help", text: t("setup.passwordHelp") })),
    h("div", { class: "field" }, h("label", { for: "setup-again", text: t("setup.again") }), again),
    msg, submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.replaceChildren();
    const bad = (text, field) => {
      put(msg, h("div", { class: "alert bad", role: "alert", text }));
      field.setAttribute("aria-invalid", "true");
      field.focus();
    };
    if (pass.value.length < 10) return bad(t("setup.short"), pass);
    if (pass.value !== again.value) return bad(t("setup.differ"), again);
    submit.disabled = true;
    try {
      await api.setup(token, pass.value);
      const res = await api.login("admin", pass.value);
      await ctx.onLogin(res);
    } catch (err) {
      put(msg, errorBox(err));
      submit.disabled = false;
    }
  });
  put(main, h("div", { class: "auth" }, brand(), form, langPicker()));
  pass.focus();
}

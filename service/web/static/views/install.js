// The install dialog: a form made from the bundle's parameters, then the
// job's live progress, then the app's address and credentials (shown once)
// or the reason it failed.

import { api } from "../js/api.js";
import { t, localized, percent, reason } from "../js/i18n.js";
import { h, dialog, errorBox, copyButton, put, fill } from "../js/dom.js";
import * as form from "../js/form.js";
import { watchJob } from "../js/live.js";

let uid = 0;

/**
 * paramFields renders inputs for form fields; it returns the elements and
 * read() → values, showErrors(errs) → first bad input.
 */
export function paramFields(list, values) {
  const inputs = {};
  const errs = {};
  const els = list.map((f) => {
    const id = "p-" + (++uid) + "-" + f.name;
    const help = localized(f.descriptions, f.description) || (f.generated ? t("install.generatedHelp") : "");
    const err = h("span", { class: "err", id: id + "-err" });
    errs[f.name] = err;
    const described = [help && id + "-help", id + "-err"].filter(Boolean).join(" ");
    let input;
    if (f.input === "checkbox") {
      input = h("input", { type: "checkbox", id, name: f.name, checked: !!values[f.name], "aria-describedby": described });
      inputs[f.name] = input;
      return h("div", { class: "field" },
        h("div", { class: "field check" }, input, h("label", { for: id, text: f.label })),
        help && h("span", { class: "help", id: id + "-help", text: help }), err);
    }
    if (f.input === "select") {
      input = h("select", { id, name: f.name, "aria-describedby": described, required: f.required },
        !f.required && h("option", { value: "", text: t("install.default") }),
        f.enum.map((v) => h("option", { value: v, text: v, selected: values[f.name] === v })));
    } else {
      input = h("input", { id, name: f.name, type: f.input, value: values[f.name] ?? "", "aria-describedby": described,
        required: f.required, autocomplete: f.input === "password" ? "new-password" : "off",
        inputmode: f.input === "number" ? (f.type === "integer" ? "numeric" : "decimal") : undefined,
        placeholder: f.generated ? t("install.generatedPlaceholder") : undefined });
      if (f.input === "number") input.type = "text";
    }
    inputs[f.name] = input;
    const extra = [];
    if (f.sensitive) {
      const gen = h("button", { type: "button", class: "btn small", "aria-label": t("install.generateFor", { name: f.label }) }, t("install.generate"));
      gen.addEventListener("click", () => { input.value = form.generateSecret(24); input.type = "text"; show.textContent = t("install.hide"); });
      const show = h("button", { type: "button", class: "btn small", "aria-label": t("install.showFor", { name: f.label }) }, t("install.show"));
      show.addEventListener("click", () => {
        input.type = input.type === "password" ? "text" : "password";
        show.textContent = input.type === "password" ? t("install.show") : t("install.hide");
      });
      extra.push(gen, show);
    }
    return h("div", { class: "field" },
      h("label", { for: id }, f.label, f.required ? h("span", { class: "req", "aria-hidden": "true", text: " *" }) : null),
      extra.length ? h("div", { class: "row" }, input, extra) : input,
      help && h("span", { class: "help", id: id + "-help", text: help }), err);
  });
  const read = () => {
    const v = {};
    for (const f of list) v[f.name] = f.input === "checkbox" ? inputs[f.name].checked : inputs[f.name].value;
    return v;
  };
  const showErrors = (bad) => {
    let first = null;
    for (const f of list) {
      const e = bad[f.name];
      errs[f.name].textContent = e ? t(e[0], e[1]) : "";
      if (e) { inputs[f.name].setAttribute("aria-invalid", "true"); first ||= inputs[f.name]; }
      else inputs[f.name].removeAttribute("aria-invalid");
    }
    return first;
  };
  return { els, read, showErrors };
}

/** openInstall shows the install dialog for a catalog app. */
export function openInstall(app, { taken = [], onDone, isAdmin = false } = {}) {
  const title = localized(app.titles, app.title || app.name);
  const list = form.fields(app.parameters, "install");
  const pf = paramFields(list, form.initial(list));
  const nameInput = h("input", { id: "install-name", name: "name", value: app.name, required: true, autocomplete: "off",
    spellcheck: "false", "aria-describedby": "install-name-help install-name-err" });
  const nameErr = h("span", { class: "err", id: "install-name-err" });
  const msg = h("div", { "aria-live": "assertive" });
  // A bundle that asks for privileged access installs only with an
  // admin's explicit consent (the API's "allow").
  const privileged = (app.permissions?.privilegedRequests || []).length > 0;
  const allowInput = h("input", { type: "checkbox", id: "install-allow", name: "allow", required: true });
  const submit = h("button", { type: "submit", class: "btn primary", id: "install-submit", form: "install-form" }, t("install.submit"));
  const cancel = h("button", { type: "button", class: "btn" }, t("action.cancel"));
  const f = h("form", { id: "install-form", novalidate: true },
    h("p", { class: "muted", text: t("install.intro", { app: title, version: app.version }) }),
    h("div", { class: "field" },
      h("label", { for: "install-name" }, t("install.name"), h("span", { class: "req", "aria-hidden": "true", text: " *" })),
      nameInput,
      h("span", { class: "help", id: "install-name-help", text: t("install.nameHelp") }), nameErr),
    list.length ? h("fieldset", {}, h("legend", { text: t("install.parameters") }), pf.els) : null,
    privileged && (isAdmin
      ? h("div", { class: "field check" }, allowInput, h("label", { for: "install-allow", text: t("install.allowPrivileged") }))
      : h("p", { class: "alert warn", role: "note", text: t("install.needsAdmin") })),
    msg);
  const d = dialog(t("install.title", { app: title }), { body: [f], foot: [cancel, submit] });
  cancel.addEventListener("click", () => d.close());
  if (privileged && !isAdmin) submit.disabled = true;
  if (taken.includes(app.name)) {
    nameErr.textContent = t("form.nameTaken", { name: app.name });
    nameInput.setAttribute("aria-invalid", "true");
  }
  nameInput.focus();
  nameInput.select();

  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.replaceChildren();
    const name = nameInput.value.trim();
    const nameBad = form.validateName(name, taken);
    nameErr.textContent = nameBad ? t(nameBad[0], nameBad[1]) : "";
    nameInput.toggleAttribute("aria-invalid", !!nameBad);
    const values = pf.read();
    const first = pf.showErrors(form.validate(list, values));
    if (nameBad || first) {
      (nameBad ? nameInput : first).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = t("install.starting");
    try {
      const req = { app: app.name, name, parameters: form.parameters(list, values) };
      if (privileged && allowInput.checked) req.allow = app.permissions.privilegedRequests;
      const inst = await api.install(req);
      progress(d, inst, title, onDone);
    } catch (err) {
      fill(msg, errorBox(err));
      submit.disabled = false;
      submit.textContent = t("install.submit");
      msg.querySelector("[role=alert]")?.focus?.();
    }
  });
}

/** progress replaces the dialog's content with the job's live progress. */
function progress(d, inst, title, onDone) {
  const body = d.querySelector(".dlg-body");
  const foot = d.querySelector(".dlg-foot");
  const bar = h("progress", { max: 100, value: 0, id: "install-progress", "aria-label": t("install.progress") });
  const status = h("p", { id: "install-status", role: "status", "aria-live": "polite", text: t("job.queued") });
  const steps = h("ol", { class: "steps", "aria-label": t("install.steps") });
  const log = h("pre", { class: "log short", id: "install-log", tabindex: "0", "aria-label": t("install.log") });
  const result = h("div", { id: "install-result" });
  const lines = [];
  const note = h("p", { class: "muted", text: t("install.background") });
  fill(body, note, status, bar, steps,
    h("details", {}, h("summary", { text: t("install.log") }), log), result);
  const close = h("button", { type: "button", class: "btn" }, t("action.close"));
  close.addEventListener("click", () => d.close());
  fill(foot, close);
  // Focus goes to the heading, not to Close: the Enter that submitted the
  // form may still be arriving, and it would close the dialog at once.
  const head = d.querySelector(".dlg-head h2");
  head.textContent = t("install.installing", { app: title });
  head.tabIndex = -1;
  head.focus();

  const stop = watchJob(inst.jobId, {
    onEvent(ev) {
      if (ev.progress) { bar.value = ev.progress; bar.textContent = percent(ev.progress); }
      if (ev.type === "step") {
        steps.querySelector(".current")?.classList.remove("current");
        steps.append(h("li", { class: "current", text: ev.step }));
        status.textContent = ev.step + " · " + percent(ev.progress || 0);
      } else if (ev.type === "status" && ev.status === "running" && !steps.children.length) {
        status.textContent = t("job.running");
      } else if (ev.type === "log") {
        lines.push(ev.line);
        if (lines.length > 300) lines.shift();
        log.textContent = lines.join("\n");
        log.scrollTop = log.scrollHeight;
      }
    },
    async onEnd(job, err) {
      steps.querySelector(".current")?.classList.remove("current");
      if (!job) { fill(result, errorBox(err)); return; }
      const heading = d.querySelector(".dlg-head h2");
      note.hidden = true;
      if (job.status === "succeeded") {
        bar.value = 100;
        status.hidden = true;
        heading.textContent = t("install.doneTitle", { app: title });
        await succeeded(result, inst.name, d);
      } else {
        status.hidden = true;
        bar.hidden = true;
        steps.classList.add("stopped");
        heading.textContent = t("install.failedHeading", { app: title });
        await failed(result, inst.name, job, lines);
      }
      const go = h("button", { type: "button", class: "btn primary", id: "install-myapps" }, t("install.toMyApps"));
      go.addEventListener("click", () => { d.close(); onDone?.(); });
      fill(foot, close, go);
      go.focus();
    },
  });
  d.addEventListener("close", stop);
}

/** appURLs returns the web addresses of an installation's published ports. */
export function appURLs(inst) {
  const ports = Object.entries(inst.ports || {});
  const web = ports.filter(([n]) => !/db|database|mysql|postgres|redis|smtp/i.test(n));
  return (web.length ? web : ports).map(([name, port]) => ({ name, url: `${location.protocol}//${location.hostname}:${port}/` }));
}

async function succeeded(result, name, d) {
  fill(result, h("div", { class: "alert ok", role: "status" }, h("strong", { text: t("install.success") })));
  try {
    const inst = await api.installation(name);
    const urls = appURLs(inst);
    if (urls.length) {
      put(result, h("h3", { text: t("install.openAt") }),
        h("ul", {}, urls.map((u) => h("li", {}, h("a", { href: u.url, target: "_blank", rel: "noopener", class: "app-url", text: u.url }), " ",
          h("span", { class: "muted small", text: "(" + u.name + ")" })))));
    }
    const outs = (await api.outputs(name, true)).outputs.filter((o) => o.sensitive && o.value);
    if (outs.length) {
      put(result, h("h3", { text: t("install.credentials") }),
        h("div", { class: "alert warn", text: t("install.shownOnce") }),
        outs.map((o) => h("div", { class: "field" }, h("span", { class: "label", text: o.name }),
          h("div", { class: "secret" }, h("code", { class: "credential", text: o.value }), copyButton(o.value, o.name)))));
    }
  } catch (err) {
    put(result, errorBox(err));
  }
  d.querySelector(".dlg-body").scrollTop = 0;
}

async function failed(result, name, job, lines) {
  const hintLine = lines.find((l) => /^\s*Hint: /.test(l));
  const why = reason(job.message) || t("install.failed");
  const box = h("div", { class: "alert bad", role: "alert", id: "install-error" },
    h("strong", { text: t("install.failedTitle") }),
    h("div", { text: why }),
    hintLine && h("div", { class: "hint", text: hintLine.trim().replace(/^Hint: /, "") }));
  fill(result, box);
  try {
    const inst = await api.installation(name);
    put(result, h("p", { class: "muted", text: t("install.leftFailed", { name: inst.name, status: t("status." + inst.status) }) }));
  } catch (err) {
    if (err.status === 404) put(result, h("p", { id: "install-clean", text: t("install.nothingLeft") }));
    else put(result, errorBox(err));
  }
}

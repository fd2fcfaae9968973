// One installation: status, ports, address, outputs (sensitive ones on
// request), its domains, start / stop / restart / upgrade / uninstall, its
// backups, and its logs.

import { api } from "../js/api.js";
import { t, date, relative, percent, bytes, reason } from "../js/i18n.js";
import { h, errorBox, dialog, toast, copyButton, letterIcon, put, fill } from "../js/dom.js";
import { poll, watchJob } from "../js/live.js";
import * as form from "../js/form.js";
import { appURLs, paramFields } from "./install.js";

const BUSY = ["installing", "upgrading", "uninstalling"];

export async function render(main, ctx) {
  const name = ctx.args[0];
  const canAct = ctx.user.role === "admin" || ctx.user.role === "operator";
  let inst = await api.installation(name);
  let stopJob = null;
  const head = h("div");
  const jobBox = h("div", { id: "job-box", "aria-live": "polite" });
  const overview = h("div", { role: "tabpanel", id: "tab-overview", "aria-labelledby": "tabbtn-overview" });
  const logs = h("div", { role: "tabpanel", id: "tab-logs", "aria-labelledby": "tabbtn-logs", hidden: true });
  const backups = h("div", { role: "tabpanel", id: "tab-backups", "aria-labelledby": "tabbtn-backups", hidden: true });
  const tabs = tabList([["overview", t("app.tabOverview"), overview], ["backups", t("app.tabBackups"), backups], ["logs", t("app.tabLogs"), logs]]);
  put(main, h("p", {}, h("a", { href: "#/apps", text: "← " + t("apps.title") })), head, jobBox, tabs, overview, backups, logs);

  const drawHead = () => {
    const busy = BUSY.includes(inst.status) || !!stopJob;
    const urls = inst.status === "running" ? appURLs(inst) : [];
    const act = (action, label, kind = "") => {
      const b = h("button", { type: "button", class: "btn " + kind, id: "act-" + action, disabled: busy || !canAct }, label);
      b.addEventListener("click", () => runAction(action));
      return b;
    };
    const upgrade = h("button", { type: "button", class: "btn", id: "act-upgrade", disabled: busy || !canAct }, t("app.upgrade"));
    upgrade.addEventListener("click", openUpgrade);
    const remove = h("button", { type: "button", class: "btn danger", id: "act-uninstall", disabled: busy || !canAct }, t("app.uninstall"));
    remove.addEventListener("click", openUninstall);
    fill(head, h("div", { class: "panel" },
      h("div", { class: "row", style: "gap:1rem;align-items:flex-start" },
        letterIcon(inst.app || inst.name, true),
        h("div", { style: "flex:1;min-width:12rem" },
          h("div", { class: "row" }, h("h1", { text: inst.name }), h("sh-status", { status: inst.status, id: "app-status" })),
          h("p", { class: "muted", text: t("apps.appVersion", { app: inst.app, version: inst.version || "?" }) + " · " +
            t("apps.created", { when: date(inst.created) }) + " · " + t("apps.updated", { when: relative(inst.modified) }) }),
          inst.reason && inst.status === "failed" ? h("div", { class: "alert bad", role: "alert", text: reason(inst.reason) }) : null,
          h("div", { class: "row" },
            urls.map((u, i) => h("a", { class: "btn primary", href: u.url, target: "_blank", rel: "noopener", id: i ? undefined : "app-open" },
              urls.length > 1 ? t("apps.open") + " (" + u.name + ")" : t("apps.open"))),
            inst.status === "stopped" ? act("start", t("app.start"), "primary") : act("stop", t("app.stop")),
            act("restart", t("app.restart")), upgrade, remove)))));
  };

  const drawOverview = async () => {
    const ports = Object.entries(inst.ports || {});
    const outBox = h("div", { id: "outputs" });
    const domBox = h("div", { id: "domains" });
    fill(overview, 
      h("div", { class: "panel" }, h("h2", { text: t("app.ports") }),
        ports.length ? h("dl", { class: "facts" }, ports.map(([n, p]) => [h("dt", { text: n }), h("dd", { class: "mono", text: String(p) })]))
          : h("p", { class: "muted", text: t("app.noPorts") }),
        h("h2", { text: t("app.details") }),
        h("dl", { class: "facts" },
          h("dt", { text: t("app.container") }), h("dd", { class: "mono", text: inst.containerName || "" }),
          h("dt", { text: t("app.version") }), h("dd", { text: inst.version || "" }),
          h("dt", { text: t("app.createdAt") }), h("dd", { text: date(inst.created) }),
          h("dt", { text: t("app.updatedAt") }), h("dd", { text: date(inst.modified) })),
        inst.target === "swarm" ? swarmServices(inst.swarm || []) : null),
      h("div", { class: "panel" }, h("h2", { text: t("app.outputs") }), outBox),
      h("div", { class: "panel" }, h("h2", { text: t("app.domains") }), domBox));
    await Promise.all([drawOutputs(outBox, false), drawDomains(domBox)]);
  };

  // The domains the reverse proxy routes to this app, and a form to add
  // one: the API picks the port (the bundle's web entry point) and the
  // certificate (Let's Encrypt for public names, the local CA for LAN ones)
  // unless the user chooses.
  const drawDomains = async (box, note = null) => {
    let mine;
    try {
      mine = ((await api.domains()).domains || []).filter((d) => d.installation === name);
    } catch (err) {
      fill(box, errorBox(err));
      return;
    }
    const rows = mine.map((d) => {
      const remove = h("button", { type: "button", class: "btn small danger", "data-remove": d.name,
        "aria-label": t("app.domainRemoveWhat", { domain: d.name }) }, t("app.domainRemove"));
      remove.addEventListener("click", async () => {
        const yes = h("button", { type: "button", class: "btn danger", id: "domain-remove-yes" }, t("app.domainRemove"));
        const no = h("button", { type: "button", class: "btn" }, t("action.cancel"));
        const dlg = dialog(t("app.domainRemoveTitle", { domain: d.name }), { body: [h("p", { text: t("app.domainRemoveIntro") })], foot: [no, yes] });
        no.addEventListener("click", () => dlg.close());
        yes.addEventListener("click", async () => {
          dlg.close();
          try {
            await api.removeDomain(d.name);
            toast(t("app.domainRemoved", { domain: d.name }));
            await drawDomains(box);
          } catch (err) { fill(box, errorBox(err)); }
        });
      });
      return h("li", { class: "domain", "data-domain": d.name },
        h("a", { class: "mono", href: d.url, target: "_blank", rel: "noopener", text: d.name }),
        h("span", { class: "muted", text: " → " + (d.service ? d.service + " · " : "") + d.port }),
        h("span", { class: "chip", text: t("app.tls." + d.tls) }),
        d.login ? h("span", { class: "chip", "data-login": "", text: t("app.domainLoginChip") }) : null,
        d.certificate ? h("span", { class: "muted cert", text: d.certificate }) : null,
        canAct ? remove : null);
    });
    const list = rows.length ? h("ul", { class: "domains", id: "domain-list" }, rows)
      : h("p", { class: "muted", text: t("app.noDomains") });
    if (!canAct) { fill(box, list); return; }
    const domain = h("input", { id: "domain-name", type: "text", autocomplete: "off", spellcheck: false,
      placeholder: "app.example.org", "aria-describedby": "domain-help", required: true });
    const ports = Object.keys(inst.ports || {});
    const port = h("select", { id: "domain-port" }, h("option", { value: "", text: t("app.domainPortAuto") }),
      ports.map((p) => h("option", { value: p, text: p })));
    const tls = h("select", { id: "domain-tls" }, ["", "acme", "self-signed", "custom"].map((v) =>
      h("option", { value: v, text: v ? t("app.tls." + v) : t("app.domainTLSAuto") })));
    const msg = h("div", { "aria-live": "polite" });
    const gate = h("input", { id: "domain-login", type: "checkbox", "aria-describedby": "domain-login-help" });
    const add = h("form", { id: "domain-form", novalidate: true },
      h("div", { class: "row", style: "align-items:flex-end" },
        h("div", { class: "field", style: "flex:2;min-width:12rem" }, h("label", { for: "domain-name", text: t("app.domainName") }), domain),
        ports.length > 1 ? h("div", { class: "field" }, h("label", { for: "domain-port", text: t("app.domainPort") }), port) : null,
        h("div", { class: "field" }, h("label", { for: "domain-tls", text: t("app.domainTLS") }), tls),
        h("div", { class: "field" }, h("span", { class: "row" }, gate, h("label", { for: "domain-login", text: t("app.domainLogin") })),
          h("span", { class: "help", id: "domain-login-help", text: t("app.domainLoginHelp") })),
        h("div", { class: "field" }, h("button", { type: "submit", class: "btn primary", id: "domain-add" }, t("app.domainAdd")))),
      h("p", { class: "help muted", id: "domain-help", text: t("app.domainHelp") }), msg);
    add.addEventListener("submit", async (e) => {
      e.preventDefault();
      const value = domain.value.trim().toLowerCase();
      if (!value) { fill(msg, h("div", { class: "alert bad", role: "alert", text: t("app.domainRequired") })); domain.focus(); return; }
      try {
        const d = await api.addDomain({ app: name, domain: value, port: port.value || undefined, tls: tls.value || undefined, login: gate.checked || undefined });
        toast(t("app.domainAdded", { domain: d.name }));
        const warn = (d.warnings || []).length
          ? h("div", { class: "alert warn", role: "status", id: "domain-warnings" }, (d.warnings || []).map((w) => h("div", { text: w }))) : null;
        await drawDomains(box, warn);
      } catch (err) { fill(msg, errorBox(err)); domain.focus(); }
    });
    fill(box, list, note, add);
  };

  const drawOutputs = async (box, reveal) => {
    try {
      const { outputs } = await api.outputs(name, reveal);
      if (!outputs.length) { fill(box, h("p", { class: "muted", text: t("app.noOutputs") })); return; }
      const hasSecret = outputs.some((o) => o.sensitive);
      const btn = h("button", { type: "button", class: "btn small", id: "reveal" }, reveal ? t("app.hideSecrets") : t("app.revealSecrets"));
      btn.addEventListener("click", () => drawOutputs(box, !reveal));
      fill(box, h("dl", { class: "facts" }, outputs.map((o) => [h("dt", { text: o.name }),
        h("dd", {}, o.sensitive && !o.revealed ? h("span", { class: "muted", text: "••••••••" })
          : h("span", { class: "secret" }, h("code", { text: o.value }), o.sensitive ? copyButton(o.value, o.name) : null))])),
      hasSecret && canAct ? h("p", {}, btn) : null);
    } catch (err) {
      fill(box, errorBox(err));
    }
  };

  const follow = (job, label, after) => {
    const bar = h("progress", { max: 100, value: job.progress || 0, "aria-label": label });
    const line = h("span", { text: label });
    fill(jobBox, h("div", { class: "panel" }, h("div", { class: "row" }, line), bar));
    stopJob = watchJob(job.id, {
      onEvent(ev) {
        if (ev.progress) bar.value = ev.progress;
        if (ev.type === "step") line.textContent = label + " — " + ev.step + " · " + percent(ev.progress || 0);
      },
      async onEnd(done, err) {
        stopJob = null;
        if (!done) { fill(jobBox, errorBox(err)); return; }
        if (done.status === "succeeded") jobBox.replaceChildren();
        else fill(jobBox, h("div", { class: "alert bad", role: "alert", id: "job-error" }, h("strong", { text: t("app.jobFailed", { what: label }) }), h("div", { text: done.message || "" })));
        if (after) { after(done); return; }
        // The page shows the new state before the toast says it is done.
        await refresh();
        if (done.status === "succeeded") toast(t("app.done." + done.action, { name }));
      },
    });
    drawHead();
  };

  const runAction = async (action) => {
    try {
      const job = await api.action(name, action);
      follow(job, t("app.doing." + action));
    } catch (err) {
      fill(jobBox, errorBox(err));
    }
  };

  const openUpgrade = async () => {
    let entry = null;
    try {
      entry = await api.app(inst.app);
    } catch {
      // Catalogs without GET /apps/{name}: the list has the version, no parameters.
      try { entry = ((await api.apps({ q: inst.app })).apps || []).find((a) => a.name === inst.app) || null; } catch { /* no catalog entry */ }
    }
    const list = form.fields(entry?.parameters || [], "upgrade").filter((f) => !f.generated);
    const pf = paramFields(list, {});
    const msg = h("div");
    const go = h("button", { type: "submit", class: "btn primary", form: "upgrade-form" }, t("app.upgrade"));
    const cancel = h("button", { type: "button", class: "btn" }, t("action.cancel"));
    const f = h("form", { id: "upgrade-form", novalidate: true },
      h("p", { text: t("app.upgradeVersions", { from: inst.version || "?", to: entry?.version || "?" }) }),
      list.length ? h("p", { class: "muted", text: t("app.upgradeIntro") }) : null,
      list.length ? h("fieldset", {}, h("legend", { text: t("install.parameters") }), pf.els) : null, msg);
    const d = dialog(t("app.upgradeTitle", { name }), { body: [f], foot: [cancel, go] });
    cancel.addEventListener("click", () => d.close());
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const values = pf.read();
      const first = pf.showErrors(form.validate(list.map((x) => ({ ...x, required: false })), values));
      if (first) { first.focus(); return; }
      const p = {};
      for (const x of list) {
        const v = values[x.name];
        if (x.input === "checkbox" ? v !== undefined : String(v).trim() !== "") p[x.name] = x.input === "checkbox" ? String(!!v) : String(v).trim();
      }
      go.disabled = true;
      try {
        const res = await api.upgrade(name, p);
        d.close();
        inst = res;
        follow({ id: res.jobId, progress: 0 }, t("app.doing.upgrade"));
      } catch (err) {
        fill(msg, errorBox(err));
        go.disabled = false;
      }
    });
    (f.querySelector("input,select") || go).focus();
  };

  const openUninstall = () => {
    const keep = h("input", { type: "radio", name: "data", id: "data-keep", value: "keep", checked: true });
    const del = h("input", { type: "radio", name: "data", id: "data-delete", value: "delete" });
    const confirmIn = h("input", { id: "confirm-name", autocomplete: "off", spellcheck: "false", "aria-describedby": "confirm-help" });
    const confirmBox = h("div", { class: "field", hidden: true },
      h("label", { for: "confirm-name", text: t("app.typeName", { name }) }), confirmIn,
      h("span", { class: "help", id: "confirm-help", text: t("app.typeNameHelp") }));
    const msg = h("div");
    const go = h("button", { type: "submit", class: "btn danger", id: "uninstall-confirm", form: "uninstall-form" }, t("app.uninstall"));
    const cancel = h("button", { type: "button", class: "btn" }, t("action.cancel"));
    const update = () => {
      confirmBox.hidden = !del.checked;
      go.disabled = del.checked && confirmIn.value.trim() !== name;
    };
    for (const el of [keep, del, confirmIn]) el.addEventListener("input", update);
    const f = h("form", { id: "uninstall-form" },
      h("p", { text: t("app.uninstallIntro", { name }) }),
      h("fieldset", {}, h("legend", { text: t("app.data") }),
        h("div", { class: "field check" }, keep, h("label", { for: "data-keep", text: t("app.keepData") })),
        h("div", { class: "field check" }, del, h("label", { for: "data-delete", text: t("app.deleteData") }))),
      confirmBox, msg);
    const d = dialog(t("app.uninstallTitle", { name }), { body: [f], foot: [cancel, go] });
    cancel.addEventListener("click", () => d.close());
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (del.checked && confirmIn.value.trim() !== name) { confirmIn.focus(); return; }
      go.disabled = true;
      try {
        const job = await api.uninstall(name, del.checked);
        d.close();
        follow(job, t("app.doing.uninstall"), (done) => {
          if (done.status === "succeeded") {
            toast(del.checked ? t("app.uninstalledPurged", { name }) : t("app.uninstalledKept", { name }));
            ctx.navigate("#/apps");
          } else refresh();
        });
      } catch (err) {
        fill(msg, errorBox(err));
        go.disabled = false;
      }
    });
    keep.focus();
    update();
  };

  // Backups: the list (newest first), "back up now", restore in place or
  // as a new app, and delete (admins). Each runs as a job shown above.
  const drawBackups = async () => {
    let list;
    try {
      list = (await api.backups(name)).backups || [];
    } catch (err) {
      fill(backups, h("div", { class: "panel" }, errorBox(err)));
      return;
    }
    const busy = BUSY.includes(inst.status) || !!stopJob;
    const now = h("button", { type: "button", class: "btn primary", id: "backup-now", disabled: busy || !canAct }, t("app.backupNow"));
    now.addEventListener("click", async () => {
      try {
        const job = await api.createBackup(name);
        follow(job, t("app.doing.backup"), async (done) => {
          await refresh();
          await drawBackups();
          if (done.status === "succeeded") toast(t("app.done.backup", { name }));
        });
      } catch (err) { fill(jobBox, errorBox(err)); }
    });
    const rows = list.map((b) => {
      const restore = h("button", { type: "button", class: "btn small", "data-restore": b.id, disabled: busy || !canAct,
        "aria-label": t("app.restoreWhat", { when: date(b.created) }) }, t("app.restore"));
      restore.addEventListener("click", () => openRestore(b));
      const del = ctx.user.role === "admin" ? h("button", { type: "button", class: "btn small danger", "data-delete": b.id,
        "aria-label": t("app.backupDeleteWhat", { when: date(b.created) }) }, t("app.backupDelete")) : null;
      del?.addEventListener("click", async () => {
        if (!window.confirm(t("app.backupDeleteConfirm", { when: date(b.created) }))) return;
        try { await api.deleteBackup(name, b.id); toast(t("app.backupDeleted")); await drawBackups(); } catch (err) { fill(jobBox, errorBox(err)); }
      });
      return h("tr", { "data-backup": b.id },
        h("td", {}, h("span", { text: date(b.created) }), h("div", { class: "muted", text: relative(b.created) })),
        h("td", { text: b.version || "" }),
        h("td", { class: "num", text: bytes(b.size || 0) }),
        h("td", { class: "num", text: bytes(b.added || 0) }),
        h("td", { text: b.quiesce ? t("app.quiesce." + b.quiesce) : "" }),
        h("td", { class: "actions" }, restore, del));
    });
    fill(backups, h("div", { class: "panel" },
      h("div", { class: "row", style: "justify-content:space-between" }, h("h2", { text: t("app.backups") }), now),
      h("p", { class: "muted", text: t("app.backupsIntro") }),
      rows.length ? h("div", { class: "table-wrap" }, h("table", { id: "backup-list" },
        h("thead", {}, h("tr", {}, [t("app.backupWhen"), t("app.version"), t("app.backupSize"), t("app.backupAdded"), t("app.backupHow"), ""].map((x) => h("th", { scope: "col", text: x })))),
        h("tbody", {}, rows)))
        : h("p", { class: "muted", id: "no-backups", text: t("app.noBackups") })),
      scheduleBox);
    drawSchedule();
  };

  // The backup schedule: the app's own or the server's default, the next
  // run and how the last scheduled run went; admins set, turn off or drop
  // the app's own.
  const scheduleBox = h("div", { class: "panel", id: "backup-schedule" });
  const drawSchedule = async () => {
    let s;
    try {
      s = await api.backupSchedule(name);
    } catch (err) {
      fill(scheduleBox, h("h2", { text: t("app.schedule") }), errorBox(err));
      return;
    }
    const keeps = [["keepLast", "app.keepLast"], ["keepDaily", "app.keepDaily"], ["keepWeekly", "app.keepWeekly"], ["keepMonthly", "app.keepMonthly"]];
    const kept = keeps.filter(([k]) => s[k] > 0).map(([k, label]) => t(label) + " " + s[k]).join(", ");
    const facts = [[t("app.scheduleSource"), t("app.scheduleSource." + s.source) + (s.cron ? " · " + s.cron : "")]];
    if (s.cron) facts.push([t("app.scheduleKeep"), kept || t("app.scheduleKeepAll")]);
    if (s.next) facts.push([t("app.scheduleNext"), date(s.next)]);
    facts.push([t("app.scheduleLast"), s.lastRun ? date(s.lastRun) + " · " + t("app.scheduleResult." + s.lastResult) : t("app.scheduleNever")]);
    const lastFailed = s.lastResult === "failed" && s.lastReason
      ? h("div", { class: "alert bad", role: "alert", id: "schedule-reason", text: t("app.scheduleFailed", { reason: s.lastReason }) }) : null;
    let edit = null;
    if (ctx.user.role === "admin") {
      const own = s.source === "installation";
      const cron = h("input", { type: "text", id: "schedule-cron", value: own ? s.cron : "", placeholder: "0 3 * * *", autocomplete: "off", spellcheck: false,
        "aria-describedby": "schedule-cron-help" });
      const inputs = keeps.map(([k, label]) => [k, label, h("input", { type: "number", min: 0, step: 1, id: "schedule-" + k, value: own && s[k] ? String(s[k]) : "", inputmode: "numeric" })]);
      const msg = h("div", { "aria-live": "polite" });
      const save = h("button", { type: "submit", class: "btn primary", id: "schedule-save" }, t("action.save"));
      const off = h("button", { type: "button", class: "btn", id: "schedule-off", disabled: s.source === "off" }, t("app.scheduleOff"));
      const dflt = h("button", { type: "button", class: "btn", id: "schedule-default", disabled: s.source !== "installation" && s.source !== "off" }, t("app.scheduleDefault"));
      const run = async (what, ok) => {
        try { await what(); toast(ok); await drawSchedule(); } catch (err) { fill(msg, errorBox(err)); }
      };
      edit = h("form", { id: "schedule-form", novalidate: true },
        h("div", { class: "field" }, h("label", { for: "schedule-cron", text: t("app.scheduleCron") }), cron,
          h("div", { class: "muted", id: "schedule-cron-help", text: t("app.scheduleCronHelp") })),
        h("div", { class: "row" }, inputs.map(([, label, input]) => h("div", { class: "field" }, h("label", { for: input.id, text: t(label) }), input))),
        msg, h("div", { class: "row" }, save, off, dflt));
      edit.addEventListener("submit", (e) => {
        e.preventDefault();
        const body = { cron: cron.value.trim() };
        if (!body.cron) { fill(msg, h("div", { class: "alert bad", role: "alert", text: t("app.scheduleCronRequired") })); cron.focus(); return; }
        for (const [k, , input] of inputs) {
          const v = input.value.trim();
          if (v === "") continue;
          if (!/^\d+$/.test(v)) { fill(msg, h("div", { class: "alert bad", role: "alert", text: t("form.min", { min: 0 }) })); input.focus(); return; }
          body[k] = Number(v);
        }
        run(() => api.setBackupSchedule(name, body), t("app.scheduleSaved"));
      });
      off.addEventListener("click", () => run(() => api.setBackupSchedule(name, { off: true }), t("app.scheduleSaved")));
      dflt.addEventListener("click", () => run(() => api.clearBackupSchedule(name), t("app.scheduleSaved")));
    }
    fill(scheduleBox, h("h2", { text: t("app.schedule") }),
      h("dl", { class: "facts", id: "schedule-facts" }, facts.map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])),
      lastFailed, edit);
  };

  const openRestore = (b) => {
    const inPlace = h("input", { type: "radio", name: "restore-mode", id: "restore-inplace", value: "inplace", checked: true });
    const asNew = h("input", { type: "radio", name: "restore-mode", id: "restore-asnew", value: "as" });
    const newName = h("input", { type: "text", id: "restore-name", value: name + "-restored", autocomplete: "off", spellcheck: false, disabled: true });
    const msg = h("div", { "aria-live": "polite" });
    const go = h("button", { type: "submit", class: "btn primary", form: "restore-form", id: "restore-go" }, t("app.restore"));
    const cancel = h("button", { type: "button", class: "btn" }, t("action.cancel"));
    const f = h("form", { id: "restore-form", novalidate: true },
      h("p", { text: t("app.restoreFrom", { when: date(b.created), version: b.version || "?" }) }),
      h("fieldset", {}, h("legend", { text: t("app.restoreHow") }),
        h("div", { class: "field check" }, inPlace, h("label", { for: "restore-inplace", text: t("app.restoreInPlace") })),
        h("div", { class: "field check" }, asNew, h("label", { for: "restore-asnew", text: t("app.restoreAsNew") })),
        h("div", { class: "field" }, h("label", { for: "restore-name", text: t("app.restoreName") }), newName)),
      msg);
    const sync = () => { newName.disabled = !asNew.checked; };
    inPlace.addEventListener("change", sync);
    asNew.addEventListener("change", sync);
    const d = dialog(t("app.restoreTitle", { name }), { body: [f], foot: [cancel, go] });
    cancel.addEventListener("click", () => d.close());
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const as = asNew.checked ? newName.value.trim() : "";
      if (asNew.checked && !as) { fill(msg, h("div", { class: "alert bad", role: "alert", text: t("app.restoreNameRequired") })); newName.focus(); return; }
      go.disabled = true;
      try {
        const job = await api.restoreBackup(name, b.id, as);
        d.close();
        follow(job, t("app.doing.restore"), async (done) => {
          await refresh();
          await drawBackups();
          if (done.status === "succeeded") toast(as ? t("app.done.restoreAs", { name: as }) : t("app.done.restore", { name }));
        });
      } catch (err) {
        fill(msg, errorBox(err));
        go.disabled = false;
      }
    });
  };
  backups.addEventListener("shown", drawBackups);

  const refresh = async () => {
    try {
      inst = await api.installation(name);
    } catch (err) {
      if (err.status === 404) { ctx.navigate("#/apps"); return; }
      throw err;
    }
    drawHead();
    if (!overview.hidden) await drawOverview();
  };

  drawHead();
  await drawOverview();
  drawLogs(logs, name, inst.app);
  if (BUSY.includes(inst.status) && inst.jobId) {
    follow({ id: inst.jobId, progress: 0 }, t("status." + inst.status));
  }
  const stopPoll = poll(async () => {
    if (stopJob) return;
    const next = await api.installation(name);
    if (next.status !== inst.status || next.modified !== inst.modified) { inst = next; drawHead(); }
  }, 5000);
  return () => { stopPoll(); stopJob?.(); logs.stop?.(); };
}

/** tabList builds an ARIA tab list (arrow keys move between tabs). */
/** swarmServices lists a swarm installation's services: replicas running
 * of wanted, the nodes they run on, and a rolling update in progress. */
export function swarmServices(list) {
  return [h("h2", { text: t("app.swarmServices") }),
    list.length ? h("div", { class: "table-wrap" }, h("table", { id: "swarm-services" },
      h("thead", {}, h("tr", {}, [t("app.swarmService"), t("app.swarmReplicas"), t("app.swarmNodes"), t("app.swarmData")].map((c) => h("th", { scope: "col", text: c })))),
      h("tbody", {}, list.map((s) => h("tr", { "data-service": s.service },
        h("td", {}, h("span", { class: "mono", text: s.service }), s.update ? h("div", { class: "muted small", text: s.update }) : null,
          s.problem ? h("div", { class: "small warn-text", role: "status", text: s.problem }) : null),
        h("td", { class: s.running < s.replicas ? "warn-text" : "", text: t("app.swarmRunning", { running: s.running, replicas: s.replicas }) }),
        h("td", { class: "mono", text: (s.nodes || []).join(", ") || "—" }),
        h("td", { class: "mono", title: s.dataNode ? t("app.swarmDataHelp") : undefined, text: s.dataNode || "—" }))))))
      : h("p", { class: "muted", text: t("app.swarmNone") })];
}

function tabList(items) {
  const buttons = items.map(([id, label, panel], i) => {
    const b = h("button", { type: "button", role: "tab", id: "tabbtn-" + id, "aria-controls": "tab-" + id,
      "aria-selected": String(i === 0), tabindex: i === 0 ? "0" : "-1" }, label);
    b.addEventListener("click", () => select(i));
    b.addEventListener("keydown", (e) => {
      if (e.key === "ArrowRight") select((i + 1) % items.length, true);
      if (e.key === "ArrowLeft") select((i - 1 + items.length) % items.length, true);
    });
    return b;
  });
  const select = (n, focus) => {
    items.forEach(([, , panel], i) => {
      panel.hidden = i !== n;
      buttons[i].setAttribute("aria-selected", String(i === n));
      buttons[i].tabIndex = i === n ? 0 : -1;
    });
    if (focus) buttons[n].focus();
    items[n][2].dispatchEvent(new Event("shown"));
  };
  return h("div", { role: "tablist", "aria-label": t("app.sections") }, buttons);
}

function drawLogs(panel, name, app) {
  const tail = h("select", { id: "log-tail" }, [100, 500, 2000, 0].map((n) => h("option", { value: n, text: n ? String(n) : t("app.logAll") })));
  const service = h("select", { id: "log-service" }, h("option", { value: "", text: t("app.logMain") }));
  // The services the catalog knows of (those that publish ports).
  api.apps({ q: app }).then((res) => {
    const entry = (res.apps || []).find((a) => a.name === app);
    const names = [...new Set((entry?.ports || []).map((p) => p.service).filter(Boolean))];
    for (const n of names) service.append(h("option", { value: n, text: n }));
  }).catch(() => { /* the main service's log still works */ });
  const followBox = h("input", { type: "checkbox", id: "log-follow" });
  const reload = h("button", { type: "button", class: "btn", id: "log-reload" }, t("app.logLoad"));
  const out = h("pre", { class: "log", id: "log-text", tabindex: "0", "aria-label": t("app.tabLogs"), "aria-live": "off" });
  const err = h("div");
  let ctrl = null;
  const load = async () => {
    ctrl?.abort();
    ctrl = new AbortController();
    err.replaceChildren();
    out.textContent = "";
    const opts = { tail: tail.value, service: service.value, signal: ctrl.signal };
    try {
      if (followBox.checked) {
        await api.logs(name, { ...opts, follow: true, onText: (s) => {
          out.textContent = (out.textContent + s).slice(-200000);
          out.scrollTop = out.scrollHeight;
        } });
      } else {
        out.textContent = (await api.logs(name, opts)) || t("app.logEmpty");
        out.scrollTop = out.scrollHeight;
      }
    } catch (e) {
      if (e.name !== "AbortError") fill(err, errorBox(e));
    }
  };
  for (const el of [tail, followBox]) el.addEventListener("change", load);
  service.addEventListener("change", load);
  reload.addEventListener("click", load);
  panel.stop = () => ctrl?.abort();
  put(panel, h("div", { class: "panel" },
    h("div", { class: "toolbar" },
      h("label", { for: "log-tail", text: t("app.logTail") }), tail,
      h("label", { for: "log-service", text: t("app.logService") }), service,
      h("span", { class: "row" }, followBox, h("label", { for: "log-follow", text: t("app.logFollow") })),
      reload),
    err, out));
  let loaded = false;
  panel.addEventListener("shown", () => { if (!panel.hidden && !loaded) { loaded = true; load(); } });
}

// The server: CPU, memory, disk and load now and over the last hour, the
// Docker engine's facts, the swarm cluster's nodes when this server manages
// one (drain, activate, remove, the command that adds a node), and the
// risks found with why and how to fix them.

import { api } from "../js/api.js";
import { t, has, percent, bytes, number, duration, time } from "../js/i18n.js";
import { h, errorBox, errorText, toast, copyButton, dialog, put, fill } from "../js/dom.js";
import { poll } from "../js/live.js";

export async function render(main, ctx) {
  const body = h("div", { id: "server" });
  const nodes = h("section", { class: "panel", id: "nodes", "aria-labelledby": "nodes-title" });
  const risks = h("div", { id: "risks-box" });
  put(main, h("div", { class: "page-head" }, h("div", {}, h("h1", { text: t("server.title") }), h("p", { text: t("server.subtitle") }))), body, nodes, risks);
  const admin = ctx?.user?.role === "admin";
  // The node list is asked for only on a swarm manager (elsewhere the API
  // answers 409, which the page says in words without asking).
  let manager = false;
  const refresh = async () => drawNodes(nodes, manager ? await api.nodes().catch((err) => ({ error: err })) : { single: true }, admin, refresh);
  return poll(async () => {
    try {
      const [st, hist] = await Promise.all([api.server(), api.serverHistory().catch(() => ({ points: [] }))]);
      manager = !!st.docker?.swarmManager;
      await refresh();
      draw(body, risks, st, hist.points || []);
    } catch (err) {
      fill(body, errorBox(err));
      throw err;
    }
  }, 10000);
}

function stat(id, label, value, sub, pct, series, max, valueClass = "") {
  const chart = document.createElement("sh-chart");
  chart.data = { values: series, max, label: t("server.lastHour", { what: label }) };
  return h("section", { class: "panel stat", id, "aria-label": label },
    h("div", { class: "muted", text: label }),
    h("div", { class: "value " + valueClass, text: value }),
    sub && h("div", { class: "sub", text: sub }),
    pct !== undefined && h("div", { class: "meter", role: "presentation" }, h("span", { style: `width:${Math.min(100, pct)}%` })),
    series.length > 1 ? chart : h("div", { class: "sub", text: t("server.historySoon") }),
    series.length > 1 && h("div", { class: "sub", text: t("server.since", { time: time(seriesStart) }) }));
}
let seriesStart = Date.now();

function draw(body, riskBox, st, points) {
  if (points.length) seriesStart = new Date(points[0].time).getTime();
  const col = (k) => points.map((p) => p[k]);
  const cpus = st.load && st.load.length ? st.load : [0, 0, 0];
  const risks = st.risks || [];
  const d = st.docker;
  fill(body, 
    h("div", { class: "stats" },
      stat("stat-cpu", t("server.cpu"), percent(st.cpuPercent), null, st.cpuPercent, col("cpuPercent"), 100),
      stat("stat-mem", t("server.memory"), percent(st.memoryPercent), t("server.ofTotal", { used: bytes(st.memoryUsed), total: bytes(st.memoryTotal) }), st.memoryPercent, col("memoryPercent"), 100),
      stat("stat-disk", t("server.disk"), percent(st.diskPercent), t("server.ofTotal", { used: bytes(st.diskUsed), total: bytes(st.diskTotal) }), st.diskPercent, col("diskPercent"), 100),
      stat("stat-load", t("server.load"), cpus.map((v) => number(v, { maximumFractionDigits: 2 })).join(" / "), t("server.loadHelp"), undefined, col("load1"), undefined, "load")),
    h("div", { class: "panel" }, h("h2", { text: t("server.host") }),
      h("dl", { class: "facts" },
        h("dt", { text: t("server.hostname") }), h("dd", { text: st.hostname || "" }),
        h("dt", { text: t("server.os") }), h("dd", { text: [st.os, st.kernel].filter(Boolean).join(" · ") }),
        h("dt", { text: t("server.uptime") }), h("dd", { text: duration(st.uptimeSeconds || 0) }),
        (st.disks || []).map((x) => [h("dt", { text: t("server.mount", { mount: x.mount }) }), h("dd", { text: t("server.ofTotal", { used: bytes(x.used), total: bytes(x.total) }) + " · " + percent(x.percent) })]))),
    h("div", { class: "panel", id: "docker" }, h("h2", { text: t("server.docker") }),
      d ? h("dl", { class: "facts" },
        h("dt", { text: t("server.dockerVersion") }), h("dd", { text: d.version + (d.apiVersion ? " (API " + d.apiVersion + ")" : "") }),
        h("dt", { text: t("server.containers") }), h("dd", { text: t("server.containersRunning", { running: number(d.running), total: number(d.containers) }) }),
        h("dt", { text: t("server.images") }), h("dd", { text: number(d.images) }),
        h("dt", { text: t("server.storage") }), h("dd", { text: d.storageDriver || "" }))
        : h("p", { class: "muted", text: t("server.dockerUnknown") })));
  fill(riskBox,
    h("h2", { id: "risks-title", text: risks.length ? t("server.risks", { n: number(risks.length) }) : t("server.noRisks") }),
    h("div", { id: "risks", "aria-labelledby": "risks-title" }, risks.map(riskCard)));
}

/** riskCard shows a finding: what (the kind in the user's language, then
 * the engine's exact finding), why it matters, and how to fix it. */
function riskCard(r) {
  const kind = String(r.id || "").split(":")[0];
  const title = has("risk." + kind) ? t("risk." + kind) : r.what;
  return h("section", { class: "panel risk " + (r.severity || ""), "data-risk": kind },
    h("h3", {}, title, " ", h("span", { class: "chip", text: t("server.severity." + (r.severity || "medium")) })),
    h("p", {}, h("strong", { text: t("server.what") + " " }), r.what),
    has("riskWhy." + kind) && h("p", {}, h("strong", { text: t("server.why") + " " }), t("riskWhy." + kind)),
    h("p", {}, h("strong", { text: t("server.fix") + " " }), r.fix || ""));
}

/** drawNodes shows the swarm cluster's nodes, or says that this server
 * runs its apps alone (the API answers 409 when swarm mode is off). */
function drawNodes(box, res, admin, refresh) {
  const title = h("h2", { id: "nodes-title", text: t("nodes.title") });
  if (res.single || res.error?.status === 409) {
    fill(box, title, h("p", { class: "muted", id: "nodes-single", text: t("nodes.single") }),
      h("p", { class: "help", text: t("nodes.singleHint") }), h("code", { class: "mono", text: "docker swarm init" }));
    return;
  }
  if (res.error) { fill(box, title, errorBox(res.error)); return; }
  const list = res.nodes || [];
  const ready = list.filter((n) => n.state === "ready").length;
  const add = admin ? h("button", { type: "button", class: "btn small", id: "node-add" }, t("nodes.add")) : null;
  add?.addEventListener("click", openJoin);
  fill(box, h("div", { class: "row", style: "justify-content:space-between" }, title, add),
    h("p", { class: "muted", text: t("nodes.summary", { ready: number(ready), total: number(list.length) }) }),
    h("div", { class: "table-wrap" }, h("table", { id: "node-list" },
      h("thead", {}, h("tr", {}, [t("nodes.node"), t("nodes.state"), t("nodes.availability"), t("nodes.resources"), t("nodes.tasks"), t("nodes.labels"), ""]
        .map((c) => h("th", { scope: "col", text: c })))),
      h("tbody", {}, list.map((n) => nodeRow(n, admin, refresh))))));
}

function nodeRow(n, admin, refresh) {
  const labels = Object.entries(n.labels || {});
  const act = (availability, label, kind = "") => {
    const b = h("button", { type: "button", class: "btn small " + kind, "data-availability": availability,
      "aria-label": t("nodes.actionOn", { action: label, node: n.hostname }) }, label);
    b.addEventListener("click", () => availability === "drain" ? confirmDrain(n, refresh) : setAvailability(n, availability, refresh));
    return b;
  };
  const remove = h("button", { type: "button", class: "btn small danger", "data-remove": n.id,
    "aria-label": t("nodes.actionOn", { action: t("nodes.remove"), node: n.hostname }) }, t("nodes.remove"));
  remove.addEventListener("click", () => confirmRemove(n, refresh));
  return h("tr", { "data-node": n.hostname },
    h("td", {}, h("strong", { text: n.hostname }), " ",
      h("span", { class: "chip", text: n.leader ? t("nodes.leader") : t("nodes.role." + n.role) }),
      h("div", { class: "muted small", text: [n.addr, n.os && n.architecture ? n.os + "/" + n.architecture : "", n.engineVersion ? "Docker " + n.engineVersion : ""].filter(Boolean).join(" · ") })),
    h("td", {}, h("span", { class: "node-state " + (n.state || "unknown"), text: t("nodes.stateName." + (n.state || "unknown")) }),
      n.message && n.state !== "ready" ? h("div", { class: "muted small", text: n.message }) : null),
    h("td", { text: t("nodes.availabilityName." + (n.availability || "active")) }),
    h("td", { text: t("nodes.cpuMemory", { cpus: number(n.cpus, { maximumFractionDigits: 1 }), memory: bytes(n.memoryBytes) }) }),
    h("td", { text: number(n.tasks || 0) }),
    h("td", {}, labels.length ? h("span", { class: "chips" }, labels.map(([k, v]) => h("span", { class: "chip mono", text: v ? k + "=" + v : k }))) : "—"),
    h("td", {}, admin ? h("span", { class: "row" },
      n.availability !== "drain" ? act("drain", t("nodes.drain")) : null,
      n.availability !== "active" ? act("active", t("nodes.activate")) : null,
      n.leader ? null : remove) : null));
}

async function setAvailability(n, availability, refresh) {
  try {
    await api.setNodeAvailability(n.id, availability);
    toast(t("nodes.availabilitySet", { node: n.hostname, availability: t("nodes.availabilityName." + availability) }));
    await refresh();
  } catch (err) { toast(errorText(err).message, "bad"); }
}

/** confirmDrain says what draining does before doing it: swarm moves the
 * node's apps elsewhere, and apps whose data lives on it stop. */
function confirmDrain(n, refresh) {
  const msg = h("div");
  const go = h("button", { type: "button", class: "btn primary", id: "drain-yes" }, t("nodes.drain"));
  const cancel = h("button", { type: "button", class: "btn" }, t("action.cancel"));
  const d = dialog(t("nodes.drainTitle", { node: n.hostname }), { body: [h("p", { text: t("nodes.drainText") }), msg], foot: [cancel, go] });
  cancel.addEventListener("click", () => d.close());
  go.addEventListener("click", async () => {
    try { await api.setNodeAvailability(n.id, "drain"); d.close(); toast(t("nodes.availabilitySet", { node: n.hostname, availability: t("nodes.availabilityName.drain") })); await refresh(); }
    catch (err) { fill(msg, errorBox(err)); }
  });
  cancel.focus();
}

/** confirmRemove removes a node from the cluster; one that still answers
 * must leave first (docker swarm leave), or be removed by force. */
function confirmRemove(n, refresh) {
  const msg = h("div");
  const force = h("input", { type: "checkbox", id: "node-force" });
  const go = h("button", { type: "button", class: "btn danger", id: "node-remove-yes" }, t("nodes.remove"));
  const cancel = h("button", { type: "button", class: "btn" }, t("action.cancel"));
  const d = dialog(t("nodes.removeTitle", { node: n.hostname }), {
    body: [h("p", { text: t("nodes.removeText") }),
      n.state === "ready" ? h("div", { class: "field" }, h("span", { class: "row" }, force, h("label", { for: "node-force", text: t("nodes.force") }))) : null, msg],
    foot: [cancel, go] });
  cancel.addEventListener("click", () => d.close());
  go.addEventListener("click", async () => {
    try { await api.removeNode(n.id, force.checked); d.close(); toast(t("nodes.removed", { node: n.hostname })); await refresh(); }
    catch (err) { fill(msg, errorBox(err)); }
  });
  cancel.focus();
}

/** openJoin shows the command that adds a node; its token is a secret. */
function openJoin() {
  const out = h("div", { id: "join-out", "aria-live": "polite" });
  const role = h("select", { id: "join-role" }, ["worker", "manager"].map((r) => h("option", { value: r, text: t("nodes.role." + r) })));
  const show = async () => {
    try {
      const j = await api.nodeJoin(role.value === "manager");
      fill(out, h("p", { text: t("nodes.joinRun") }),
        h("div", { class: "secret" }, h("code", { id: "join-command", text: j.command }), copyButton(j.command, t("nodes.joinCommand"))),
        h("div", { class: "alert warn", text: t("nodes.joinSecret") }));
    } catch (err) { fill(out, errorBox(err)); }
  };
  role.addEventListener("change", show);
  const close = h("button", { type: "button", class: "btn" }, t("action.close"));
  const d = dialog(t("nodes.addTitle"), {
    body: [h("div", { class: "field" }, h("label", { for: "join-role", text: t("nodes.joinAs") }), role, h("span", { class: "help", text: t("nodes.joinHelp") })), out],
    foot: [close] });
  close.addEventListener("click", () => d.close());
  show();
}

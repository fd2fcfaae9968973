// The server: CPU, memory, disk and load now and over the last hour, the
// Docker engine's facts, and the risks found with why and how to fix them.

import { api } from "../js/api.js";
import { t, has, percent, bytes, number, duration, time } from "../js/i18n.js";
import { h, errorBox, put, fill } from "../js/dom.js";
import { poll } from "../js/live.js";

export async function render(main) {
  const body = h("div", { id: "server" });
  put(main, h("div", { class: "page-head" }, h("div", {}, h("h1", { text: t("server.title") }), h("p", { text: t("server.subtitle") }))), body);
  return poll(async () => {
    try {
      const [st, hist] = await Promise.all([api.server(), api.serverHistory().catch(() => ({ points: [] }))]);
      draw(body, st, hist.points || []);
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

function draw(body, st, points) {
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
        : h("p", { class: "muted", text: t("server.dockerUnknown") })),
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

// My apps: every installation with its live status, ports, address,
// version and times; each links to its own page for the actions.

import { api } from "../js/api.js";
import { t, relative, date, reason } from "../js/i18n.js";
import { h, errorBox, letterIcon, put, fill } from "../js/dom.js";
import { poll } from "../js/live.js";
import { appURLs } from "./install.js";

const BUSY = ["installing", "upgrading", "uninstalling"];

export async function render(main) {
  const list = h("div", { class: "apps-list", id: "apps-list", "aria-live": "polite" });
  const errBox = h("div");
  put(main, 
    h("div", { class: "page-head" }, h("div", {}, h("h1", { text: t("apps.title") }), h("p", { text: t("apps.subtitle") })),
      h("a", { class: "btn", href: "#/store" }, t("apps.installMore"))),
    errBox, list);
  let last = "";
  let first = true;
  const stop = poll(async () => {
    try {
      const { installations } = await api.installations();
      errBox.replaceChildren();
      const key = JSON.stringify(installations);
      if (key !== last || first) {
        last = key;
        draw(list, installations);
      }
      // For make bench: when the list is first drawn.
      if (first) performance.mark("stackhub:apps-ready");
      first = false;
      return installations;
    } catch (err) {
      fill(errBox, errorBox(err));
      throw err;
    }
  }, (items) => (items?.some((i) => BUSY.includes(i.status)) ? 2000 : 10000));
  return stop;
}

function draw(list, items) {
  if (!items.length) {
    fill(list, h("div", { class: "panel empty" }, h("p", { text: t("apps.empty") }),
      h("a", { class: "btn primary", href: "#/store" }, t("apps.browse"))));
    return;
  }
  items.sort((a, b) => a.name.localeCompare(b.name));
  fill(list, ...items.map((i) => {
    const urls = i.status === "running" ? appURLs(i) : [];
    const ports = Object.entries(i.ports || {});
    return h("article", { class: "panel app-row", "aria-labelledby": "app-" + i.name, "data-name": i.name },
      letterIcon(i.app || i.name),
      h("div", {},
        h("div", { class: "row" }, h("a", { class: "name", id: "app-" + i.name, href: "#/apps/" + encodeURIComponent(i.name), text: i.name }),
          h("sh-status", { status: i.status })),
        h("div", { class: "line" },
          h("span", { text: t("apps.appVersion", { app: i.app, version: i.version || "?" }) }),
          ports.length ? h("span", { text: t("apps.ports", { ports: ports.map(([n, p]) => n + " " + p).join(", ") }) }) : null,
          h("span", { title: date(i.created), text: t("apps.created", { when: relative(i.created) }) }),
          h("span", { title: date(i.modified), text: t("apps.updated", { when: relative(i.modified) }) })),
        i.status === "failed" && i.reason ? h("div", { class: "small", style: "color:var(--bad)", text: reason(i.reason) }) : null),
      h("div", { class: "acts" },
        urls[0] && h("a", { class: "btn small primary", href: urls[0].url, target: "_blank", rel: "noopener",
          "aria-label": t("apps.openWhat", { name: i.name }) }, t("apps.open")),
        h("a", { class: "btn small", href: "#/apps/" + encodeURIComponent(i.name), "aria-label": t("apps.manageWhat", { name: i.name }) }, t("apps.manage"))));
  }));
}

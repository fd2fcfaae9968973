// Unit tests of the console's logic modules, run in the real browser by
// TestConsoleUnits: the form made from a bundle's parameters, the message
// catalogs, and the formats of numbers, sizes and dates per language.

import * as form from "/ui/js/form.js";
import * as i18n from "/ui/js/i18n.js";
import { api, backoff } from "/ui/js/api.js";
import { matches, render as renderStore } from "/ui/views/store.js";
import { openInstall } from "/ui/views/install.js";
import { render as renderServer } from "/ui/views/server.js";
import { swarmServices } from "/ui/views/app.js";
import { h } from "/ui/js/dom.js";

const results = { passed: 0, failed: [] };
function test(name, fn) {
  try {
    fn();
    results.passed++;
  } catch (err) {
    results.failed.push(name + ": " + err.message);
  }
}
function eq(got, want, what = "") {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) throw new Error(`${what} got ${g}, want ${w}`);
}
function ok(cond, what) { if (!cond) throw new Error(what); }

const params = [
  { name: "title", type: "string", default: "Hello", description: "Shown on the page" },
  { name: "admin_password", type: "string", sensitive: true, required: true, default: null },
  { name: "db_password", type: "string", sensitive: true, default: "", source: { output: "db_password" } },
  { name: "workers", type: "integer", default: 2, minimum: 1, maximum: 8 },
  { name: "ratio", type: "number" },
  { name: "mode", type: "string", enum: ["small", "large"], default: "small" },
  { name: "debug", type: "boolean", default: false },
  { name: "purge", type: "boolean", default: false, applyTo: ["uninstall"] },
  { name: "porter-state", type: "string" },
  { name: "slug", type: "string", pattern: "[a-z]+", minLength: 2, maxLength: 5 },
];

test("fields: kinds of input from types", () => {
  const f = form.fields(params, "install");
  eq(f.map((x) => x.name), ["title", "admin_password", "db_password", "workers", "ratio", "mode", "debug", "slug"], "names");
  eq(f.map((x) => x.input), ["text", "password", "password", "number", "number", "select", "checkbox", "text"], "inputs");
  const byName = Object.fromEntries(f.map((x) => [x.name, x]));
  eq(byName.admin_password.required, true, "required without default");
  eq(byName.title.required, false, "a default makes it optional");
  eq(byName.db_password.generated, true, "an empty sensitive default is generated");
  eq(byName.admin_password.generated, false);
  eq(byName.mode.enum, ["small", "large"]);
});

test("fields: applyTo picks the action", () => {
  eq(form.fields(params, "uninstall").some((x) => x.name === "purge"), true);
  eq(form.fields(params, "upgrade").some((x) => x.name === "purge"), false);
});

test("initial values are the defaults", () => {
  const v = form.initial(form.fields(params));
  eq(v.title, "Hello");
  eq(v.workers, "2");
  eq(v.debug, false);
  eq(v.admin_password, "");
});

test("validate: each rule says what is wrong", () => {
  const f = form.fields(params);
  const good = { ...form.initial(f), admin_password: "x".repeat(12), slug: "abc" };
  eq(form.validate(f, good), {}, "good values");
  const bad = form.validate(f, { ...good, admin_password: "", workers: "2.5", ratio: "abc", mode: "huge", slug: "ABC" });
  eq(bad.admin_password[0], "form.required");
  eq(bad.workers[0], "form.integer");
  eq(bad.ratio[0], "form.number");
  eq(bad.mode[0], "form.enum");
  eq(bad.slug[0], "form.pattern");
  eq(form.validate(f, { ...good, workers: "9" }).workers, ["form.max", { max: 8 }]);
  eq(form.validate(f, { ...good, workers: "0" }).workers, ["form.min", { min: 1 }]);
  eq(form.validate(f, { ...good, slug: "a" }).slug, ["form.minLength", { n: 2 }]);
  eq(form.validate(f, { ...good, slug: "abcdef" }).slug, ["form.maxLength", { n: 5 }]);
  eq(form.validate(f, { ...good, db_password: "" }).db_password, undefined, "generated may stay empty");
});

test("parameters: only what the user set, as text", () => {
  const f = form.fields(params);
  const v = { ...form.initial(f), admin_password: " s3cret-pass ", workers: "4", debug: true };
  eq(form.parameters(f, v), { admin_password: "s3cret-pass", workers: "4", debug: "true" });
  eq(form.parameters(f, form.initial(f)), {}, "defaults and empty secrets are left to the bundle");
});

test("installation names follow the API's rule", () => {
  eq(form.validateName("hello-db"), null);
  eq(form.validateName("")[0], "form.nameRequired");
  eq(form.validateName("Hello")[0], "form.nameBad");
  eq(form.validateName("-x")[0], "form.nameBad");
  eq(form.validateName("a".repeat(64))[0], "form.nameBad");
  eq(form.validateName("hello", ["hello"]), ["form.nameTaken", { name: "hello" }]);
});

test("generated secrets are long, plain and different", () => {
  const a = form.generateSecret(24), b = form.generateSecret(24);
  eq(a.length, 24);
  ok(/^[A-Za-z2-9]+$/.test(a), "letters and digits only: " + a);
  ok(!/[01lIO]/.test(a), "no look-alikes: " + a);
  ok(a !== b, "two secrets differ");
});

test("language from the browser", () => {
  eq(i18n.pick("", null, ["zh-CN", "en"]), "zh");
  eq(i18n.pick("", null, ["fr-FR", "en-GB"]), "en");
  eq(i18n.pick("", null, ["fr"]), "en");
  eq(i18n.pick("", "zh", ["en"]), "zh", "this browser's last choice");
  eq(i18n.pick("en", "zh", ["zh"]), "en", "the user's saved choice wins");
});

test("back-off grows and stops at 30 s", () => {
  eq([0, 1, 2, 3, 10].map(backoff), [1000, 2000, 4000, 8000, 30000]);
});

test("client-side search matches every word, in both languages", () => {
  const a = { name: "nextcloud", title: "Nextcloud", description: "Files and calendars", category: "storage",
    keywords: ["webdav"], titles: { zh: "Nextcloud 网盘" } };
  ok(matches(a, "files webdav", ""), "words anywhere");
  ok(matches(a, "网盘", ""), "the Chinese title");
  ok(!matches(a, "files mail", ""), "every word must match");
  ok(matches(a, "", "storage") && !matches(a, "", "cms"), "category");
});

async function catalogs() {
  const en = await api.catalog("en");
  const zh = await api.catalog("zh");
  test("catalogs have the same keys", () => {
    eq(Object.keys(zh).filter((k) => !(k in en)), [], "only in zh");
    eq(Object.keys(en).filter((k) => !(k in zh)), [], "only in en");
  });
  test("catalogs have the same placeholders and no empty text", () => {
    const ph = (s) => (s.match(/\{\w+\}/g) || []).sort().join();
    for (const k of Object.keys(en)) {
      ok(en[k].trim() && zh[k].trim(), "empty text for " + k);
      eq(ph(zh[k]), ph(en[k]), k);
    }
  });
  return { en, zh };
}

function formats({ en, zh }) {
  const now = Date.parse("2026-03-04T05:06:07Z");
  i18n.setCatalogs("en", en, en);
  const enOut = { small: i18n.bytes(688), bytes: i18n.bytes(1536), big: i18n.bytes(5 * 1024 ** 3), pct: i18n.percent(12.5), num: i18n.number(12345),
    rel: i18n.relative(now - 5 * 60e3, now), date: i18n.date(now), t: i18n.t("store.count", { n: 3 }) };
  i18n.setCatalogs("zh", zh, en);
  const zhOut = { small: i18n.bytes(688), bytes: i18n.bytes(1536), big: i18n.bytes(5 * 1024 ** 3), pct: i18n.percent(12.5), num: i18n.number(12345),
    rel: i18n.relative(now - 5 * 60e3, now), date: i18n.date(now), t: i18n.t("store.count", { n: 3 }) };
  test("formats in English", () => {
    eq(enOut.small, "688 B");
    eq(enOut.bytes, "1.5 kB");
    eq(enOut.big, "5 GB");
    eq(enOut.pct, "12.5%");
    eq(enOut.num, "12,345");
    eq(enOut.rel, "5 minutes ago");
    ok(enOut.date.includes("2026"), enOut.date);
    eq(enOut.t, "3 apps");
  });
  test("formats in Chinese", () => {
    eq(zhOut.small, "688 B");
    eq(zhOut.bytes, "1.5 kB", "Chinese keeps the SI symbols");
    eq(zhOut.num, "12,345");
    eq(zhOut.pct, "12.5%");
    eq(zhOut.rel, "5分钟前");
    ok(zhOut.date.includes("2026年"), zhOut.date);
    eq(zhOut.t, "共 3 个应用");
  });
  test("engine reasons in Chinese keep their details", () => {
    i18n.setCatalogs("zh", zh, en);
    eq(i18n.reason("upgrade to 1.2.0 failed and was undone: install failed: image x:1 not found"),
      "升级到 1.2.0 失败，已撤销：安装失败：image x:1 not found");
    eq(i18n.reason("container web-1 is unhealthy"), "容器 web-1 不健康");
    eq(i18n.reason("interrupted while upgrading: StackHub stopped; retry, or uninstall"), "升级时被中断：StackHub 已停止；请重试或卸载");
    eq(i18n.reason("something new"), "something new", "an unknown reason stays as it is");
    i18n.setCatalogs("en", en, en);
    eq(i18n.reason("uninstall failed: stop failed: boom"), "uninstall failed: stop failed: boom", "English is unchanged");
  });
  test("a missing key falls back to English, then to the key", () => {
    i18n.setCatalogs("zh", { a: "甲" }, { a: "A", b: "B" });
    eq([i18n.t("a"), i18n.t("b")], ["甲", "B"]);
  });
}

// until waits for cond to hold, up to ms.
async function until(cond, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting for " + cond);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// The store against a catalog of 300 apps that pages on the server (the
// test serves /api/v1/apps): the first page, more on request, search and
// category filters, in the API's shape with localized titles.
async function store({ en }) {
  i18n.setCatalogs("en", en, en);
  const main = document.getElementById("main");
  const cards = () => main.querySelectorAll("#store-grid sh-app-card").length;
  await renderStore(main, { args: [], user: { role: "admin" } });
  const started = performance.now();
  await until(() => cards() > 0);
  test("store shows the first page of 300", () => {
    eq(cards(), 48);
    eq(main.querySelector("#store-count").textContent, "300 apps");
    eq(main.querySelectorAll(".chips button").length, 7, "all + 6 categories");
  });
  main.querySelector(".pager button").click();
  await until(() => cards() === 96);
  const search = main.querySelector("#store-search");
  search.value = "app 12";
  search.dispatchEvent(new Event("input"));
  await until(() => main.querySelector("#store-count").textContent === "11 apps");
  test("search as you type asks the server", () => eq(cards(), 11));
  search.value = "";
  search.dispatchEvent(new Event("input"));
  await until(() => cards() === 48);
  [...main.querySelectorAll(".chips button")].find((b) => b.textContent.startsWith("Websites")).click();
  await until(() => main.querySelector("#store-count").textContent === "50 apps");
  test("a category filters", () => ok([...main.querySelectorAll("sh-app-card .chip")].every((c) => c.textContent === "Websites & CMS"), "only cms"));
  await until(() => [...main.querySelectorAll("sh-app-card img.icon")].some((i) => i.complete && i.naturalWidth > 0));
  test("catalog icons load; apps without one get a letter", () => ok(main.querySelector("sh-app-card .icon.letter") === null, "every cms app has an icon"));
  results.storeMillis = Math.round(performance.now() - started);
}

// showInstall opens the install dialog of an app with every kind of
// parameter, for a screenshot.
window.showInstall = () => {
  openInstall({ name: "wiki", title: "Wiki", version: "2.1.0", parameters: params }, { taken: ["wiki"] });
  document.querySelector("#install-submit").click();
};

// showNodes draws the server page against the test's fake three-node
// cluster, as an admin, for the node table's checks and screenshot.
window.showNodes = () => {
  const main = document.getElementById("main");
  main.replaceChildren();
  window.stopServer?.();
  renderServer(main, { user: { role: "admin" } }).then((stop) => { window.stopServer = stop; });
};

// showSwarmServices draws a swarm app's services: one running on two
// nodes, one whose data node is down.
window.showSwarmServices = () => {
  window.stopServer?.();
  const main = document.getElementById("main");
  main.replaceChildren(h("div", { class: "panel" }, swarmServices([
    { name: "wiki_web", service: "web", replicas: 2, running: 2, nodes: ["node-1", "node-2"] },
    { name: "wiki_db", service: "db", replicas: 1, running: 0, nodes: [], dataNode: "node-3",
      problem: "service db: node node-3 holding its data is down" },
  ])));
};

(async () => {
  try {
    const cats = await catalogs();
    formats(cats);
    await store(cats);
  } catch (err) {
    results.failed.push("setup: " + err.message);
  }
  document.getElementById("out").textContent = JSON.stringify(results, null, 1);
  window.unitResults = results;
})();

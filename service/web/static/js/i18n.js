// Messages and formats in the user's language. Every string the console
// shows comes from one catalog per language (/ui/i18n/<lang>.json);
// numbers, sizes, dates and durations go through Intl.

import { api, setLanguage } from "./api.js";

export const LANGUAGES = ["en", "zh"];
const STORE_KEY = "stackhub.lang";

let lang = "en";
let messages = {};
let fallback = {};

/** pick chooses a language: the user's saved one, this browser's last
 * choice, else the browser's preference, else English. */
export function pick(saved, stored = localStorage.getItem(STORE_KEY), preferred = navigator.languages || [navigator.language]) {
  for (const l of [saved, stored]) if (LANGUAGES.includes(l)) return l;
  for (const tag of preferred) {
    const primary = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(primary)) return primary;
  }
  return "en";
}

/** use loads the catalog of l (and English as the fallback) and makes it current. */
export async function use(l) {
  if (!LANGUAGES.includes(l)) l = "en";
  const [m, en] = await Promise.all([api.catalog(l), l === "en" ? null : (Object.keys(fallback).length ? fallback : api.catalog("en"))]);
  messages = m;
  fallback = en || m;
  lang = l;
  localStorage.setItem(STORE_KEY, l);
  setLanguage(l);
  document.documentElement.lang = l === "zh" ? "zh-CN" : "en";
  return l;
}

/** setCatalogs installs catalogs directly (unit tests). */
export function setCatalogs(l, m, en) { lang = l; messages = m; fallback = en || m; }

export function current() { return lang; }

/** t returns the message key with {name} placeholders filled from vars. */
export function t(key, vars) {
  let s = messages[key] ?? fallback[key];
  if (s === undefined) {
    console.warn("missing message", key);
    return key;
  }
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

// The engine's status reasons (engine/live.go, lifecycle.go, install.go,
// backup.go) come in English: their known shapes are said in the user's
// language, and what they carry (versions, container names, the bundle's
// own error) is kept as it is.
const REASONS = [
  [/^upgrade not started: the backup before it failed: ([\s\S]*)$/, "reason.backupBeforeUpgrade", ["detail"]],
  [/^upgrade to (\S+) failed and was undone: ([\s\S]*)$/, "reason.upgradeUndone", ["version", "detail"]],
  [/^upgrade to (\S+) failed: ([\s\S]*)$/, "reason.upgradeFailed", ["version", "detail"]],
  [/^upgrading from (\S*) to (\S+)$/, "reason.upgrading", ["from", "to"]],
  [/^(install|upgrade|uninstall|start|stop|restart|backup|restore) failed: ([\s\S]*)$/, "reason.actionFailed", ["action", "detail"]],
  [/^its containers are gone/, "reason.containersGone", []],
  [/^container (\S+) is unhealthy$/, "reason.unhealthy", ["container"]],
  [/^container (\S+) is (\S+)$/, "reason.containerState", ["container", "state"]],
  [/^interrupted while (installing|upgrading|uninstalling):/, "reason.interrupted", ["doing"]],
];

/** reason says an installation's status reason in the user's language. */
export function reason(text) {
  if (!text) return text || "";
  for (const [re, key, names] of REASONS) {
    const m = re.exec(text);
    if (!m) continue;
    const vars = Object.fromEntries(names.map((n, i) => [n, m[i + 1]]));
    if (vars.detail) vars.detail = reason(vars.detail);
    if (vars.action) vars.action = t("reason.action." + vars.action);
    if (vars.doing) vars.doing = t("reason.doing." + vars.doing);
    return t(key, vars);
  }
  return text;
}

/** has reports whether the current catalog has key. */
export function has(key) { return key in messages || key in fallback; }

/** translate fills every [data-i18n] element below root. */
export function translate(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

const locale = () => (lang === "zh" ? "zh-CN" : "en");

export function number(n, opts) { return new Intl.NumberFormat(locale(), opts).format(n); }

/** percent formats p given in 0..100. */
export function percent(p) { return number(p / 100, { style: "percent", maximumFractionDigits: 1 }); }

const UNITS = ["byte", "kilobyte", "megabyte", "gigabyte", "terabyte", "petabyte"];
/** bytes formats a size with binary steps (1 KB = 1024 B) and the language's unit names. */
export function bytes(n) {
  let i = 0;
  let v = Number(n) || 0;
  while (Math.abs(v) >= 1024 && i < UNITS.length - 1) { v /= 1024; i++; }
  // Intl's short name of a byte is "byte" in most languages: "688 B" reads better.
  if (i === 0) return `${number(v, { maximumFractionDigits: 0 })} B`;
  return new Intl.NumberFormat(locale(), { style: "unit", unit: UNITS[i], unitDisplay: "short", maximumFractionDigits: i === 0 ? 0 : 1 }).format(v);
}

/** date formats a timestamp (Date or ISO string) with date and time. */
export function date(d) {
  if (!d) return "";
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(new Date(d));
}

/** time formats the time of day only. */
export function time(d) {
  return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit" }).format(new Date(d));
}

/** relative formats d against now: "3 minutes ago", "3分钟前". */
export function relative(d, now = Date.now()) {
  const s = Math.round((new Date(d).getTime() - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: "auto" });
  const a = Math.abs(s);
  if (a < 45) return t("time.justNow");
  if (a < 2700) return rtf.format(Math.round(s / 60), "minute");
  if (a < 79200) return rtf.format(Math.round(s / 3600), "hour");
  return rtf.format(Math.round(s / 86400), "day");
}

/** duration formats seconds as days/hours/minutes. */
export function duration(seconds) {
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600), m = Math.floor((seconds % 3600) / 60);
  const u = (v, unit) => new Intl.NumberFormat(locale(), { style: "unit", unit, unitDisplay: "short" }).format(v);
  const parts = [];
  if (d) parts.push(u(d, "day"));
  if (h || d) parts.push(u(h, "hour"));
  parts.push(u(m, "minute"));
  return new Intl.ListFormat(locale(), { style: "narrow", type: "unit" }).format(parts);
}

/** localized picks the current language's entry of a {en, zh} map, else text. */
export function localized(map, text) {
  if (map && typeof map === "object") return map[lang] || map.en || text || "";
  return text || "";
}

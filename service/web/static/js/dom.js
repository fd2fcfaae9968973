// Small DOM helpers shared by the views: building elements without HTML
// strings, error boxes with the API's message and hint, toasts, copy
// buttons and the custom elements that repeat across views.

import { t } from "./i18n.js";

/** h builds an element: h("a", {href, class, onclick, "aria-label"}, ...children). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    // Through the CSSOM: the CSP forbids style attributes.
    else if (k === "style") el.style.cssText = v;
    else if (k in el && typeof v !== "string" && k !== "list") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** errorText turns any thrown value into {message, hint} in the user's language. */
export function errorText(err) {
  if (err?.status === 0) return { message: t("error.network"), hint: t("error.networkHint") };
  if (err?.name === "ApiError") return { message: err.message, hint: err.hint };
  return { message: t("error.unexpected"), hint: String(err?.message || err) };
}

/** errorBox shows an error's message and hint (role=alert). */
export function errorBox(err, retry) {
  const { message, hint } = errorText(err);
  return h("div", { class: "alert bad", role: "alert" },
    h("strong", { text: message }),
    hint && h("div", { class: "hint", text: hint }),
    retry && h("button", { type: "button", class: "btn small", onclick: retry, style: "margin-top:.4rem" }, t("action.retry")));
}

const MAX_TOASTS = 3;
/** toast shows a short message at the bottom of the page. The same
 * message again replaces the one shown, and at most MAX_TOASTS show at
 * once (the oldest goes first), so a burst does not cover the page. */
export function toast(message, kind = "") {
  const box = document.getElementById("toasts");
  for (const old of [...box.children]) if (old.textContent === message) old.remove();
  while (box.children.length >= MAX_TOASTS) box.firstElementChild.remove();
  const el = h("div", { class: "toast " + kind, text: message });
  // A click dismisses it, for a toast that covers what the user reads.
  el.addEventListener("click", () => el.remove());
  box.append(el);
  setTimeout(() => el.remove(), kind === "bad" ? 8000 : 4000);
}

/** copyButton copies value to the clipboard and says so. */
export function copyButton(value, label) {
  const b = h("button", { type: "button", class: "btn small", "aria-label": label ? t("action.copyWhat", { what: label }) : t("action.copy") }, t("action.copy"));
  b.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value);
      b.textContent = t("action.copied");
    } catch {
      // No clipboard (plain HTTP on another host): select the text instead.
      const code = b.previousElementSibling;
      if (code) getSelection().selectAllChildren(code);
      b.textContent = t("action.selected");
    }
    setTimeout(() => { b.textContent = t("action.copy"); }, 2000);
  });
  return b;
}

/** dialog builds a <dialog> with a title, body and footer; it removes itself on close. */
export function dialog(title, { body = [], foot = [], label } = {}) {
  const id = "dlg-" + Math.random().toString(36).slice(2);
  const closeBtn = h("button", { type: "button", class: "btn ghost small", "aria-label": t("action.close") }, "✕");
  const d = h("dialog", { "aria-labelledby": id, "aria-label": label },
    h("div", { class: "dlg-head" }, h("h2", { id, text: title }), closeBtn),
    h("div", { class: "dlg-body" }, body),
    foot.length ? h("div", { class: "dlg-foot" }, foot) : null);
  closeBtn.addEventListener("click", () => d.close());
  d.addEventListener("close", () => d.remove());
  document.body.append(d);
  d.showModal();
  return d;
}

/** letterIcon is an app's stand-in icon: its first letter on a colour from its name. */
export function letterIcon(name, big) {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  const el = h("span", { class: "icon letter" + (big ? " big" : ""), "aria-hidden": "true", text: (name[0] || "?").toUpperCase() });
  el.style.background = `hsl(${hash % 360} 55% 38%)`;
  return el;
}

/** appIcon shows the catalog's icon, falling back to the letter icon. */
export function appIcon(name, url, big) {
  if (!url) return letterIcon(name, big);
  const img = h("img", { class: "icon" + (big ? " big" : ""), src: url, alt: "", loading: "lazy", width: big ? 72 : 48, height: big ? 72 : 48 });
  img.addEventListener("error", () => img.replaceWith(letterIcon(name, big)), { once: true });
  return img;
}

/** <sh-status status="running"> shows an installation's status in words. */
class StatusBadge extends HTMLElement {
  static observedAttributes = ["status"];
  attributeChangedCallback() { this.render(); }
  connectedCallback() { this.render(); }
  render() {
    const s = this.getAttribute("status") || "";
    this.textContent = t("status." + s);
  }
}
customElements.define("sh-status", StatusBadge);

/** <sh-chart> draws a small line chart of .values (0..max) as SVG. */
class Chart extends HTMLElement {
  set data({ values, max, label }) {
    const w = 300, hgt = 56;
    const m = max || Math.max(1, ...values);
    const step = values.length > 1 ? w / (values.length - 1) : w;
    const pts = values.map((v, i) => `${(i * step).toFixed(1)},${(hgt - 2 - (v / m) * (hgt - 4)).toFixed(1)}`);
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
    if (values.length > 1) {
      const area = document.createElementNS(ns, "polygon");
      area.setAttribute("points", `0,${hgt} ${pts.join(" ")} ${w},${hgt}`);
      area.setAttribute("fill", "currentColor");
      area.setAttribute("fill-opacity", ".15");
      const line = document.createElementNS(ns, "polyline");
      line.setAttribute("points", pts.join(" "));
      line.setAttribute("fill", "none");
      line.setAttribute("stroke", "currentColor");
      line.setAttribute("stroke-width", "2");
      line.setAttribute("vector-effect", "non-scaling-stroke");
      svg.append(area, line);
    }
    this.replaceChildren(svg);
  }
}
customElements.define("sh-chart", Chart);

/** put appends children to parent, flattening arrays and skipping empty values. */
export function put(parent, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false || c === "") continue;
    parent.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return parent;
}

/** fill replaces parent's children, as put adds them. */
export function fill(parent, ...children) {
  parent.replaceChildren();
  return put(parent, ...children);
}

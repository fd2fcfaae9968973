// Install and upgrade forms from a bundle's parameters. Pure logic (no
// DOM): which fields to show, their input kind, validation, and the
// parameter map the API takes. The install dialog renders what it returns.

/** NAME_RE is what the API accepts as an installation name. */
export const NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * fields turns catalog parameters into form fields for action ("install"
 * or "upgrade"). Parameters that do not apply to the action, internal
 * ones (porter-*), and ones fed from an output are left out.
 */
export function fields(parameters, action = "install") {
  const out = [];
  for (const p of parameters || []) {
    if (!p || !p.name || p.name.startsWith("porter-") || p.internal) continue;
    const applyTo = p.applyTo || p.applyto;
    if (Array.isArray(applyTo) && applyTo.length && !applyTo.includes(action)) continue;
    const type = String(p.type || "string").toLowerCase();
    const f = {
      name: p.name,
      label: p.title || p.name,
      description: p.description || "",
      descriptions: p.descriptions || null,
      type,
      required: !!p.required && (p.default === undefined || p.default === null),
      sensitive: !!p.sensitive,
      generated: !!p.generated || (!!p.sensitive && (p.default === "" || p.source?.output !== undefined)),
      default: p.default,
      enum: Array.isArray(p.enum) && p.enum.length ? p.enum.map(String) : null,
      min: p.minimum ?? p.min,
      max: p.maximum ?? p.max,
      minLength: p.minLength,
      maxLength: p.maxLength,
      pattern: p.pattern,
    };
    if (f.enum) f.input = "select";
    else if (type === "boolean") f.input = "checkbox";
    else if (type === "integer" || type === "number") f.input = "number";
    else if (f.sensitive) f.input = "password";
    else f.input = "text";
    out.push(f);
  }
  return out;
}

/** initial returns the starting value of each field, as the form holds it. */
export function initial(list) {
  const v = {};
  for (const f of list) {
    if (f.input === "checkbox") v[f.name] = f.default === true || f.default === "true";
    else v[f.name] = f.default === undefined || f.default === null ? "" : String(f.default);
  }
  return v;
}

/**
 * validate checks values against the fields and returns {name: [key, vars]}
 * for each bad one; keys are message catalog keys.
 */
export function validate(list, values) {
  const errs = {};
  for (const f of list) {
    const v = values[f.name];
    if (f.input === "checkbox") continue;
    const s = v === undefined || v === null ? "" : String(v).trim();
    if (s === "") {
      if (f.required && !f.generated) errs[f.name] = ["form.required", {}];
      continue;
    }
    if (f.enum && !f.enum.includes(s)) errs[f.name] = ["form.enum", { values: f.enum.join(", ") }];
    else if (f.type === "integer" && !/^-?\d+$/.test(s)) errs[f.name] = ["form.integer", {}];
    else if (f.type === "number" && !Number.isFinite(Number(s))) errs[f.name] = ["form.number", {}];
    else if (f.min !== undefined && Number(s) < f.min) errs[f.name] = ["form.min", { min: f.min }];
    else if (f.max !== undefined && Number(s) > f.max) errs[f.name] = ["form.max", { max: f.max }];
    else if (f.minLength !== undefined && s.length < f.minLength) errs[f.name] = ["form.minLength", { n: f.minLength }];
    else if (f.maxLength !== undefined && s.length > f.maxLength) errs[f.name] = ["form.maxLength", { n: f.maxLength }];
    else if (f.pattern && !new RegExp("^(?:" + f.pattern + ")$").test(s)) errs[f.name] = ["form.pattern", { pattern: f.pattern }];
  }
  return errs;
}

/** validateName checks an installation name against the API's rule and the names taken. */
export function validateName(name, taken = []) {
  if (!name) return ["form.nameRequired", {}];
  if (!NAME_RE.test(name)) return ["form.nameBad", {}];
  if (taken.includes(name)) return ["form.nameTaken", { name }];
  return null;
}

/**
 * parameters returns the API's {name: "value"} map: every value set, as
 * text; empty values are left out so the bundle's default (or generated
 * secret) applies.
 */
export function parameters(list, values) {
  const out = {};
  for (const f of list) {
    const v = values[f.name];
    if (f.input === "checkbox") {
      const def = f.default === true || f.default === "true";
      if (!!v !== def) out[f.name] = v ? "true" : "false";
      continue;
    }
    const s = v === undefined || v === null ? "" : String(v).trim();
    if (s === "") continue;
    if (f.default !== undefined && String(f.default) === s && !f.sensitive) continue;
    out[f.name] = s;
  }
  return out;
}

const ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
/** generateSecret returns a random password of n letters and digits (no look-alikes). */
export function generateSecret(n = 24) {
  const out = [];
  const buf = new Uint32Array(n * 2);
  while (out.length < n) {
    crypto.getRandomValues(buf);
    for (const x of buf) {
      // Rejection sampling keeps every character equally likely.
      if (x < Math.floor(2 ** 32 / ALNUM.length) * ALNUM.length) out.push(ALNUM[x % ALNUM.length]);
      if (out.length === n) break;
    }
  }
  return out.join("");
}

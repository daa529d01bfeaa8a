// Small shared helpers: DOM building (no innerHTML), API access, formatting, state colours.

const SVG_NS = "http://www.w3.org/2000/svg";

function append(el, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) { child.forEach((c) => append(el, c)); return; }
  el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.setAttribute("class", v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k === "value" && "value" in el) el.value = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
}

/** h("div", {class: "x"}, "text", child, [more]) -> HTMLElement */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** s("rect", {...}) -> SVGElement */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

async function readError(resp) {
  try {
    const body = await resp.json();
    const d = body && (body.detail ?? body.error ?? body.message);
    return typeof d === "string" ? d : JSON.stringify(d ?? body);
  } catch { return resp.statusText; }
}

export async function api(path, opts = {}) {
  const resp = await fetch(`/api/v1${path}`, {
    headers: { Accept: "application/json", ...(opts.headers || {}) },
    method: opts.method || "GET",
    body: opts.body,
  });
  if (!resp.ok) throw new ApiError(resp.status, await readError(resp));
  if (resp.status === 204) return null;
  return resp.json();
}

export const enc = encodeURIComponent;

export const SIGNAL_TYPES = ["CONTRACT_BREACH", "FRESHNESS_BREACH", "VOLUME_ANOMALY", "DRIFT_DETECTED",
  "DQ_BREACH", "COST_ANOMALY"];
export const SIGNAL_SHORT = { CONTRACT_BREACH: "Contract", FRESHNESS_BREACH: "Freshness", VOLUME_ANOMALY: "Volume",
  DRIFT_DETECTED: "Drift", DQ_BREACH: "DQ", COST_ANOMALY: "Cost" };
export const STATE_RANK = { CRITICAL: 0, WARNING: 1, UNKNOWN: 2, OK: 3 };
export const STATE_COLOR = { CRITICAL: "#dc2626", WARNING: "#d97706", OK: "#16a34a", UNKNOWN: "#94a3b8" };

export function stateClass(state) {
  return `st-${(state || "UNKNOWN").toLowerCase()}`;
}

export function stateBadge(state) {
  const st = state || "UNKNOWN";
  return h("span", { class: `badge ${stateClass(st)}` }, st);
}

export function sevBadge(sev) {
  const n = (sev || "").replace(/[^0-9]/g, "") || "x";
  return h("span", { class: `sev sev-${n}`, "data-testid": "severity-badge" }, sev || "SEV-?");
}

export function statusBadge(status) {
  return h("span", { class: `status-badge status-${(status || "").toLowerCase()}`, "data-testid": "incident-status" },
    status || "?");
}

export function tierBadge(tier) {
  if (tier === null || tier === undefined) return h("span", { class: "tier tier-x" }, "Tier ?");
  return h("span", { class: `tier tier-${tier}` }, `Tier ${tier}`);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n, w = 2) => String(n).padStart(w, "0");

export function toDate(v) {
  if (v === null || v === undefined || v === "") return null;
  const d = typeof v === "number" ? new Date(v) : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "Jan 15 09:58:02 UTC" (seconds optional) */
export function fmtTime(v, { seconds = true, date = true } = {}) {
  const d = toDate(v);
  if (!d) return "—";
  const t = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${seconds ? ":" + pad(d.getUTCSeconds()) : ""}`;
  return date ? `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()} ${t} UTC` : `${t}`;
}

export function fmtPct(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(Number(v))) return "—";
  return `${(Number(v) * 100).toFixed(digits)}%`;
}

export function fmtNum(v) {
  if (v === null || v === undefined) return "—";
  return Number(v).toLocaleString("en-US");
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const sec = Math.round(seconds);
  if (sec < 60) return `${sec}s`;
  if (sec < 3600) return `${Math.floor(sec / 60)}m ${sec % 60}s`;
  return `${Math.floor(sec / 3600)}h ${Math.floor((sec % 3600) / 60)}m`;
}

export function shortUrn(urn) {
  return (urn || "").replace(/^urn:dp:/, "");
}

export function datasetHref(urn) {
  return `/datasets/${enc(urn)}`;
}

export function link(href, attrs, ...children) {
  return h("a", { href, "data-link": true, ...(attrs || {}) }, ...children);
}

export function section(title, attrs, ...children) {
  return h("section", { class: "card", ...(attrs || {}) }, h("h2", { class: "card-title" }, title), ...children);
}

export function table(headers, rows, attrs) {
  return h("table", { class: "tbl", ...(attrs || {}) },
    h("thead", null, h("tr", null, headers.map((x) => h("th", null, x)))),
    h("tbody", null, rows));
}

export function empty(text) {
  return h("div", { class: "empty" }, text);
}

export function truncate(text, n) {
  const t = String(text ?? "");
  return t.length > n ? t.slice(0, n - 1) + "…" : t;
}

// The global time range: kept in the URL query (`?from=&to=`), applied to EVENT time by every page that lists
// time-based things. `from` is an ISO time or a relative `now-1h` / `now-24h` / `now-7d`; `to` is an ISO time
// or absent (open-ended). No `from`/`to`: all time (the default, so the 2024 demo data shows).
import { h } from "./util.js";

const PRESETS = [["all", "All time"], ["now-1h", "Last 1 hour"], ["now-24h", "Last 24 hours"], ["now-7d", "Last 7 days"],
  ["custom", "Custom…"]];
const RELATIVE = { "now-1h": 3600e3, "now-24h": 86400e3, "now-7d": 7 * 86400e3 };
export const TIME_BASE = "event time (UTC)";

function parseEdge(v) {
  if (!v) return null;
  if (RELATIVE[v]) return Date.now() - RELATIVE[v];
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

/** {fromMs, toMs, from, to, active, label} of the current URL. */
export function currentRange() {
  const p = new URLSearchParams(location.search);
  const from = p.get("from"), to = p.get("to");
  const fromMs = parseEdge(from), toMs = parseEdge(to);
  return { from, to, fromMs, toMs, active: fromMs !== null || toMs !== null, label: rangeLabel(from, to) };
}

const iso = (ms) => new Date(ms).toISOString().replace(".000Z", "Z");

function rangeLabel(from, to) {
  if (!from && !to) return "all time";
  const preset = PRESETS.find(([k]) => k === from);
  if (preset && RELATIVE[from] && !to) return preset[1].toLowerCase();
  const f = parseEdge(from), t = parseEdge(to);
  return `${f !== null ? iso(f) : "the beginning"} → ${t !== null ? iso(t) : "now"}`;
}

/** The API query params (`since`, `until`) of the range, as "&since=…&until=…" (empty for all time). */
export function apiRange({ since = "since", until = "until" } = {}) {
  const r = currentRange();
  let q = "";
  if (r.fromMs !== null) q += `&${since}=${encodeURIComponent(iso(r.fromMs))}`;
  if (r.toMs !== null && until) q += `&${until}=${encodeURIComponent(iso(r.toMs))}`;
  return q;
}

/** True when the event time `v` (ISO or ms) lies in [from, to). */
export function inRange(v) {
  const r = currentRange();
  if (!r.active) return true;
  const t = typeof v === "number" ? v : Date.parse(v);
  if (Number.isNaN(t)) return false;
  return (r.fromMs === null || t >= r.fromMs) && (r.toMs === null || t < r.toMs);
}

/** The line a filtered page shows above its list ("Event time: last 1 hour · show all time"), or null. */
export function rangeNote() {
  const r = currentRange();
  if (!r.active) return null;
  const p = new URLSearchParams(location.search);
  p.delete("from"); p.delete("to"); p.delete("cursor"); p.delete("at");
  const qs = p.toString();
  return h("div", { class: "range-note", "data-testid": "range-note" }, "Filtered to ", h("strong", null, TIME_BASE), ": ",
    r.label, " · ", h("a", { href: location.pathname + (qs ? `?${qs}` : ""), "data-link": true, "data-range": "clear", "data-testid": "range-clear" }, "show all time"));
}

/** The same URL with the current range added (links keep the range as you move between pages). */
export function withRange(pathAndQuery) {
  const r = new URLSearchParams(location.search);
  if (!r.get("from") && !r.get("to")) return pathAndQuery;
  const url = new URL(pathAndQuery, location.origin);
  if (url.searchParams.has("from") || url.searchParams.has("to")) return pathAndQuery;
  for (const k of ["from", "to"]) if (r.get(k)) url.searchParams.set(k, r.get(k));
  return url.pathname + url.search;
}

function localValue(ms) {  // <input type=datetime-local> value, in UTC
  return ms === null ? "" : new Date(ms).toISOString().slice(0, 16);
}

/** The top bar's picker; `go(url)` navigates. Call `sync()` after every navigation. */
export function timePicker(go) {
  const select = h("select", { class: "tp-select", "data-testid": "time-range", "aria-label": `Time range (${TIME_BASE})` },
    PRESETS.map(([v, label]) => h("option", { value: v }, label)));
  const fromIn = h("input", { type: "datetime-local", class: "tp-input", "data-testid": "time-from", "aria-label": "From (UTC)" });
  const toIn = h("input", { type: "datetime-local", class: "tp-input", "data-testid": "time-to", "aria-label": "To (UTC)" });
  const apply = h("button", { class: "tp-apply", "data-testid": "time-apply", type: "button" }, "Apply");
  const custom = h("span", { class: "tp-custom", hidden: true }, fromIn, h("span", null, "→"), toIn, apply);

  function setRange(from, to) {
    const p = new URLSearchParams(location.search);
    p.delete("cursor"); p.delete("at");  // a page position means nothing in another range
    if (from) p.set("from", from); else p.delete("from");
    if (to) p.set("to", to); else p.delete("to");
    const qs = p.toString();
    go(location.pathname + (qs ? `?${qs}` : ""));
  }
  select.addEventListener("change", () => {
    const v = select.value;
    if (v === "custom") { custom.hidden = false; fromIn.focus(); return; }
    custom.hidden = true;
    setRange(v === "all" ? null : v, null);
  });
  apply.addEventListener("click", () => {
    const f = fromIn.value ? `${fromIn.value}:00Z` : null, t = toIn.value ? `${toIn.value}:00Z` : null;
    setRange(f, t);
  });
  const el = h("div", { class: "time-picker", "data-testid": "time-picker", title: `Filters lists by ${TIME_BASE}` },
    h("span", { class: "tp-base" }, "Event time"), select, custom);

  function sync() {
    const r = currentRange();
    const preset = !r.active ? "all" : (RELATIVE[r.from] && !r.to ? r.from : "custom");
    select.value = preset;
    custom.hidden = preset !== "custom";
    if (preset === "custom") { fromIn.value = localValue(r.fromMs); toIn.value = localValue(r.toMs); }
    el.dataset.range = r.label;
  }
  sync();
  return { el, sync };
}

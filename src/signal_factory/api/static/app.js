// Signal Factory UI: router (History API), live refresh (SSE with polling fallback), view mounting.
import { h, ApiError } from "./js/util.js";
import { renderHealth } from "./js/health.js";
import { renderIncidents, renderIncident } from "./js/incidents.js";
import { renderDataset } from "./js/dataset.js";
import { renderLineage } from "./js/lineage.js";
import { renderNotices } from "./js/notices.js";
import { loadSession, sessionWidget } from "./js/session.js";
import { renderEvidenceList, renderEvidence } from "./js/evidence.js";
import { timePicker, withRange } from "./js/timerange.js";
import { searchBox } from "./js/search.js";

const ROUTES = [
  { re: /^\/$/, nav: "health", title: "Health", render: () => renderHealth() },
  { re: /^\/incidents\/?$/, nav: "incidents", title: "Incidents", render: () => renderIncidents() },
  { re: /^\/incidents\/([^/]+)\/?$/, nav: "incidents", title: (m) => decodeURIComponent(m[1]),
    render: (m) => renderIncident(decodeURIComponent(m[1])) },
  { re: /^\/notices\/?$/, nav: "notices", title: "Notices", render: () => renderNotices() },
  { re: /^\/datasets\/(.+?)\/?$/, nav: "health", title: (m) => decodeURIComponent(m[1]),
    render: (m) => renderDataset(decodeURIComponent(m[1])) },
  { re: /^\/evidence\/?$/, nav: "evidence", title: "Evidence", render: () => renderEvidenceList() },
  { re: /^\/evidence\/([^/]+)\/?$/, nav: "evidence", title: (m) => decodeURIComponent(m[1]),
    render: (m) => renderEvidence(decodeURIComponent(m[1])) },
  { re: /^\/lineage\/?$/, nav: "lineage", title: "Lineage", render: () => renderLineage() },
];

const view = document.getElementById("view");
const picker = timePicker((href) => navigate(href));
document.getElementById("time-picker-slot").replaceWith(picker.el);
document.getElementById("search-slot").replaceWith(searchBox((href) => navigate(withRange(href))));
let seq = 0;
let busy = false;
let pending = false;

function match(path) {
  for (const r of ROUTES) {
    const m = path.match(r.re);
    if (m) return { route: r, m };
  }
  return null;
}

function errorView(err) {
  const status = err instanceof ApiError ? err.status : null;
  return h("div", { class: "card error-card", "data-testid": "view-error" },
    h("h2", { class: "card-title" }, status === 404 ? "Not found" : "Could not load this page"),
    h("p", null, err && err.message ? err.message : String(err)),
    h("p", { class: "muted" }, status ? `HTTP ${status}` : "The API may be unreachable; retrying on the next change."));
}

function markRefreshed() {
  const d = new Date();
  const el = document.getElementById("refreshed");
  el.textContent = `Updated ${d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })}`;
  el.title = `Last refresh: ${d.toISOString()}`;
}

/** Render the current path. `refresh` keeps the scroll position. */
export async function mount({ refresh = false } = {}) {
  if (busy) { pending = true; return; }
  busy = true;
  const my = ++seq;
  const path = location.pathname;
  const found = match(path);
  picker.sync();
  document.querySelectorAll("[data-nav]").forEach((a) =>
    a.classList.toggle("active", !!found && a.dataset.nav === found.route.nav));
  const scroll = refresh ? window.scrollY : 0;
  if (!refresh) view.replaceChildren(h("div", { class: "loading" }, "Loading…"));
  let node;
  try {
    if (!found) throw new ApiError(404, `No page at ${path}`);
    node = await found.route.render(found.m);
    const t = typeof found.route.title === "function" ? found.route.title(found.m) : found.route.title;
    document.title = `${t} · Signal Factory`;
  } catch (err) {
    node = errorView(err);
  }
  busy = false;
  if (my === seq && location.pathname === path) {
    view.replaceChildren(node);
    if (refresh) window.scrollTo(0, scroll); else window.scrollTo(0, 0);
    view.dataset.ready = "true";
    markRefreshed();
  }
  if (pending) { pending = false; mount({ refresh: location.pathname === path }); }
}

export function navigate(href) {
  if (href === location.pathname + location.search) return;
  history.pushState({}, "", href);
  mount();
}

document.addEventListener("click", (ev) => {
  const a = ev.target.closest("a[data-link]");
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  ev.preventDefault();
  // The time range is global: a link keeps it, unless it is the one that clears it.
  const href = url.pathname + url.search;
  navigate(a.dataset.range === "clear" ? href : withRange(href));
});
window.addEventListener("popstate", () => mount());
window.addEventListener("sf:navigate", (ev) => navigate(withRange(ev.detail)));
window.addEventListener("sf:refresh", () => mount({ refresh: true }));

// ---- live refresh ----------------------------------------------------------------------------------
const live = document.getElementById("live");
let debounce = null;
let pollTimer = null;

function setLive(mode, text) {
  live.dataset.mode = mode;
  live.querySelector("span").textContent = text;
  live.title = mode === "live" ? "Live: server-sent events connected" :
    mode === "polling" ? "Event stream unavailable: refreshing every 10 s" : "Connecting to the event stream";
}

function scheduleRefresh() {
  clearTimeout(debounce);
  debounce = setTimeout(() => {
    // Don't pull the page from under someone typing in a form field.
    const a = document.activeElement;
    if (a && view.contains(a) && (a.tagName === "INPUT" || a.tagName === "TEXTAREA")) { scheduleRefresh(); return; }
    mount({ refresh: true });
  }, 400);
}

function startPolling() {
  if (pollTimer) return;
  setLive("polling", "polling");
  pollTimer = setInterval(scheduleRefresh, 10000);
}

function connect() {
  if (!("EventSource" in window)) { startPolling(); return; }
  let es;
  try { es = new EventSource("/api/v1/events"); } catch { startPolling(); return; }
  es.addEventListener("open", () => {
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
    setLive("live", "live");
  });
  es.addEventListener("change", scheduleRefresh);
  es.addEventListener("error", () => {
    // The browser retries on its own; until it reconnects, poll.
    if (es.readyState === EventSource.CLOSED) { es.close(); setTimeout(connect, 15000); }
    startPolling();
  });
}

// Sign-in state first, so the first render already knows who (if anyone) is signed in.
loadSession().then(() => {
  document.getElementById("session-slot").replaceChildren(sessionWidget());
  mount();
});
connect();

// Dataset page: compliance timelines per signal type and window, state strips, recent signals.
import { h, s, api, link, stateBadge, tierBadge, fmtTime, fmtPct, fmtNum, enc, empty, section, table, toDate,
  STATE_COLOR, SIGNAL_TYPES, SIGNAL_SHORT, stateClass, sevBadge, statusBadge } from "./util.js";
import { datasetNotices } from "./notices.js";
import { apiRange, inRange, rangeNote, currentRange } from "./timerange.js";

let W = 880;
const H = 190, M = { l: 48, r: 16, t: 14, b: 28 };
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440].map((m) => m * 60000);
const pad = (n) => String(n).padStart(2, "0");
const hhmm = (ms) => { const d = new Date(ms); return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`; };

function when(sig) {
  // provisional signals fire before their window closes: plot them when they fired
  const d = toDate(sig.provisional ? sig.timestamp : (sig.window && sig.window.end) || sig.timestamp);
  return d ? d.getTime() : null;
}

function xScale(points) {
  const starts = points.map((p) => toDate(p.sg.window && p.sg.window.start)).filter(Boolean).map((d) => d.getTime());
  let lo = Math.min(...points.map((p) => p.t), ...starts), hi = Math.max(...points.map((p) => p.t));
  const MIN = 10 * 60000;
  if (hi - lo < MIN) { const grow = (MIN - (hi - lo)) / 2; lo -= grow; hi += grow; }
  const span = hi - lo; lo -= span * 0.04; hi += span * 0.04;
  return { lo, hi, f: (t) => M.l + ((t - lo) / (hi - lo)) * (W - M.l - M.r) };
}

function timeAxis(x) {
  const g = s("g", { class: "axis" });
  const step = STEPS.find((st) => (x.hi - x.lo) / st <= 8) || STEPS[STEPS.length - 1];
  for (let t = Math.ceil(x.lo / step) * step; t <= x.hi; t += step) {
    const px = x.f(t);
    g.append(s("line", { x1: px, x2: px, y1: H - M.b, y2: H - M.b + 4 }),
      s("text", { x: px, y: H - 8, "text-anchor": "middle" }, hhmm(t)));
  }
  g.append(s("line", { x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b }));
  return g;
}

function complianceChart(sigs) {
  const pts = sigs.map((sg) => ({ t: when(sg), v: Number(sg.metrics.compliance_rate), sg })).filter((p) => p.t !== null && Number.isFinite(p.v))
    .sort((a, b) => a.t - b.t);
  const m0 = sigs[0].metrics || {};
  const slo = m0.slo_threshold, warn = m0.warning_threshold;
  const minV = Math.min(...pts.map((p) => p.v), slo ?? 1, warn ?? 1);
  const lo = Math.max(0, Math.floor((minV - 0.05) * 10) / 10), hi = 1;
  const y = (v) => M.t + (1 - (v - lo) / (hi - lo)) * (H - M.t - M.b);
  const x = xScale(pts);
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, width: W, "data-testid": "compliance-chart", role: "img" });
  const grid = s("g", { class: "grid-lines" });
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    grid.append(s("line", { x1: M.l, x2: W - M.r, y1: y(v), y2: y(v) }),
      s("text", { x: M.l - 6, y: y(v) + 4, "text-anchor": "end", class: "axis-label" }, `${Math.round(v * 100)}%`));
  }
  svg.append(grid, timeAxis(x));
  const thr = (v, cls, label) => (v == null ? null : s("g", { class: cls },
    s("line", { x1: M.l, x2: W - M.r, y1: y(v), y2: y(v) }),
    s("text", { x: W - M.r - 4, y: y(v) - 4, "text-anchor": "end" }, `${label} ${fmtPct(v)}`)));
  svg.append(thr(slo, "thr thr-slo", "SLO"), thr(warn, "thr thr-warn", "warning"));
  const finals = pts.filter((p) => !p.sg.provisional);
  if (finals.length > 1) svg.append(s("polyline", { class: "series", points: finals.map((p) => `${x.f(p.t)},${y(p.v)}`).join(" ") }));
  for (const p of pts) {
    const c = STATE_COLOR[p.sg.state] || STATE_COLOR.UNKNOWN;
    svg.append(s("circle", { cx: x.f(p.t), cy: y(p.v), r: p.sg.provisional ? 5 : 4.5, fill: p.sg.provisional ? "#fff" : c,
      stroke: c, "stroke-width": 2, class: "pt", "data-state": p.sg.state, "data-provisional": p.sg.provisional ? "true" : "false" },
    s("title", null, `${fmtTime(p.sg.window && p.sg.window.start)} → ${fmtTime(p.sg.window && p.sg.window.end, { date: false })}\n` +
      `${p.sg.state}${p.sg.provisional ? " (provisional)" : ""} · compliance ${fmtPct(p.v)} · ${fmtNum(p.sg.metrics.fail_count)} failed of ${fmtNum(p.sg.metrics.evidence_count)}`)));
  }
  return svg;
}

function stateStrip(sigs) {
  const pts = sigs.map((sg) => ({ t: when(sg), sg })).filter((p) => p.t !== null).sort((a, b) => a.t - b.t);
  const x = xScale(pts);
  const h2 = 70;
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${h2}`, width: W, role: "img" });
  svg.append(s("line", { class: "axis", x1: M.l, x2: W - M.r, y1: 40, y2: 40 }));
  for (const p of pts) {
    const c = STATE_COLOR[p.sg.state] || STATE_COLOR.UNKNOWN;
    svg.append(s("rect", { x: x.f(p.t) - 5, y: 18, width: 10, height: 22, rx: 2, fill: p.sg.provisional ? "#fff" : c, stroke: c, "stroke-width": 2 },
      s("title", null, `${fmtTime(p.t)} ${p.sg.state}`)));
  }
  const step = STEPS.find((st) => (x.hi - x.lo) / st <= 8) || STEPS[STEPS.length - 1];
  for (let t = Math.ceil(x.lo / step) * step; t <= x.hi; t += step) {
    svg.append(s("text", { class: "axis-label", x: x.f(t), y: 60, "text-anchor": "middle" }, hhmm(t)));
  }
  return svg;
}

function groupSignals(signals) {
  const groups = new Map();
  for (const sg of signals) {
    const key = `${sg.signal_type}|${(sg.window && sg.window.type) || ""}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(sg);
  }
  const order = (k) => { const i = SIGNAL_TYPES.indexOf(k.split("|")[0]); return i < 0 ? 99 : i; };
  return [...groups.entries()].sort((a, b) => order(a[0]) - order(b[0]) || a[0].localeCompare(b[0]));
}

function chartCard(key, sigs) {
  const [type, wtype] = key.split("|");
  const latest = sigs[0];
  const hasRate = sigs.some((sg) => sg.metrics && sg.metrics.compliance_rate !== undefined && sg.metrics.compliance_rate !== null);
  const legend = h("div", { class: "legend" },
    ["OK", "WARNING", "CRITICAL"].map((st) => h("span", { class: "legend-item" }, h("i", { class: "dot", style: { background: STATE_COLOR[st] } }), st.toLowerCase())),
    h("span", { class: "legend-item" }, h("i", { class: "dot hollow" }), "provisional"),
    hasRate ? [h("span", { class: "legend-item" }, h("i", { class: "line slo" }), "SLO threshold"), h("span", { class: "legend-item" }, h("i", { class: "line warn" }), "warning threshold")] : null);
  return h("section", { class: "card", "data-testid": `timeline-${type}` },
    h("div", { class: "card-head" },
      h("h2", { class: "card-title" }, `${SIGNAL_SHORT[type] || type} `, h("span", { class: "muted" }, `${type}${wtype ? ` · ${wtype} windows` : ""}`)),
      h("div", { class: "card-head-right" }, hasRate ? h("span", { class: "big-num" }, fmtPct(latest.metrics.compliance_rate)) : null, stateBadge(latest.state))),
    hasRate ? complianceChart(sigs) : stateStrip(sigs), legend);
}

function signalRows(signals) {
  return signals.slice(0, 40).map((sg) => {
    const m = sg.metrics || {};
    const top = (sg.top_failures || [])[0];
    return h("tr", { class: sg.provisional ? "provisional" : "" },
      h("td", { class: "nowrap" }, fmtTime(sg.timestamp)),
      h("td", null, sg.signal_type),
      h("td", null, stateBadge(sg.state), sg.provisional ? h("span", { class: "tag" }, "provisional") : null,
        sg.revision ? h("span", { class: "tag" }, `rev ${sg.revision}`) : null),
      h("td", { class: "nowrap small" }, sg.window ? `${fmtTime(sg.window.start, { date: false })}–${fmtTime(sg.window.end, { date: false })} ${sg.window.type || ""}` : "—"),
      h("td", { class: "num" }, m.compliance_rate != null ? fmtPct(m.compliance_rate) : "—"),
      h("td", { class: "num" }, m.evidence_count != null ? `${fmtNum(m.fail_count)} / ${fmtNum(m.evidence_count)}` : "—"),
      h("td", { class: "mono small" }, top ? `${top.signature} ×${fmtNum(top.count)}${top.producer ? ` (${top.producer} ${top.producer_version || ""})` : ""}` : ""));
  });
}

export async function renderDataset(urn) {
  const [datasets, found, incidents, notices] = await Promise.all([api("/datasets"),
    api(`/signals?dataset=${enc(urn)}&limit=500${apiRange({ until: null })}`),
    api(`/incidents?dataset=${enc(urn)}`).catch(() => []), datasetNotices(urn)]);
  // The global range, in event time: the API keeps signals from `from`; the end is cut here.
  const signals = found.filter((sg) => inRange(when(sg)));
  const ds = datasets.find((d) => d.urn === urn) || { urn, name: urn, worst_state: "UNKNOWN" };
  const groups = groupSignals(signals);
  W = Math.max(560, Math.min(1400, document.getElementById("view").clientWidth - 92));
  const downstream = (ds.feeds || []).map((f) => link(`/datasets/${enc(f.to)}`, { class: "pill" }, f.to.replace(/^urn:dp:/, ""), f.type ? h("span", { class: "muted" }, ` ${f.type}`) : null));
  const open = incidents.filter((i) => i.status !== "RESOLVED");
  return h("div", { class: "page" },
    h("div", { class: "crumbs" }, link("/", null, "Health"), " / ", h("span", { class: "mono" }, urn)),
    h("section", { class: `card ds-head ${stateClass(ds.worst_state)}`, "data-testid": "dataset-header", "data-state": ds.worst_state },
      h("div", { class: "ds-title" }, h("h1", null, ds.name || urn), stateBadge(ds.worst_state), tierBadge(ds.tier)),
      h("div", { class: "urn" }, urn),
      h("div", { class: "tile-meta" }, h("span", { class: "meta" }, ds.type || "dataset"), h("span", { class: "meta" }, `owner ${ds.owner || "—"}`),
        ds.classification ? h("span", { class: "meta" }, ds.classification) : null,
        (ds.consumers || []).length ? h("span", { class: "meta" }, `consumers: ${ds.consumers.join(", ")}`) : null),
      downstream.length ? h("div", { class: "feeds" }, h("span", { class: "muted small" }, "Feeds → "), downstream) : null,
      open.length ? h("div", { class: "ds-incidents" }, open.map((i) => link(`/incidents/${enc(i.incident_id)}`, { class: "inc-pill" }, sevBadge(i.severity), ` ${i.incident_id} · ${i.title} `, statusBadge(i.status)))) : null),
    notices,
    rangeNote(),
    h("div", { class: "evidence-link" }, link(`/evidence?dataset=${enc(urn)}`, { "data-testid": "dataset-evidence-link" }, "Browse this dataset's evidence →")),
    groups.length ? h("div", { class: "charts" }, groups.map(([k, sigs]) => chartCard(k, sigs))) : section("Signal timelines", null, empty(currentRange().active ? "No signals in this time range (event time)." : "No signals for this dataset yet.")),
    section("Recent signals", { class: "card flush" }, signals.length
      ? table(["time", "type", "state", "window", "compliance", "failed / total", "top failure"], signalRows(signals), { "data-testid": "signals-table" })
      : empty("No signals.")));
}

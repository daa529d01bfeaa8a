// Health grid: one tile per dataset, worst first, then tier.
import { h, api, link, stateBadge, tierBadge, stateClass, shortUrn, datasetHref, fmtTime,
  SIGNAL_TYPES, SIGNAL_SHORT, STATE_RANK, enc, empty } from "./util.js";
import { currentRange } from "./timerange.js";

function openIncidentsFor(urn, incidents) {
  return incidents.filter((i) => i.dataset_urn === urn && i.status !== "RESOLVED");
}

function chip(type, st) {
  const state = st ? st.state || "UNKNOWN" : null;
  const title = st
    ? `${type}: ${state}${st.measure ? ` (${st.measure.text})` : ""}` +
      `${st.last_updated ? ` · updated ${fmtTime(st.last_updated)}` : ""}` +
      `${st.failure_signature ? ` · ${st.failure_signature}` : ""}`
    : `${type}: no signal`;
  return h("span", { class: `chip ${st ? stateClass(state) : "chip-absent"}`, title, "data-signal": type,
    "data-state": state || "ABSENT" }, SIGNAL_SHORT[type] || type);
}

// The measure the tile's state comes from: the worst state's signal (contract first among equals),
// shown with its own unit ("10.2% compliant", "4 min behind", "1,247 records in window"), never a
// lag or a cost as a percentage.
function headline(ds) {
  const states = ds.states || {};
  const types = [...SIGNAL_TYPES, ...Object.keys(states).filter((t) => !SIGNAL_TYPES.includes(t))];
  const ranked = types.filter((t) => states[t] && states[t].measure)
    .sort((a, b) => (STATE_RANK[states[a].state] ?? 2) - (STATE_RANK[states[b].state] ?? 2));
  return ranked.length ? { type: ranked[0], measure: states[ranked[0]].measure } : null;
}

function riskLine(ds) {
  const path = ds.at_risk.path.map((u) => shortUrn(u)).join(" → ");
  return h("div", { class: "tile-risk", "data-testid": "tile-at-risk", title: ds.at_risk.path.join(" → ") },
    h("b", null, "At risk"), ` · downstream of a breach: ${path}`);
}

function tile(ds, incidents) {
  const worst = ds.worst_state || "UNKNOWN";
  const risky = ds.at_risk && (worst === "UNKNOWN" || worst === "OK");
  const open = openIncidentsFor(ds.urn, incidents);
  const nOpen = ds.open_incidents ?? open.length;
  const top = headline(ds);
  const extra = Object.keys(ds.states || {}).filter((t) => !SIGNAL_TYPES.includes(t));
  const breach = SIGNAL_TYPES.map((t) => ds.states && ds.states[t]).find((st) => st && st.state === worst && st.failure_signature);
  let incLink = h("span", { class: "inc-none" }, "No open incidents");
  if (nOpen > 0) {
    const href = open.length === 1 ? `/incidents/${enc(open[0].incident_id)}` : `/incidents?dataset=${enc(ds.urn)}`;
    const label = open.length === 1 ? `${open[0].incident_id} · ${open[0].severity}` : `${nOpen} open incidents`;
    incLink = link(href, { class: "inc-link", "data-testid": "tile-incident-link" }, "⚠ ", label, " →");
  }
  return h("article", { class: `tile ${stateClass(worst)}${risky ? " at-risk" : ""}`, "data-testid": `tile-${ds.urn}`,
    "data-state": worst, "data-at-risk": risky ? "true" : "false" },
    h("div", { class: "tile-head" },
      h("div", { class: "tile-name" },
        link(datasetHref(ds.urn), { class: "tile-title" }, ds.name || shortUrn(ds.urn)),
        h("div", { class: "urn", title: ds.urn }, ds.urn)),
      risky ? h("span", { class: "badge st-risk" }, "AT RISK") : stateBadge(worst)),
    h("div", { class: "tile-meta" },
      tierBadge(ds.tier),
      h("span", { class: "meta" }, ds.type || "dataset"),
      h("span", { class: "meta" }, ds.owner ? `owner ${ds.owner}` : "no owner")),
    h("div", { class: "chips" }, SIGNAL_TYPES.map((t) => chip(t, ds.states && ds.states[t])),
      extra.map((t) => chip(t, ds.states[t]))),
    breach ? h("div", { class: "tile-sig", title: breach.failure_signature }, breach.failure_signature) : null,
    risky ? riskLine(ds) : null,
    h("div", { class: "tile-foot" },
      h("span", { class: "score", "data-testid": "tile-measure", title: top ? `${top.type}: ${top.measure.metric}` : "" },
        top ? [h("b", null, top.measure.text), ` · ${SIGNAL_SHORT[top.type] || top.type}`]
          : h("span", { class: "muted" }, "no measure yet")),
      incLink));
}

function summary(datasets, incidents) {
  const counts = { CRITICAL: 0, WARNING: 0, OK: 0, UNKNOWN: 0 };
  const isRisky = (d) => d.at_risk && ["UNKNOWN", "OK"].includes(d.worst_state || "UNKNOWN");
  datasets.filter((d) => !isRisky(d))
    .forEach((d) => { counts[d.worst_state || "UNKNOWN"] = (counts[d.worst_state || "UNKNOWN"] || 0) + 1; });
  const risky = datasets.filter(isRisky).length;
  const open = incidents.filter((i) => i.status !== "RESOLVED");
  const sev1 = open.filter((i) => i.severity === "SEV-1").length;
  const stat = (label, value, cls) => h("div", { class: `stat ${cls || ""}` }, h("b", null, value), h("span", null, label));
  return h("div", { class: "summary" },
    stat("critical", counts.CRITICAL, counts.CRITICAL ? "st-critical" : ""),
    stat("warning", counts.WARNING, counts.WARNING ? "st-warning" : ""),
    stat("at risk", risky, risky ? "st-warning" : ""),
    stat("healthy", counts.OK, "st-ok"),
    stat("unknown", counts.UNKNOWN, ""),
    h("div", { class: "stat-sep" }),
    link("/incidents", { class: `stat ${open.length ? "st-critical" : ""}` }, h("b", null, open.length),
      h("span", null, `open incident${open.length === 1 ? "" : "s"}${sev1 ? ` · ${sev1} SEV-1` : ""}`)));
}

export async function renderHealth() {
  const [datasets, incidents] = await Promise.all([api("/datasets"), api("/incidents").catch(() => [])]);
  const sorted = [...datasets].sort((a, b) =>
    (STATE_RANK[a.worst_state] ?? 2) - (STATE_RANK[b.worst_state] ?? 2) ||
    (a.tier ?? 9) - (b.tier ?? 9) || String(a.name).localeCompare(String(b.name)));
  return h("div", { class: "page" },
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Dataset health"),
        h("p", { class: "muted" }, `${datasets.length} datasets · worst state first, then tier`)),
      summary(datasets, incidents)),
    currentRange().active ? h("div", { class: "range-note", "data-testid": "range-note" },
      "The grid shows each dataset's current state; the event-time range applies to incidents, notices, evidence and timelines.") : null,
    sorted.length ? h("div", { class: "grid", "data-testid": "health-grid" }, sorted.map((d) => tile(d, incidents)))
      : empty("No datasets registered yet."));
}

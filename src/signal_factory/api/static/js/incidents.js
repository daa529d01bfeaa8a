// Incidents list and the incident page (header, ack/resolve, RCA, causal graph).
import { h, api, ApiError, link, sevBadge, statusBadge, stateBadge, fmtTime, fmtPct, fmtNum, datasetHref, enc, empty,
  section, table, shortUrn, tierBadge } from "./util.js";
import { rcaSections } from "./rca.js";
import { session, writeHeaders } from "./session.js";
import { causalGraph } from "./graph.js";
import { inRange, rangeNote, currentRange } from "./timerange.js";

const TOKEN_KEY = "sf.token";
const BY_KEY = "sf.by";
let listFilter = "active";

// ---- list ------------------------------------------------------------------------------------------
export async function renderIncidents() {
  const params = new URLSearchParams(location.search);
  const dataset = params.get("dataset");
  const all = await api(`/incidents?limit=10000${dataset ? `&dataset=${enc(dataset)}` : ""}`);
  // The global range filters on when the incident opened, in event time (`created_at`).
  const incidents = all.filter((i) => inRange(i.created_at));
  const ranged = currentRange().active;
  const counts = { active: 0, OPEN: 0, ACKNOWLEDGED: 0, RESOLVED: 0, all: incidents.length };
  incidents.forEach((i) => { counts[i.status] = (counts[i.status] || 0) + 1; if (i.status !== "RESOLVED") counts.active++; });
  const shown = incidents.filter((i) => listFilter === "all" || (listFilter === "active" ? i.status !== "RESOLVED" : i.status === listFilter))
    .sort((a, b) => String(a.severity).localeCompare(String(b.severity)) || String(b.created_at).localeCompare(String(a.created_at)));
  const tabs = [["active", "Active"], ["OPEN", "Open"], ["ACKNOWLEDGED", "Acknowledged"], ["RESOLVED", "Resolved"], ["all", "All"]];
  const rows = shown.map((i) => {
    const href = `/incidents/${enc(i.incident_id)}`;
    const sp = i.suspected_producer || {};
    return h("tr", { class: "row-link", "data-testid": `incident-row-${i.incident_id}`,
      onclick: (ev) => { if (!ev.target.closest("a")) window.dispatchEvent(new CustomEvent("sf:navigate", { detail: href })); } },
    h("td", null, sevBadge(i.severity)),
    h("td", null, link(href, { class: "mono strong" }, i.incident_id)),
    h("td", { class: "title-cell" }, link(href, null, i.title), h("div", { class: "urn" }, i.failure_signature || "")),
    h("td", null, link(datasetHref(i.dataset_urn), { class: "mono small" }, shortUrn(i.dataset_urn))),
    h("td", null, statusBadge(i.status), i.muted_by ? h("span", { class: "badge st-unknown", "data-testid": "muted-badge",
      title: `muted until ${fmtTime(i.muted_by.until)}: ${i.muted_by.reason}` }, "MUTED") : null),
    h("td", null, sp.service ? `${sp.service} ${sp.version || ""}` : "—"),
    h("td", { class: "nowrap" }, fmtTime(i.created_at)));
  });
  return h("div", { class: "page" },
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Incidents"),
        h("p", { class: "muted" }, dataset ? ["Filtered to ", h("span", { class: "mono" }, dataset), " · ", link("/incidents", null, "clear filter")]
          : `${counts.active} active · ${counts.RESOLVED || 0} resolved`)),
      h("div", { class: "tabs" }, tabs.map(([k, label]) => h("button", { class: `tab ${listFilter === k ? "active" : ""}`,
        onclick: () => { listFilter = k; window.dispatchEvent(new Event("sf:refresh")); } }, label, h("span", { class: "count" }, counts[k] || 0))))),
    rangeNote(),
    h("div", { class: "card flush" }, rows.length
      ? table(["sev", "id", "title", "dataset", "status", "suspected producer", "opened (event time)"], rows, { "data-testid": "incident-table" })
      : h("div", { "data-testid": "incidents-empty" }, empty(ranged && !incidents.length
        ? `No incidents opened in this time range (${currentRange().label}, event time); ${all.length} outside it.`
        : listFilter === "active" ? "No active incidents. All quiet." : "No incidents match this filter."))));
}

// ---- actions (ack / resolve) -----------------------------------------------------------------------
// One action panel per incident, kept across live refreshes so typed values and messages survive.
let panel = null;

function actionPanel(inc) {
  if (panel && panel.id === inc.incident_id && panel.user === session.user) { panel.update(inc); return panel.el; }
  const token = h("input", { type: "password", class: "input", placeholder: "API token", autocomplete: "off",
    "data-testid": "token-input", value: sessionStorage.getItem(TOKEN_KEY) || "",
    oninput: (e) => sessionStorage.setItem(TOKEN_KEY, e.target.value) });
  const by = h("input", { type: "text", class: "input", placeholder: "your name", "data-testid": "by-input",
    value: sessionStorage.getItem(BY_KEY) || "", oninput: (e) => sessionStorage.setItem(BY_KEY, e.target.value) });
  const note = h("input", { type: "text", class: "input wide", placeholder: "resolution note (e.g. rolled back to v3.16)",
    "data-testid": "resolve-note" });
  const msg = h("div", { class: "action-msg", "data-testid": "action-message", role: "status" });
  const ack = h("button", { class: "btn btn-primary", "data-testid": "ack-button" }, "Acknowledge");
  const res = h("button", { class: "btn", "data-testid": "resolve-button" }, "Resolve");
  const show = (kind, text) => { msg.className = `action-msg ${kind}`; msg.textContent = text; };

  async function write(action, body) {
    const t = token.value.trim();
    show("info", action === "ack" ? "Acknowledging…" : "Resolving…");
    try {
      const headers = writeHeaders(t);
      await api(`/incidents/${enc(inc.incident_id)}/${action}`, { method: "POST", headers, body: JSON.stringify(body) });
      show("ok", action === "ack" ? "Acknowledged." : "Resolved.");
      window.dispatchEvent(new Event("sf:refresh"));
    } catch (err) {
      const detail = err.detail || err.message;
      if (err instanceof ApiError && err.status === 403) {
        show("error", `Read-only server: ${action === "ack" ? "acknowledge" : "resolve"} was refused (HTTP 403). ${detail || ""}`.trim());
      } else if (err instanceof ApiError && err.status === 401) {
        show("error", `Not authorised (401): ${t ? "the token was rejected" : session.signIn ? "sign in (top right) or enter an API token" : "enter an API token first"}.`);
      } else if (err instanceof ApiError && err.status === 409) {
        show("error", `Conflict (409): ${detail}`);
      } else {
        show("error", `Failed: ${detail}`);
      }
    }
  }
  const who = () => by.value.trim() || "web-ui";
  ack.addEventListener("click", () => write("ack", { by: who() }));
  res.addEventListener("click", () => write("resolve", { by: who(), note: note.value.trim() }));

  // Mute / snooze: pages stop for the dataset or the signature until the time is up; the incident stays.
  const duration = h("select", { class: "input", "data-testid": "mute-duration" },
    ["1h", "4h", "12h", "1d"].map((d) => h("option", { value: d }, d)));
  const reason = h("input", { type: "text", class: "input wide", placeholder: "why mute (shown on the incident)",
    "data-testid": "mute-reason" });
  async function mute(kind) {
    const t = token.value.trim();
    if (!reason.value.trim()) { show("error", "Say why you mute (the next engineer reads it)."); return; }
    show("info", "Muting…");
    try {
      const headers = writeHeaders(t);
      const target = kind === "dataset" ? inc.dataset_urn : inc.failure_signature;
      const m = await api("/mutes", { method: "POST", headers, body: JSON.stringify({ kind, target,
        duration: duration.value, reason: reason.value.trim(), by: who() }) });
      show("ok", `Muted ${kind} until ${fmtTime(m.until)}.`);
      window.dispatchEvent(new Event("sf:refresh"));
    } catch (err) {
      const status = err instanceof ApiError ? ` (HTTP ${err.status})` : "";
      show("error", `Mute refused${status}: ${err.detail || err.message}`);
    }
  }
  const muteDs = h("button", { class: "btn", "data-testid": "mute-dataset-button" }, "Mute dataset");
  const muteSig = h("button", { class: "btn", "data-testid": "mute-signature-button" }, "Mute signature");
  muteDs.addEventListener("click", () => mute("dataset"));
  muteSig.addEventListener("click", () => mute("signature"));

  const el = h("div", { class: "action-panel", "data-testid": "action-panel" },
    session.user ? h("div", { class: "row muted small", "data-testid": "acting-as" }, `Acting as ${session.user} (signed in)`)
      : h("div", { class: "row" }, token, by),
    h("div", { class: "row" }, ack, res, note),
    h("div", { class: "row" }, muteDs, muteSig, duration, reason),
    msg);
  const update = (cur) => {
    ack.disabled = cur.status !== "OPEN";
    res.disabled = cur.status === "RESOLVED";
    ack.title = ack.disabled ? `Already ${cur.status.toLowerCase()}` : "Acknowledge: you are looking at it";
  };
  update(inc);
  panel = { id: inc.incident_id, user: session.user, el, update };
  return el;
}

// ---- incident page ---------------------------------------------------------------------------------
function header(inc, ds) {
  const sp = inc.suspected_producer || {}, im = inc.impact || {}, ev = inc.evidence_summary || {};
  const fact = (k, v) => (v === null || v === undefined || v === "" ? null : h("div", { class: "fact-row" }, h("dt", null, k), h("dd", null, v)));
  return h("section", { class: `card incident-head sev-border-${(inc.severity || "").replace(/\D/g, "")}`, "data-testid": "incident-header" },
    h("div", { class: "ih-top" },
      h("div", { class: "ih-title" },
        h("div", { class: "ih-badges" }, sevBadge(inc.severity), statusBadge(inc.status), h("span", { class: "mono muted" }, inc.incident_id),
          ds ? stateBadge(ds.worst_state) : null),
        h("h1", { "data-testid": "incident-title" }, inc.title),
        h("div", { class: "muted small" }, `Opened ${fmtTime(inc.created_at)} · updated ${fmtTime(inc.updated_at)}`,
          inc.acknowledged_at ? ` · acknowledged ${fmtTime(inc.acknowledged_at)} by ${inc.acknowledged_by || "?"}` : "",
          inc.resolved_at ? ` · resolved ${fmtTime(inc.resolved_at)}` : ""),
        inc.muted_by ? h("div", { class: "mute-banner", "data-testid": "muted-banner" },
          h("b", null, "Muted"), ` · ${inc.muted_by.kind} ${inc.muted_by.target} until ${fmtTime(inc.muted_by.until)}`,
          ` by ${inc.muted_by.created_by}: ${inc.muted_by.reason} (no pages are sent; the incident still updates)`) : null),
      actionPanel(inc)),
    h("dl", { class: "facts" },
      fact("Dataset", link(datasetHref(inc.dataset_urn), { class: "mono" }, inc.dataset_urn)),
      fact("Signal", inc.signal_type),
      fact("Failure signature", h("span", { class: "mono" }, inc.failure_signature)),
      fact("New signatures", (inc.new_signatures || []).length ? h("ul", { class: "sig-list", "data-testid": "new-signatures" },
        inc.new_signatures.map((sig) => h("li", { class: "mono", "data-signature": sig }, sig)),
        inc.new_signatures_overflow ? h("li", { class: "muted" }, `+${fmtNum(inc.new_signatures_overflow)} more`) : null) : null),
      fact("Producer", sp.service ? `${sp.service} ${sp.version || ""}${sp.confidence ? ` (${sp.confidence})` : ""}` : null),
      fact("Impact", [im.tier != null ? tierBadge(im.tier) : null, " ", im.classification || "",
        (im.downstream_consumers || []).length ? ` · consumers: ${im.downstream_consumers.join(", ")}` : "",
        (im.downstream_datasets || []).length ? ` · ${im.downstream_datasets.length} downstream datasets` : ""]),
      fact("Evidence", ev.total_events != null ? `${fmtNum(ev.failed_events)} failed of ${fmtNum(ev.total_events)} (${typeof ev.failure_rate === "string" ? ev.failure_rate : fmtPct(ev.failure_rate)}) · first failure ${fmtTime(ev.first_failure)}` : null),
      fact("Resolution", inc.resolution),
      fact("Activity (wall clock)", (inc.activity || []).length ? h("ul", { class: "activity", "data-testid": "activity" },
        inc.activity.map((a) => h("li", { "data-action": a.action }, `${fmtTime(a.at)} · `, h("b", null, a.actor),
          ` ${a.action.replace("_", "-")}`, a.note ? `: ${a.note}` : ""))) : null),
      fact("RCA link", inc.rca_link && !inc.rca_link.endsWith(location.pathname) ? h("a", { href: inc.rca_link, target: "_blank", rel: "noopener" }, inc.rca_link) : null)));
}

export async function renderIncident(id) {
  const [inc, rca, graph, datasets] = await Promise.all([
    api(`/incidents/${enc(id)}`),
    api(`/rca/incidents/${enc(id)}`).catch((e) => ({ _error: e })),
    api(`/graph/incidents/${enc(id)}`).catch((e) => ({ _error: e })),
    api("/datasets").catch(() => []),
  ]);
  const ds = datasets.find((d) => d.urn === inc.dataset_urn);
  const graphCard = graph._error
    ? section("Causal graph", null, empty(`Causal graph unavailable: ${graph._error.message}`))
    : section("Causal graph", { class: "card graph-card" }, (graph.nodes || []).length ? causalGraph(graph, datasets, inc) : empty("No graph nodes for this incident."));
  let body;
  if (rca._error) {
    body = [graphCard, section("Root cause analysis", { "data-testid": "root-cause" }, empty(`RCA unavailable: ${rca._error.message}`))];
  } else {
    const sec = rcaSections(rca);
    body = [...sec.top, graphCard, h("div", { class: "cols" }, h("div", { class: "col-main" }, sec.main), h("div", { class: "col-side" }, sec.side))];
  }
  return h("div", { class: "page" },
    h("div", { class: "crumbs" }, link("/incidents", null, "Incidents"), " / ", h("span", null, inc.incident_id)),
    header(inc, ds), body);
}

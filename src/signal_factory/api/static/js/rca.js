// The RCA report, same sections as the terminal panel (rca/render.py).
import { h, section, table, fmtTime, fmtPct, fmtNum, fmtDuration, tierBadge, datasetHref, link, empty } from "./util.js";

const IDENTITY = { HIGH: "explicit header match", MEDIUM: "topic mapping only", LOW: "payload hint" };
const FAILING = { MISSING_FIELD: "missing a required field", TYPE_MISMATCH: "with a type mismatch" };

function failingRecords(sig) {
  const [reason, rest] = String(sig || "").split(":");
  if (reason === "MISSING_FIELD" && rest) return `missing ${rest.split("@")[0]}`;
  return FAILING[reason] || "failing the contract";
}

export function chainLines(r) {
  const rc = r.root_cause || {}, ev = r.evidence || {}, out = [];
  if (rc.kind === "DEPLOYMENT") {
    const how = rc.inferred ? "inferred from evidence" : "deployment marker";
    out.push(["Deployment", `${rc.service} ${rc.version} deployed at ${fmtTime(rc.deployed_at)} (${how}${rc.commit ? `, commit ${rc.commit}` : ""})`]);
  }
  if (rc.kind === "UPSTREAM_DRIFT" && ev.realtime_warn_evidence_id) {
    out.push(["Real-time WARN", `${ev.realtime_warn_evidence_id} (${fmtTime(ev.realtime_warn_at)}) from ${ev.producer || "?"} ${ev.producer_version || ""}`]);
  }
  if (ev.batch_fail_evidence_id) {
    const more = ev.batch_fail_count > 1 ? ` (+${fmtNum(ev.batch_fail_count - 1)} more)` : "";
    out.push(["Batch FAILs", `${ev.batch_fail_evidence_id}${more}`]);
  }
  let first = fmtTime(ev.first_failure);
  if (rc.seconds_to_first_failure !== null && rc.seconds_to_first_failure !== undefined) {
    first += ` (${fmtDuration(rc.seconds_to_first_failure)} after ${rc.kind === "DEPLOYMENT" ? "deployment" : "the first real-time evidence"})`;
  }
  out.push(["First failure", first]);
  if (ev.failed_events && ev.total_events) {
    const what = (r.signatures || []).length ? `failing ${r.signatures.length} different checks` : failingRecords(r.header && r.header.failure_signature);
    out.push(["Failure pattern", `${fmtNum(ev.failed_events)} of ${fmtNum(ev.total_events)} events (${fmtPct(ev.failed_events / ev.total_events)}) ${what}`]);
  }
  const share = ((r.confidence && r.confidence.reasons) || []).find((x) => x.factor === "signature_determinism");
  if (share && (r.signatures || []).length) out.push(["Signatures", share.text]);
  else if (share && share.value >= 0.999) out.push(["Signature", `All failures have identical signature: ${r.header.failure_signature}`]);
  else if (share) out.push(["Signature share", share.text]);
  if (ev.identity_confidence) out.push(["Producer attribution", `${ev.identity_confidence} confidence (${IDENTITY[ev.identity_confidence] || "unknown"})`]);
  const sp = ev.producing_span;
  if (sp) out.push(["Producing span", `${sp.service} \`${sp.operation}\` ${sp.status} in ${sp.duration_ms} ms (trace ${sp.trace_id})`]);
  (ev.error_spans || []).forEach((e) => out.push(["Error span", `${e.service} \`${e.operation}\` at ${fmtTime(e.started_at)}${e.status_message ? `: ${e.status_message}` : ""}`]));
  (ev.run_ids || []).forEach((id) => out.push(["OpenLineage run", id]));
  (ev.dag_run_ids || []).forEach((id) => out.push(["DAG run", id]));
  return out;
}

function rootCause(r) {
  const rc = r.root_cause || {}, c = r.confidence || {};
  const level = (c.level || "LOW").toLowerCase();
  return h("section", { class: `card root-cause level-${level}`, "data-testid": "root-cause" },
    h("div", { class: "rc-head" },
      h("h2", { class: "card-title" }, "Root cause"),
      h("span", { class: `conf conf-${level}`, "data-testid": "confidence" },
        h("b", null, fmtPct(c.score, 0)), ` confidence · ${c.level || "?"}`)),
    h("p", { class: "rc-statement" }, rc.statement || "No root cause statement."),
    h("div", { class: "rc-facts" },
      rc.kind ? h("span", { class: "fact" }, h("i", null, "kind"), rc.kind.replace("_", " ").toLowerCase()) : null,
      rc.service ? h("span", { class: "fact" }, h("i", null, "service"), `${rc.service}${rc.version ? " " + rc.version : ""}`) : null,
      rc.deployed_at ? h("span", { class: "fact" }, h("i", null, "deployed"), fmtTime(rc.deployed_at)) : null,
      rc.commit ? h("span", { class: "fact" }, h("i", null, "commit"), rc.commit) : null,
      rc.first_failure ? h("span", { class: "fact" }, h("i", null, "first failure"), fmtTime(rc.first_failure)) : null,
      rc.seconds_to_first_failure != null ? h("span", { class: "fact" }, h("i", null, "lag"), fmtDuration(rc.seconds_to_first_failure)) : null,
      rc.inferred ? h("span", { class: "fact warn" }, "deployment inferred from evidence") : null));
}

function why(r) {
  const c = r.confidence || {};
  const rows = (c.reasons || []).map((x) => h("tr", null,
    h("td", { class: "mono" }, x.factor),
    h("td", { class: "num" }, h("span", { class: "bar" }, h("i", { style: { width: `${Math.round(x.value * 100)}%` } })), x.value.toFixed(2)),
    h("td", { class: "num" }, x.weight.toFixed(2)),
    h("td", { class: "num" }, `+${(x.effect * 100).toFixed(1)}`),
    h("td", null, x.text)));
  return section("Why this confidence", { "data-testid": "confidence-reasons" },
    rows.length ? table(["factor", "score", "weight", "adds", "why"], rows) : empty("No factors recorded."),
    h("p", { class: "muted small" }, `Ceiling ${fmtPct(c.ceiling ?? 1, 0)}: correlation in the graph is not proof.`));
}

function chain(r) {
  const ev = r.evidence || {};
  const refs = [];
  if (ev.primary_evidence_id) refs.push(["Primary evidence", ev.primary_evidence_id]);
  if (ev.primary_trace_id) refs.push(["Trace", ev.primary_trace_id]);
  if (ev.producer) refs.push(["Producer", `${ev.producer} ${ev.producer_version || ""}`]);
  if (ev.total_events != null) refs.push(["Events", `${fmtNum(ev.failed_events)} failed of ${fmtNum(ev.total_events)}`]);
  if (ev.signature_count != null) refs.push(["Signature count", fmtNum(ev.signature_count)]);
  if (ev.first_evidence_id) refs.push(["First evidence", ev.first_evidence_id]);
  return section("Evidence chain", { "data-testid": "evidence-chain" },
    h("ul", { class: "chain" }, chainLines(r).map(([k, v]) => h("li", null, h("b", null, k), v))),
    h("dl", { class: "kv" }, refs.map(([k, v]) => [h("dt", null, k), h("dd", { class: "mono" }, v)])));
}

// Failures spread over many signatures (an incident keyed by its signal type): each one, explained or not.
function signatures(r) {
  const sigs = r.signatures || [];
  if (!sigs.length) return null;
  const rows = sigs.map((x) => h("tr", { "data-signature": x.reason_code, "data-explained": String(!!x.explained) },
    h("td", { class: "mono" }, x.reason_code), h("td", { class: "num" }, fmtNum(x.count)),
    h("td", { class: "nowrap" }, fmtTime(x.first_failure)),
    h("td", null, x.producer ? `${x.producer} ${x.producer_version || ""}` : "unknown"),
    h("td", null, x.explained ? "yes" : h("span", { class: "muted" }, "no"))));
  return section(`Signatures (${sigs.length}, none dominant)`, { "data-testid": "rca-signatures" },
    table(["signature", "failures", "first failure", "producer", "explained by the cause"], rows));
}

function timeline(r) {
  const rows = (r.timeline || []).map((e) => h("tr", null,
    h("td", { class: "mono nowrap" }, fmtTime(e.time)), h("td", null, h("span", { class: "actor" }, e.actor)), h("td", null, e.event)));
  return section("Timeline", { "data-testid": "timeline" },
    rows.length ? table(["event time (UTC)", "actor", "event"], rows) : empty("No timeline."));
}

function flow(r) {
  if (!(r.data_flow || []).length) return null;
  const hops = [];
  r.data_flow.forEach((hop, i) => {
    if (i) hops.push(h("span", { class: "flow-arrow" }, "→"));
    const el = h("span", { class: `flow-hop hop-${hop.kind}`, title: hop.note || hop.ref || hop.label }, hop.label);
    hops.push(hop.kind === "dataset" && hop.ref ? link(datasetHref(hop.ref), null, el) : el);
  });
  const notes = r.data_flow.filter((x) => x.note).map((x) => h("li", null, h("b", null, x.label), ": ", x.note));
  return section("Data flow", null, h("div", { class: "flow" }, hops), notes.length ? h("ul", { class: "notes" }, notes) : null);
}

function blast(r) {
  const items = r.blast_radius || [];
  if (!items.length) return section("Blast radius", { "data-testid": "blast-radius" }, empty("No downstream datasets in the graph."));
  const tier1 = items.filter((b) => b.tier === 1).length;
  const rows = items.map((b) => h("tr", { class: b.tier === 1 ? "strong" : "" },
    h("td", null, b.via === "READ_FROM" ? b.name : link(datasetHref(b.urn), null, b.name),
      b.status ? ` - ${b.status}` : null, h("div", { class: "urn" }, b.urn)),
    h("td", null, b.type || "?"), h("td", null, tierBadge(b.tier)),
    h("td", { class: "num" }, b.via === "WROTE_TO" ? "run output" : String(b.hops)),
    h("td", null, b.impact || (b.feed_type ? `${b.feed_type} feed` : ""))));
  return section("Blast radius", { "data-testid": "blast-radius" },
    h("p", { class: "muted small" }, `${items.length} assets downstream (${tier1} tier 1), FEEDS up to 3 hops.`),
    table(["asset", "type", "tier", "hops", "impact"], rows));
}

function runs(r) {
  if (!(r.affected_runs || []).length) return null;
  const rows = r.affected_runs.map((x) => h("tr", null, h("td", { class: "mono" }, x.run_id), h("td", null, x.job || "?"),
    h("td", { class: "num" }, fmtNum(x.records_failed)), h("td", { class: "num" }, fmtNum(x.records_processed)),
    h("td", { class: "mono" }, x.dag_run_id || "")));
  return section("Affected runs", null, table(["run", "job", "records failed", "of", "DAG run"], rows));
}

function actions(r) {
  return section("Recommended actions", { "data-testid": "actions" },
    (r.actions || []).length ? h("ol", { class: "actions" }, r.actions.map((a) => h("li", null, a))) : empty("None."));
}

function others(r) {
  const out = [];
  if ((r.alternatives || []).length) {
    out.push(section("Alternatives considered", { "data-testid": "alternatives" },
      h("ul", { class: "alts" }, r.alternatives.map((a) => h("li", null,
        h("span", { class: `verdict v-${a.verdict}` }, (a.verdict || "lost").replace("_", " ")),
        h("b", null, `${a.service} ${a.version || ""}`),
        a.deployed_at ? h("span", { class: "muted" }, ` deployed ${fmtTime(a.deployed_at)}`) : null,
        a.score != null ? h("span", { class: "muted" }, ` · score ${fmtPct(a.score, 0)}`) : null,
        h("div", { class: "why" }, a.why))))));
  } else {
    out.push(section("Alternatives considered", { "data-testid": "alternatives" }, empty("No other candidate causes were found.")));
  }
  if ((r.concurrent_signatures || []).length) {
    out.push(section("Concurrent signatures (analysed separately)", null, h("ul", null, r.concurrent_signatures.map((c) =>
      h("li", null, h("b", { class: "mono" }, c.reason_code), " on ", link(datasetHref(c.dataset_urn), null, c.dataset_urn),
        c.count ? `, ${fmtNum(c.count)} failures` : "", (c.incident_ids || []).length ? `, incident ${c.incident_ids.join(", ")}` : "")))));
  }
  return out;
}

function explanation(r) {
  const ex = r.explanation || {}, t = r.timing || {};
  const ms = (v) => (v == null ? "?" : v < 10 ? `${v.toFixed(2)} ms` : `${Math.round(v)} ms`);
  return section(`Explanation (${ex.source || "template"}${ex.model ? ` · ${ex.model}` : ""})`, null,
    h("p", { class: "explain" }, ex.text || "—"),
    ex.fallback_reason ? h("p", { class: "muted small" }, `LLM not used: ${ex.fallback_reason}`) : null,
    h("p", { class: "muted small" }, `Analysis completed in ${ms(t.total_ms)} · graph traversal ${ms(t.graph_ms)} (${t.graph_calls ?? 0} queries)` +
      (t.llm_ms != null ? ` · LLM ${ms(t.llm_ms)}` : "")));
}

/** Returns {top: [root cause, why], left: [...], right: [...]} sections. */
export function rcaSections(r) {
  return {
    top: [rootCause(r)],
    main: [why(r), chain(r), signatures(r), timeline(r), flow(r), blast(r), runs(r)],
    side: [actions(r), ...others(r), explanation(r)],
  };
}

// Evidence browser (/evidence: filters, newest first, paged) and one evidence (/evidence/{id}: gates, the
// producing record's coordinates, producer, trace and producing span, payload reference).
import { h, api, link, fmtTime, fmtNum, datasetHref, enc, empty, section, table, shortUrn, truncate } from "./util.js";
import { apiRange, rangeNote, TIME_BASE } from "./timerange.js";

const PAGE = 50;
const RESULTS = ["PASS", "WARN", "FAIL"];
const FILTERS = ["dataset", "result", "signature", "producer"];

export function resultBadge(result) {
  const r = (result || "?").toUpperCase();
  return h("span", { class: `badge res-${r.toLowerCase()}`, "data-testid": "result-badge" }, r);
}

function query(params) {
  const p = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(params)) { if (v) p.set(k, v); else p.delete(k); }
  const qs = p.toString();
  return `/evidence${qs ? `?${qs}` : ""}`;
}

const go = (href) => window.dispatchEvent(new CustomEvent("sf:navigate", { detail: href }));

function filterForm(params, datasets) {
  const dataset = h("select", { class: "input", name: "dataset", "data-testid": "filter-dataset" },
    h("option", { value: "" }, "any dataset"),
    datasets.map((d) => h("option", { value: d.urn, selected: d.urn === params.get("dataset") }, shortUrn(d.urn))));
  const result = h("select", { class: "input", name: "result", "data-testid": "filter-result" },
    h("option", { value: "" }, "any result"),
    RESULTS.map((r) => h("option", { value: r, selected: r === (params.get("result") || "").toUpperCase() }, r)));
  const signature = h("input", { class: "input", name: "signature", placeholder: "signature, e.g. MISSING_FIELD:customer_id",
    value: params.get("signature") || "", "data-testid": "filter-signature" });
  const producer = h("input", { class: "input", name: "producer", placeholder: "producer service", value: params.get("producer") || "",
    "data-testid": "filter-producer" });
  const form = h("form", { class: "filters", "data-testid": "evidence-filters" },
    dataset, result, signature, producer,
    h("button", { class: "btn btn-primary", type: "submit", "data-testid": "filter-apply" }, "Filter"),
    link(query(Object.fromEntries(FILTERS.map((k) => [k, null]))), { class: "btn" }, "Clear"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = { dataset: dataset.value, result: result.value, signature: signature.value.trim(), producer: producer.value.trim(),
      cursor: null, at: null };
    go(query(f));
  });
  // A select applies at once; text fields apply on Enter (the form's submit).
  [dataset, result].forEach((el) => el.addEventListener("change", () => form.requestSubmit()));
  return form;
}

function coords(src) {
  if (!src) return "—";
  const parts = [src.topic, src.partition != null ? `p${src.partition}` : null, src.offset != null ? `@${src.offset}` : null].filter(Boolean);
  return parts.length ? parts.join(" ") : (src.origin || "—");
}

function evidenceRows(items) {
  return items.map((ev) => {
    const href = `/evidence/${enc(ev.evidence_id)}`;
    const v = ev.validation || {}, p = ev.producer || {};
    return h("tr", { class: "row-link", "data-testid": "evidence-row", "data-result": v.result,
      onclick: (e) => { if (!e.target.closest("a")) go(href); } },
    h("td", { class: "nowrap" }, fmtTime((ev.source && ev.source.timestamp) || ev.timestamp)),
    h("td", null, resultBadge(v.result)),
    h("td", null, link(datasetHref(ev.dataset_urn), { class: "mono small" }, shortUrn(ev.dataset_urn))),
    h("td", { class: "mono small", "data-testid": "evidence-reasons" }, (v.reason_codes || []).length
      ? v.reason_codes.map((c) => h("div", null, c)) : h("span", { class: "muted" }, "—")),
    h("td", { class: "small" }, p.id ? `${p.id} ${p.version || ""}` : "—"),
    h("td", { class: "mono small nowrap" }, coords(ev.source)),
    h("td", null, link(href, { class: "mono small" }, truncate(ev.evidence_id, 18))));
  });
}

export async function renderEvidenceList() {
  const params = new URLSearchParams(location.search);
  let q = `/evidence?order=newest&limit=${PAGE}`;
  for (const k of FILTERS) if (params.get(k)) q += `&${k}=${enc(k === "result" ? params.get(k).toUpperCase() : params.get(k))}`;
  if (params.get("cursor")) q += `&cursor=${enc(params.get("cursor"))}`;
  q += apiRange();
  const [page, datasets] = await Promise.all([api(q), api("/datasets").catch(() => [])]);
  const at = Math.max(0, parseInt(params.get("at") || "0", 10) || 0);
  const n = page.items.length;
  const filtered = FILTERS.some((k) => params.get(k));
  const count = page.total === 0 ? "No evidence matches" :
    `${fmtNum(page.total)} evidence record${page.total === 1 ? "" : "s"} match · showing ${fmtNum(at + 1)}–${fmtNum(at + n)}, newest first`;
  const pager = h("div", { class: "pager" },
    at > 0 || params.get("cursor") ? link(query({ cursor: null, at: null }), { class: "btn", "data-testid": "page-first" }, "« Newest") : null,
    page.next_cursor ? link(query({ cursor: page.next_cursor, at: String(at + n) }), { class: "btn", "data-testid": "page-next" }, "Older »") : null);
  return h("div", { class: "page" },
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Evidence"),
        h("p", { class: "muted" }, "Per-record verdicts of the five gates, by ", TIME_BASE, ". PASS evidence may be sampled by tier; FAIL and WARN are always kept."))),
    filterForm(params, datasets),
    rangeNote(),
    h("div", { class: "card flush" },
      h("div", { class: "list-head" }, h("span", { "data-testid": "evidence-count" }, count), pager),
      n ? table([`event time`, "result", "dataset", "reason codes", "producer", "topic · partition · offset", "evidence"],
        evidenceRows(page.items), { "data-testid": "evidence-table" })
        : empty(filtered ? "No evidence matches these filters in this time range." : "No evidence in this time range.")));
}

// ---- one evidence ------------------------------------------------------------------------------------
function fact(k, v, testid) {
  return v === null || v === undefined || v === "" ? null : h("div", { class: "fact-row", "data-testid": testid }, h("dt", null, k), h("dd", null, v));
}

function details(d) {
  if (!d || typeof d !== "object") return null;
  return h("code", { class: "mono small details" }, Object.entries(d).map(([k, v]) =>
    `${k}=${typeof v === "object" && v !== null ? JSON.stringify(v) : v}`).join("  "));
}

function gatesTable(gates) {
  const rows = gates.map((g) => h("tr", { "data-testid": "gate-row", "data-gate": g.gate, "data-result": g.result },
    h("td", { class: "mono strong" }, g.gate),
    h("td", null, resultBadge(g.result)),
    h("td", { class: "mono small" }, g.reason_code || h("span", { class: "muted" }, "—")),
    h("td", null, details(g.details))));
  return table(["gate", "result", "reason code", "details"], rows, { "data-testid": "gates-table" });
}

function spanBlock(span, title) {
  return h("div", { class: "span-block", "data-testid": "producing-span" },
    h("div", { class: "strong" }, title),
    h("dl", { class: "facts one" },
      fact("Service", `${span.service}${span.service_version ? ` ${span.service_version}` : ""}`),
      fact("Operation", `${span.operation} (${span.kind})`),
      fact("Status", `${span.status}${span.status_message ? ` · ${span.status_message}` : ""}`),
      fact("Started", `${fmtTime(span.start_ms)} · ${span.duration_ms} ms`),
      fact("Span id", h("span", { class: "mono" }, span.span_id)),
      span.topic ? fact("Wrote to", h("span", { class: "mono" }, coords(span))) : null));
}

export async function renderEvidence(id) {
  const ev = await api(`/evidence/${enc(id)}`);
  const v = ev.validation || {}, src = ev.source || {}, p = ev.producer, otel = ev.otel || {}, lin = ev.lineage;
  const sigLinks = (v.reason_codes || []).map((c) => link(`/evidence?signature=${enc(c)}&dataset=${enc(ev.dataset_urn)}`,
    { class: "pill", "data-testid": "signature-link" }, c));
  const SRC_LABEL = { timestamp: "Record time (event)", timestamp_type: "Timestamp type", origin: "Origin",
    input_dataset: "Input dataset", source_record_id: "Record id / key" };
  const srcFacts = Object.entries(src).filter(([k]) => !["topic", "partition", "offset"].includes(k))
    .map(([k, val]) => fact(SRC_LABEL[k] || k.replace(/_/g, " "), h("span", { class: "mono" }, String(val))));
  return h("div", { class: "page" },
    h("div", { class: "crumbs" }, link("/evidence", null, "Evidence"), " / ", h("span", { class: "mono" }, ev.evidence_id)),
    h("section", { class: "card", "data-testid": "evidence-header" },
      h("div", { class: "ih-badges" }, resultBadge(v.result), h("span", { class: "mono muted" }, ev.evidence_id)),
      h("h1", null, (v.reason_codes || []).length ? v.reason_codes.join(", ") : `${v.result} on every gate`),
      h("dl", { class: "facts" },
        fact("Dataset", link(datasetHref(ev.dataset_urn), { class: "mono" }, ev.dataset_urn)),
        fact("Event time", fmtTime(src.timestamp || ev.timestamp)),
        fact("Processed (wall clock)", fmtTime(ev.timestamp)),
        fact("Failed gates", (v.failed_gates || []).length ? v.failed_gates.join(", ") : "none"),
        fact("Signatures", sigLinks.length ? h("span", { class: "rc-facts" }, sigLinks) : null))),
    section("Gates", { class: "card flush", "data-testid": "evidence-gates" }, gatesTable(v.gates || [])),
    h("div", { class: "cols even" },
      section("Producing record", { "data-testid": "evidence-record" },
        h("dl", { class: "facts one" },
          fact("Topic", src.topic ? h("span", { class: "mono" }, src.topic) : null, "record-topic"),
          fact("Partition", src.partition != null ? String(src.partition) : null, "record-partition"),
          fact("Offset", src.offset != null ? String(src.offset) : null, "record-offset"),
          srcFacts,
          fact("Producer", p ? `${p.id}${p.version ? ` ${p.version}` : ""} (identity ${p.confidence})` : "unknown", "record-producer"),
          p && p.run_id ? fact("Run", h("span", { class: "mono" }, p.run_id)) : null,
          fact("Payload reference", ev.payload_ref ? [h("span", { class: "mono" }, ev.payload_ref), " · ",
            h("a", { href: `/api/v1/evidence/${enc(ev.evidence_id)}/payload`, target: "_blank", rel: "noopener" },
              "read it (PII-redacted; needs the read token when one is set)")] : null, "payload-ref"),
          !ev.payload_ref ? fact("Payload", ev.payload !== undefined && ev.payload !== null ? "kept inline (below)" : "not kept (the evidence holds the verdict, not the record)") : null)),
      section("Trace", { "data-testid": "evidence-trace" },
        h("dl", { class: "facts one" },
          fact("Trace id", otel.trace_id ? h("span", { class: "mono", "data-testid": "trace-id" }, otel.trace_id) : "none (the record carried no trace context)"),
          fact("Span id", otel.span_id ? h("span", { class: "mono" }, otel.span_id) : null)),
        ev.producing_span ? spanBlock(ev.producing_span, "Producing span") :
          h("p", { class: "muted small", "data-testid": "no-producing-span" }, "No producing span kept for this record (none was exported over OTLP)."),
        (ev.error_spans || []).map((sp) => spanBlock(sp, "Error span in the same trace")))),
    lin ? section("Lineage", null, h("dl", { class: "facts one" }, Object.entries(lin).map(([k, val]) =>
      fact(k.replace(/_/g, " "), h("span", { class: "mono" }, Array.isArray(val) ? val.join(", ") : String(val)))))) : null,
    ev.payload !== undefined && ev.payload !== null ? section("Payload", null, h("pre", { class: "payload" }, JSON.stringify(ev.payload, null, 2))) : null);
}

// Hand-written SVG for layered left-to-right graphs: the causal subgraph of an incident and the lineage DAG.
import { s, h, STATE_COLOR, shortUrn, truncate, datasetHref, enc } from "./util.js";

// Service and its Deployment share the first column (stacked), to keep the drawing narrow.
const KIND_BASE = { Service: 0, Deployment: 0, DAGRun: 1, Topology: 1, Job: 1, JobRun: 2, FailureSignature: 2,
  Signal: 3, Incident: 4, Dataset: 4 };
// Edges that define left-to-right order (OWNED_BY / READ_FROM point "backwards" and would make cycles).
const RANK_EDGES = new Set(["INTRODUCED", "CAUSED", "TRIGGERED", "AFFECTS", "FEEDS", "PRODUCED_DRIFT",
  "EXECUTED", "WROTE_TO", "ENCOUNTERED", "INTRODUCED_DRIFT"]);
const KIND_STYLE = {
  Service: { fill: "#eef2ff", stroke: "#6366f1", text: "#3730a3" },
  Deployment: { fill: "#f5f3ff", stroke: "#7c3aed", text: "#5b21b6" },
  FailureSignature: { fill: "#fff7ed", stroke: "#ea580c", text: "#9a3412" },
  Signal: { fill: "#f8fafc", stroke: "#64748b", text: "#334155" },
  Incident: { fill: "#fef2f2", stroke: "#dc2626", text: "#991b1b" },
  Dataset: { fill: "#f8fafc", stroke: "#64748b", text: "#0f172a" },
  Job: { fill: "#ecfeff", stroke: "#0891b2", text: "#155e75" },
  JobRun: { fill: "#ecfeff", stroke: "#0891b2", text: "#155e75" },
  DAGRun: { fill: "#ecfeff", stroke: "#0891b2", text: "#155e75" },
};
const STATE_FILL = { CRITICAL: "#fef2f2", WARNING: "#fffbeb", OK: "#f0fdf4", UNKNOWN: "#f8fafc" };

/** Longest-path layering with a per-kind minimum column, then barycentre ordering inside each column. */
export function layout(nodes, edges, { baseOf = () => 0, rankEdge = () => true } = {}) {
  const ids = new Set(nodes.map((n) => n.id));
  const rank = new Map(nodes.map((n) => [n.id, baseOf(n)]));
  const es = edges.filter((e) => ids.has(e.src) && ids.has(e.dst) && e.src !== e.dst && rankEdge(e));
  for (let i = 0; i < nodes.length + 1; i++) {
    let changed = false;
    for (const e of es) {
      const want = rank.get(e.src) + 1;
      if (want > rank.get(e.dst) && want <= nodes.length + 8) { rank.set(e.dst, want); changed = true; }
    }
    if (!changed) break;
  }
  const cols = new Map();
  for (const n of nodes) {
    const r = rank.get(n.id);
    if (!cols.has(r)) cols.set(r, []);
    cols.get(r).push(n);
  }
  const order = [...cols.keys()].sort((a, b) => a - b);
  // Compact empty columns away.
  const colIndex = new Map(order.map((r, i) => [r, i]));
  const pos = new Map();
  const preds = new Map(nodes.map((n) => [n.id, []]));
  edges.forEach((e) => { if (preds.has(e.dst) && ids.has(e.src)) preds.get(e.dst).push(e.src); });
  for (const r of order) {
    const col = cols.get(r);
    col.forEach((n, i) => { n._y0 = i; });
    col.sort((a, b) => {
      const bary = (n) => {
        const ps = preds.get(n.id).map((p) => pos.get(p)).filter((p) => p !== undefined);
        return ps.length ? ps.reduce((x, y) => x + y, 0) / ps.length : n._y0 + 1000;
      };
      return bary(a) - bary(b) || (a.sortKey || "").localeCompare(b.sortKey || "");
    });
    col.forEach((n, i) => pos.set(n.id, i));
  }
  return { cols: order.map((r) => cols.get(r)), colIndex: (id) => colIndex.get(rank.get(id)), row: (id) => pos.get(id) };
}

/** Up to two lines of at most `n` characters, breaking after a space, colon, slash, dot or underscore. */
function wrap(text, n) {
  const t = String(text ?? "");
  if (t.length <= n) return [t];
  let cut = -1;
  for (let i = Math.min(n, t.length - 1); i > n / 3; i--) { if (" :/._-".includes(t[i - 1])) { cut = i; break; } }
  if (cut < 0) cut = n;
  return [t.slice(0, cut).trimEnd(), truncate(t.slice(cut).trimStart(), n)];
}

function arrowDefs(id) {
  return s("defs", null,
    s("marker", { id, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7",
      orient: "auto-start-reverse" }, s("path", { d: "M0,0 L10,5 L0,10 z", fill: "#94a3b8" })));
}

/**
 * Draw a layered graph. items: [{id, title, sub, kind, fill, stroke, text, href, testid, state}]
 * Returns an <svg>.
 */
function draw(items, edges, opts) {
  const { nodeW = 176, nodeH = 60, gapX = 64, gapY = 18, pad = 16, testid, edgeLabels = true, baseOf, rankEdge } = opts;
  const L = layout(items, edges, { baseOf, rankEdge });
  const maxRows = Math.max(1, ...L.cols.map((c) => c.length));
  const height = pad * 2 + maxRows * nodeH + (maxRows - 1) * gapY + 10;
  const width = pad * 2 + L.cols.length * nodeW + (L.cols.length - 1) * gapX;
  const xy = new Map();
  L.cols.forEach((col, ci) => {
    const colH = col.length * nodeH + (col.length - 1) * gapY;
    const top = pad + (height - pad * 2 - colH) / 2;
    col.forEach((n, ri) => xy.set(n.id, { x: pad + ci * (nodeW + gapX), y: top + ri * (nodeH + gapY) }));
  });
  const markerId = `arrow-${testid || "g"}`;
  const svg = s("svg", { class: "graph", viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
    "data-testid": testid, style: { maxWidth: "100%", height: "auto" } }, arrowDefs(markerId));
  const edgeLayer = s("g", { class: "edges" });
  const labelLayer = s("g", { class: "edge-labels" });
  // One label per fan-in (same type into one node) or fan-out (same type out of one node), near the shared end.
  const groupOf = (key) => { const g = new Map(); edges.forEach((e) => { const k = key(e); g.set(k, [...(g.get(k) || []), e]); }); return g; };
  const fanIn = groupOf((e) => `${e.dst}|${e.type}`), fanOut = groupOf((e) => `${e.src}|${e.type}`);
  const labelAt = new Map();
  for (const e of edges) {
    const gin = fanIn.get(`${e.dst}|${e.type}`), gout = fanOut.get(`${e.src}|${e.type}`);
    if (gin.length > 1) { if (gin[Math.floor(gin.length / 2)] === e) labelAt.set(e, 0.5); }
    else if (gout.length > 1) { if (gout[Math.floor(gout.length / 2)] === e) labelAt.set(e, 0.5); }
    else labelAt.set(e, 0.5);
  }
  for (const e of edges) {
    const a = xy.get(e.src), b = xy.get(e.dst);
    if (!a || !b) continue;
    let x1 = a.x + nodeW, y1 = a.y + nodeH / 2, x2 = b.x, y2 = b.y + nodeH / 2;
    if (b.x <= a.x) { x1 = a.x + nodeW / 2; y1 = a.y + nodeH; x2 = b.x + nodeW / 2; y2 = b.y; }
    const dx = Math.max(30, (x2 - x1) / 2);
    const d = b.x <= a.x ? `M${x1},${y1} C${x1},${y1 + 20} ${x2},${y2 - 20} ${x2},${y2}`
      : `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`;
    edgeLayer.append(s("path", { d, class: `edge edge-${e.type}`, "marker-end": `url(#${markerId})`,
      "data-edge": e.type }, s("title", null, `${e.src} —${e.type}→ ${e.dst}`)));
    if (edgeLabels && labelAt.has(e)) {
      const f = b.x <= a.x ? 0.5 : labelAt.get(e);
      // point on the cubic Bezier at f (control points share the end points' y)
      const bx = (p0, p1, p2, p3) => (1 - f) ** 3 * p0 + 3 * (1 - f) ** 2 * f * p1 + 3 * (1 - f) * f * f * p2 + f ** 3 * p3;
      const mx = b.x <= a.x ? (x1 + x2) / 2 : bx(x1, x1 + dx, x2 - dx, x2);
      const my = b.x <= a.x ? (y1 + y2) / 2 : bx(y1, y1, y2, y2);
      const w = e.type.length * 5.7 + 6;
      labelLayer.append(s("g", { class: "edge-label" },
        s("rect", { x: mx - w / 2, y: my - 8, width: w, height: 15, rx: 3 }),
        s("text", { x: mx, y: my + 3.5, "text-anchor": "middle" }, e.type)));
    }
  }
  svg.append(edgeLayer, labelLayer);
  for (const n of items) {
    const p = xy.get(n.id);
    const g = s("g", { class: `node node-${n.kind}`, transform: `translate(${p.x},${p.y})`, "data-kind": n.kind,
      "data-testid": n.testid, "data-id": n.id, "data-state": n.state || null });
    g.append(s("title", null, n.tooltip || n.id));
    g.append(s("rect", { width: nodeW, height: nodeH, rx: 8, fill: n.fill, stroke: n.stroke, "stroke-width": n.strong ? 2.2 : 1.3,
      "stroke-dasharray": n.dashed ? "5 3" : null }));
    g.append(s("rect", { width: 5, height: nodeH - 2, x: 1, y: 1, rx: 2, fill: n.stroke }));
    g.append(s("text", { x: 14, y: 17, class: "node-kind", fill: n.text }, truncate(n.kindLabel || n.kind, Math.floor((nodeW - 18) / 6.6))));
    const lines = wrap(n.title, Math.floor((nodeW - 20) / 7));
    lines.forEach((line, i) => g.append(s("text", { x: 14, y: (lines.length > 1 ? 33 : 38) + i * 15, class: "node-title" }, line)));
    if (n.href) {
      const a = s("a", { href: n.href, "data-link": true }); a.append(g);
      a.addEventListener("click", (ev) => { ev.preventDefault(); window.dispatchEvent(new CustomEvent("sf:navigate", { detail: n.href })); });
      svg.append(a);
    } else svg.append(g);
  }
  return svg;
}

function causalItem(n, dsByUrn, incident) {
  const p = n.props || {};
  const base = KIND_STYLE[n.kind] || KIND_STYLE.Signal;
  const it = { id: n.id, kind: n.kind, fill: base.fill, stroke: base.stroke, text: base.text, title: n.key,
    testid: `graph-node-${n.kind}`, sortKey: n.key, tooltip: `${n.kind}: ${n.key}` };
  if (n.kind === "Deployment") {
    const [svc, ver] = [n.key.slice(0, n.key.lastIndexOf(":")), n.key.slice(n.key.lastIndexOf(":") + 1)];
    it.title = `${p.service || svc} ${p.version || ver}`;
    it.kindLabel = p.inferred ? "DEPLOYMENT (inferred)" : "DEPLOYMENT";
    it.strong = true;
  } else if (n.kind === "FailureSignature") {
    it.title = p.reason_code || n.key.split("@")[0];
    it.kindLabel = `SIGNATURE${p.count ? ` · ${Number(p.count).toLocaleString("en-US")}×` : ""}`;
  } else if (n.kind === "Signal") {
    const st = p.state || "UNKNOWN";
    it.title = p.signal_type || p.type || n.key;
    it.kindLabel = p.provisional ? "PROVISIONAL SIGNAL" : `SIGNAL · ${st}`;
    it.dashed = !!p.provisional;
    it.tooltip = `Signal ${n.key}\n${it.title} ${st}${p.provisional ? " (provisional: fired before the window closed)" : ""}`;
    it.fill = STATE_FILL[st] || it.fill; it.stroke = STATE_COLOR[st] || it.stroke; it.text = it.stroke;
    it.state = st;
  } else if (n.kind === "Incident") {
    const sev = p.severity || (incident && incident.incident_id === n.key ? incident.severity : "");
    it.title = n.key; it.kindLabel = `INCIDENT${sev ? ` · ${sev}` : ""}`; it.strong = true;
    it.href = `/incidents/${enc(n.key)}`;
  } else if (n.kind === "Dataset") {
    const ds = dsByUrn.get(n.key);
    const st = ds ? ds.worst_state : (p.state || "UNKNOWN");
    it.title = (ds && ds.name) || p.name || shortUrn(n.key);
    it.kindLabel = `DATASET${ds && ds.tier != null ? ` · TIER ${ds.tier}` : p.tier != null ? ` · TIER ${p.tier}` : ""}`;
    it.fill = STATE_FILL[st] || it.fill; it.stroke = STATE_COLOR[st] || it.stroke; it.text = "#334155";
    it.state = st; it.href = datasetHref(n.key); it.tooltip = `${n.key} (${st})`;
  } else if (n.kind === "Service") {
    it.kindLabel = "SERVICE";
  } else {
    it.kindLabel = n.kind.toUpperCase();
  }
  it.kindLabel = (it.kindLabel || n.kind).toUpperCase();
  return it;
}

export function causalGraph(graph, datasets, incident) {
  const dsByUrn = new Map((datasets || []).map((d) => [d.urn, d]));
  const nodes = (graph.nodes || []).filter((n) => n.id);
  const edges = (graph.edges || []).filter((e) => e.type !== "OWNED_BY");
  const items = nodes.map((n) => causalItem(n, dsByUrn, incident))
    .sort((a, b) => (KIND_BASE[a.kind] ?? 2) - (KIND_BASE[b.kind] ?? 2) || (a.kind === "Service" ? -1 : b.kind === "Service" ? 1 : 0) ||
      a.sortKey.localeCompare(b.sortKey));
  const svg = draw(items, edges, { testid: "causal-graph", nodeW: 152, gapX: 74,
    baseOf: (n) => KIND_BASE[n.kind] ?? 2, rankEdge: (e) => RANK_EDGES.has(e.type) });
  const kinds = [...new Set(nodes.map((n) => n.kind))];
  const legend = h("div", { class: "legend" }, kinds.map((k) =>
    h("span", { class: "legend-item" }, h("i", { style: { background: (KIND_STYLE[k] || KIND_STYLE.Signal).stroke } }), k)),
  h("span", { class: "legend-item muted" }, "Signals and datasets are coloured by state; click a dataset to open it."));
  return h("div", { class: "graph-wrap" }, svg, legend);
}

export function lineageGraph(graph, datasets) {
  const dsByUrn = new Map((datasets || []).map((d) => [d.urn, d]));
  const nodes = (graph.nodes || []).filter((n) => n.kind === "Dataset" || !n.kind);
  const ids = new Set(nodes.map((n) => n.id));
  const edges = (graph.edges || []).filter((e) => (!e.type || e.type === "FEEDS") && ids.has(e.src) && ids.has(e.dst))
    .map((e) => ({ ...e, type: (e.props && e.props.type) || e.type || "FEEDS" }));
  const items = nodes.map((n) => {
    const urn = n.key || n.id.replace(/^Dataset:/, "");
    const ds = dsByUrn.get(urn);
    const st = (ds && ds.worst_state) || "UNKNOWN";
    return { id: n.id, kind: "Dataset", title: (ds && ds.name) || (n.props && n.props.name) || shortUrn(urn),
      kindLabel: `TIER ${ds && ds.tier != null ? ds.tier : "?"} · ${((ds && ds.type) || "dataset").toUpperCase()}`,
      fill: STATE_FILL[st], stroke: STATE_COLOR[st], text: "#475569", state: st, href: datasetHref(urn),
      testid: "lineage-node", sortKey: urn, tooltip: `${urn}\nstate ${st}${ds && ds.owner ? `\nowner ${ds.owner}` : ""}`,
      strong: st === "CRITICAL" };
  });
  return draw(items, edges, { testid: "lineage-graph", nodeW: 200, nodeH: 60, gapX: 90, gapY: 24 });
}

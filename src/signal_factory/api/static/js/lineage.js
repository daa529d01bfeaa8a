// Lineage: datasets and FEEDS edges, layered by longest path, coloured by worst state; a table below.
import { h, api, empty, link, table, stateBadge, tierBadge, datasetHref, shortUrn, enc, STATE_COLOR, STATE_RANK } from "./util.js";
import { lineageGraph } from "./graph.js";

function datasetTable(graph, datasets) {
  const key = (id) => id.replace(/^Dataset:/, "");
  const up = new Map(), down = new Map();
  (graph.edges || []).forEach((e) => {
    const a = key(e.src), b = key(e.dst);
    down.set(a, [...(down.get(a) || []), b]); up.set(b, [...(up.get(b) || []), a]);
  });
  const names = (urns) => (urns || []).map((u) => link(datasetHref(u), { class: "pill" }, shortUrn(u)));
  const rows = [...datasets].sort((a, b) => (STATE_RANK[a.worst_state] ?? 2) - (STATE_RANK[b.worst_state] ?? 2) || (a.tier ?? 9) - (b.tier ?? 9))
    .map((d) => h("tr", null,
      h("td", null, link(datasetHref(d.urn), { class: "strong" }, d.name || d.urn), h("div", { class: "urn" }, d.urn)),
      h("td", null, stateBadge(d.worst_state)), h("td", null, tierBadge(d.tier)), h("td", null, d.type || "—"),
      h("td", null, d.owner || "—"), h("td", null, names(up.get(d.urn))), h("td", null, names(down.get(d.urn))),
      h("td", { class: "num" }, d.open_incidents ? link(`/incidents?dataset=${enc(d.urn)}`, { class: "inc-link" }, String(d.open_incidents)) : "0")));
  return h("section", { class: "card flush" }, table(["dataset", "state", "tier", "type", "owner", "upstream", "downstream", "open inc."], rows));
}

export async function renderLineage() {
  const [graph, datasets] = await Promise.all([api("/graph/lineage"), api("/datasets").catch(() => [])]);
  const n = (graph.nodes || []).length;
  return h("div", { class: "page" },
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Lineage"), h("p", { class: "muted" }, `${n} datasets · ${(graph.edges || []).length} feeds · upstream on the left`)),
      h("div", { class: "legend" }, ["CRITICAL", "WARNING", "OK", "UNKNOWN"].map((st) =>
        h("span", { class: "legend-item" }, h("i", { class: "dot", style: { background: STATE_COLOR[st] } }), st.toLowerCase())))),
    h("section", { class: "card graph-card" }, n ? h("div", { class: "graph-wrap" }, lineageGraph(graph, datasets)) : empty("No datasets in the graph yet.")),
    datasets.length ? datasetTable(graph, datasets) : null);
}

// Drift notices: first-seen failure signatures that went to Slack/webhooks and paged no one.
import { h, api, link, fmtTime, fmtNum, datasetHref, enc, empty, section, table, shortUrn } from "./util.js";
import { apiRange, inRange, rangeNote, currentRange } from "./timerange.js";

/** The notices whose window overlaps the global range (event time): the API keeps those ending after `from`. */
async function rangedNotices(q) {
  const found = await api(`/notices?${q}${apiRange({ until: null })}`);
  const r = currentRange();
  return r.toMs === null ? found : found.filter((n) => Date.parse(n.window_start) < r.toMs);
}

function signatureList(n) {
  return h("ul", { class: "sig-list", "data-testid": "notice-signatures" },
    (n.signatures || []).map((s) => h("li", { "data-signature": s.signature },
      h("span", { class: "mono" }, s.signature), h("span", { class: "muted" }, ` ×${fmtNum(s.count)}`),
      s.drift_type && s.drift_type !== "NEW_FAILURE_SIGNATURE" ? h("span", { class: "muted small" }, ` ${s.drift_type}`) : null)),
    n.overflow ? h("li", { class: "muted" }, `+${fmtNum(n.overflow)} more`) : null);
}

function firstSeen(n) {
  const times = (n.signatures || []).map((s) => s.first_seen).filter(Boolean).sort();
  return times.length ? fmtTime(times[0]) : "—";
}

/** A table of notices; `withDataset` adds the dataset column (the list page). */
export function noticesTable(notices, { withDataset = true } = {}) {
  const rows = notices.map((n) => h("tr", { "data-testid": `notice-row-${n.notice_id}` },
    h("td", { class: "mono small" }, n.notice_id),
    withDataset ? h("td", null, link(datasetHref(n.dataset_urn), { class: "mono small" }, shortUrn(n.dataset_urn))) : null,
    h("td", { class: "nowrap", "data-testid": "notice-window" }, `${fmtTime(n.window_start)} – ${fmtTime(n.window_end, { date: false })}`),
    h("td", null, signatureList(n)),
    h("td", { class: "nowrap" }, firstSeen(n)),
    h("td", { "data-testid": "notice-routes" }, (n.routes || []).length ? n.routes.join(", ") : h("span", { class: "muted" }, "none"))));
  const headers = ["id", ...(withDataset ? ["dataset"] : []), "window", "new signatures (records when first seen)",
    "first seen", "routes notified"];
  return table(headers, rows, { "data-testid": "notices-table" });
}

export async function renderNotices() {
  const params = new URLSearchParams(location.search);
  const dataset = params.get("dataset");
  const notices = await rangedNotices(`limit=500${dataset ? `&dataset=${enc(dataset)}` : ""}`);
  const total = notices.reduce((k, n) => k + (n.total || 0), 0);
  return h("div", { class: "page" },
    h("div", { class: "page-head" },
      h("div", null, h("h1", null, "Notices"),
        h("p", { class: "muted" }, "New failure signatures that broke no SLO: sent to Slack and webhooks, never paged. ",
          dataset ? ["Filtered to ", h("span", { class: "mono" }, dataset), " · ", link("/notices", null, "clear filter")]
            : `${notices.length} notice${notices.length === 1 ? "" : "s"} · ${fmtNum(total)} signature${total === 1 ? "" : "s"}`))),
    rangeNote(),
    h("div", { class: "card flush" }, notices.length ? noticesTable(notices)
      : empty(currentRange().active ? "No notices in this time range (event time)." : "No notices: no new failure signatures.")));
}

/** The dataset page's section (its latest notices), or null when there are none. */
export async function datasetNotices(urn) {
  const notices = await rangedNotices(`dataset=${enc(urn)}&limit=10`).catch(() => []);
  if (!notices.length) return null;
  return section("Drift notices", { class: "card flush", "data-testid": "dataset-notices" },
    noticesTable(notices, { withDataset: false }),
    h("div", { class: "card-foot" }, link(`/notices?dataset=${enc(urn)}`, null, "All notices of this dataset")));
}

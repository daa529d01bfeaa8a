// The top bar's search: datasets, failure signatures, incidents and deployments (GET /api/v1/find?q=).
// Keyboard: "/" focuses it, ↑/↓ move, Enter opens the highlighted result (the first by default), Esc closes.
import { h, api, enc } from "./util.js";

const KIND_LABEL = { dataset: "Datasets", signature: "Failure signatures", incident: "Incidents", deployment: "Deployments" };

export function searchBox(go) {
  const input = h("input", { type: "search", class: "search-input", placeholder: "Search  /", autocomplete: "off",
    spellcheck: "false", "data-testid": "search-input", "aria-label": "Search datasets, signatures, incidents, deployments",
    role: "combobox", "aria-expanded": "false", "aria-controls": "search-results" });
  const panel = h("div", { class: "search-results", id: "search-results", role: "listbox", hidden: true, "data-testid": "search-results" });
  let items = [], active = 0, seq = 0, timer = null;

  const close = () => { panel.hidden = true; input.setAttribute("aria-expanded", "false"); };
  const open = (item) => { if (!item) return; close(); input.blur(); go(item.href); };
  function highlight(i) {
    active = i;
    panel.querySelectorAll("[data-result]").forEach((el, k) => el.classList.toggle("active", k === i));
  }
  function render(q, answer) {
    items = [];
    const groups = answer.groups.map((g) => h("div", { class: "sr-group", "data-kind": g.kind, "data-testid": `search-group-${g.kind}` },
      h("div", { class: "sr-kind" }, KIND_LABEL[g.kind] || g.kind),
      g.items.map((it) => {
        const k = items.push(it) - 1;
        return h("a", { class: "sr-item", href: it.href, "data-link": true, "data-result": it.kind, role: "option",
          "data-testid": "search-result", onmouseenter: () => highlight(k), onclick: () => close() },
        h("span", { class: "sr-label" }, it.label), h("span", { class: "sr-detail" }, it.detail || ""));
      })));
    panel.replaceChildren(...(groups.length ? groups : [h("div", { class: "sr-empty", "data-testid": "search-empty" },
      `Nothing matches “${q}”.`)]), h("div", { class: "sr-hint" }, "↑↓ to move · Enter to open · Esc to close"));
    panel.hidden = false;
    input.setAttribute("aria-expanded", "true");
    highlight(0);
  }
  async function run() {
    const q = input.value.trim();
    const my = ++seq;
    if (!q) { items = []; close(); return; }
    try {
      const answer = await api(`/find?q=${enc(q)}`);
      if (my === seq) render(q, answer);
    } catch (err) {
      if (my === seq) { panel.replaceChildren(h("div", { class: "sr-empty" }, `Search failed: ${err.message}`)); panel.hidden = false; }
    }
  }
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 120); });
  input.addEventListener("focus", () => { if (items.length) { panel.hidden = false; input.setAttribute("aria-expanded", "true"); } });
  input.addEventListener("keydown", async (ev) => {
    if (ev.key === "ArrowDown" && items.length) { ev.preventDefault(); highlight((active + 1) % items.length); }
    else if (ev.key === "ArrowUp" && items.length) { ev.preventDefault(); highlight((active - 1 + items.length) % items.length); }
    else if (ev.key === "Escape") { close(); input.blur(); }
    else if (ev.key === "Enter") {
      ev.preventDefault();
      clearTimeout(timer);
      if (!panel.hidden && items.length) { open(items[active]); return; }
      await run();  // typed fast and pressed Enter before the results came: search now, open the first
      open(items[0]);
    }
  });
  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    if (ev.key === "/" && !(t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement)) {
      ev.preventDefault(); input.focus(); input.select();
    }
  });
  document.addEventListener("click", (ev) => { if (!el.contains(ev.target)) close(); });
  const el = h("div", { class: "search" }, input, panel);
  return el;
}

"""Browser tests of the web UI (Playwright, Debian's Chromium) against a real API server with Scenario 1
replayed into it: health grid -> incident -> RCA and causal graph -> acknowledge; read-only answer;
lineage; no console errors anywhere. Screenshots go to test-artifacts/ui/ (1366x768)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.api.browser import Console, expect, shot

pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.slow

URN = "urn:dp:orders:created"


def open_incident_from_grid(page: Any, base: str) -> None:
    page.goto(base + "/")
    tile = page.get_by_test_id(f"tile-{URN}")
    expect(tile).to_be_visible()
    expect(tile).to_have_attribute("data-state", "CRITICAL")
    tile.get_by_test_id("tile-incident-link").click()
    expect(page).to_have_url(re.compile(r"/incidents/INC-1$"))
    expect(page.get_by_test_id("root-cause")).to_be_visible()


def test_grid_incident_rca_and_graph(api_server: str, ui: tuple[Any, Console]) -> None:
    page, console = ui
    page.goto(api_server + "/")
    tile = page.get_by_test_id(f"tile-{URN}")
    expect(tile).to_have_attribute("data-state", "CRITICAL")
    # worst first: the first tile is the critical one
    first = page.locator("[data-testid^='tile-urn:']").first
    expect(first).to_have_attribute("data-state", "CRITICAL")
    expect(tile.locator("[data-signal='CONTRACT_BREACH']")).to_have_attribute("data-state", "CRITICAL")
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-mode", re.compile("live|polling"))
    shot(page, "health")

    open_incident_from_grid(page, api_server)
    expect(page.get_by_test_id("severity-badge").first).to_have_text("SEV-1")
    root = page.get_by_test_id("root-cause")
    expect(root).to_contain_text("orders-svc")
    expect(root).to_contain_text("v3.17")
    expect(page.get_by_test_id("confidence")).to_contain_text("%")
    graph = page.get_by_test_id("causal-graph")
    expect(graph).to_be_visible()
    assert graph.evaluate("el => el.tagName.toLowerCase()") == "svg"
    deployment = graph.locator("[data-kind='Deployment']")
    expect(deployment.first).to_contain_text("v3.17")
    for kind in ("FailureSignature", "Signal", "Incident", "Dataset"):
        assert graph.locator(f"[data-kind='{kind}']").count() >= 1, kind
    for testid in ("confidence-reasons", "timeline", "blast-radius", "actions", "evidence-chain", "alternatives"):
        expect(page.get_by_test_id(testid)).to_be_visible()
    assert page.get_by_test_id("actions").locator("ol li").count() >= 1
    shot(page, "incident")
    shot(page, "incident-full", full=True)
    console.check()


def test_health_tiles_show_their_measure_with_units_and_at_risk_paths(api_server: str,
                                                                      ui: tuple[Any, Console]) -> None:
    """Each tile shows the measure its state comes from with its unit (never a lag or a count as a
    percentage); datasets downstream of a breach say "at risk" with the FEEDS path."""
    page, console = ui
    page.goto(api_server + "/")
    created = page.get_by_test_id(f"tile-{URN}")
    expect(created.get_by_test_id("tile-measure")).to_contain_text("% compliant")
    for text in page.get_by_test_id("tile-measure").all_inner_texts():
        pct = re.search(r"([\d,.]+)%", text)
        assert pct is None or float(pct.group(1).replace(",", "")) <= 100, text
    gold = page.get_by_test_id("tile-urn:dp:orders:gold_daily")
    expect(gold).to_have_attribute("data-at-risk", "true")
    risk = gold.get_by_test_id("tile-at-risk")
    expect(risk).to_contain_text("→ orders:gold_daily")
    source = risk.get_attribute("title").split(" → ")[0]  # the path starts at a breached dataset
    expect(page.get_by_test_id(f"tile-{source}")).to_have_attribute("data-state", re.compile("CRITICAL|WARNING"))
    dashboard = page.get_by_test_id("tile-urn:dp:dashboards:executive_revenue")
    expect(dashboard).to_have_attribute("data-at-risk", "true")
    inventory = page.get_by_test_id("tile-urn:dp:inventory:updated")
    expect(inventory).to_have_attribute("data-at-risk", "false")
    console.check()


def test_incident_graph_draws_every_blast_radius_asset(api_server: str, ui: tuple[Any, Console]) -> None:
    """Every dataset the blast-radius table lists is drawn in the incident's causal graph, and vice versa."""
    page, console = ui
    page.goto(api_server + "/incidents/INC-1")
    table = page.get_by_test_id("blast-radius")
    expect(table.locator("tbody tr").first).to_be_visible()
    listed = {u.strip() for u in table.locator(".urn").all_inner_texts()}
    assert "urn:dp:dashboards:executive_revenue" in listed
    graph = page.get_by_test_id("causal-graph")
    expect(graph).to_be_visible()
    drawn = {i.removeprefix("Dataset:") for i in
             graph.locator("[data-kind='Dataset']").evaluate_all("els => els.map(e => e.dataset.id)")}
    assert listed <= drawn, f"in the table, not the graph: {sorted(listed - drawn)}"
    assert drawn - listed == {URN}, "the graph draws only the failing dataset beyond the blast radius"
    console.check()


def test_incidents_list_and_dataset_page(api_server: str, ui: tuple[Any, Console]) -> None:
    page, console = ui
    page.goto(api_server + "/incidents")
    row = page.get_by_test_id("incident-row-INC-1")
    expect(row).to_be_visible()
    expect(row).to_contain_text("SEV-1")
    shot(page, "incidents")

    page.goto(f"{api_server}/datasets/{URN}")
    expect(page.get_by_test_id("dataset-header")).to_have_attribute("data-state", "CRITICAL")
    card = page.get_by_test_id("timeline-CONTRACT_BREACH")
    expect(card).to_be_visible()
    chart = card.get_by_test_id("compliance-chart").first
    assert chart.locator("circle[data-state='CRITICAL']").count() >= 1
    expect(page.get_by_test_id("signals-table")).to_be_visible()
    shot(page, "dataset")
    shot(page, "dataset-full", full=True)
    console.check()


def test_lineage_renders_seven_datasets(api_server: str, ui: tuple[Any, Console]) -> None:
    page, console = ui
    page.goto(api_server + "/")
    page.get_by_role("link", name="Lineage").click()
    expect(page).to_have_url(re.compile(r"/lineage$"))
    graph = page.get_by_test_id("lineage-graph")
    expect(graph).to_be_visible()
    expect(graph.get_by_test_id("lineage-node")).to_have_count(7)
    assert graph.locator("[data-testid='lineage-node'][data-state='CRITICAL']").count() >= 1
    shot(page, "lineage")
    console.check()


def test_read_only_server_says_so_on_ack(api_server: str, ui: tuple[Any, Console]) -> None:
    page, console = ui
    console.allowed.append(r"status of 403")  # the browser logs the refused POST itself
    open_incident_from_grid(page, api_server)
    page.get_by_test_id("token-input").fill("any-token")
    page.get_by_test_id("ack-button").click()
    msg = page.get_by_test_id("action-message")
    expect(msg).to_contain_text(re.compile("read-only", re.I))
    expect(page.get_by_test_id("incident-status").first).to_have_text("OPEN")
    msg.scroll_into_view_if_needed()
    shot(page, "incident-read-only")


def test_ack_with_token(api_server_token: tuple[str, str], ui: tuple[Any, Console]) -> None:
    base, token = api_server_token
    page, console = ui
    open_incident_from_grid(page, base)
    page.get_by_test_id("token-input").fill(token)
    page.get_by_test_id("by-input").fill("alice")
    page.get_by_test_id("ack-button").click()
    expect(page.get_by_test_id("incident-status").first).to_have_text("ACKNOWLEDGED")
    expect(page.get_by_test_id("ack-button")).to_be_disabled()
    # the token survives the refresh (sessionStorage and the kept action panel)
    expect(page.get_by_test_id("token-input")).to_have_value(token)
    assert page.evaluate("sessionStorage.getItem('sf.token')") == token
    shot(page, "incident-acknowledged")
    console.check()


def test_mute_dataset_from_the_incident_page(api_server_token: tuple[str, str], ui: tuple[Any, Console]) -> None:
    """Muting the dataset for 4h shows who muted it, why and until when, on the incident and in the list."""
    base, token = api_server_token
    page, console = ui
    page.goto(base + "/incidents/INC-1")
    page.get_by_test_id("token-input").fill(token)
    page.get_by_test_id("by-input").fill("alice")
    page.get_by_test_id("mute-duration").select_option("4h")
    page.get_by_test_id("mute-reason").fill("planned backfill")
    page.get_by_test_id("mute-dataset-button").click()
    banner = page.get_by_test_id("muted-banner")
    expect(banner).to_contain_text(f"dataset {URN}")
    expect(banner).to_contain_text("by alice: planned backfill")
    until = page.request.get(f"{base}/api/v1/incidents/INC-1").json()["muted_by"]["until"]
    hours = (datetime.fromisoformat(until.replace("Z", "+00:00")) - datetime.now(UTC)).total_seconds() / 3600
    assert 3.9 < hours <= 4.0
    page.goto(base + "/incidents")
    expect(page.get_by_test_id("incident-row-INC-1").get_by_test_id("muted-badge")).to_have_text("MUTED")
    console.check()


def test_sign_in_then_acknowledge_without_a_token(api_server_team: str, ui: tuple[Any, Console]) -> None:
    """A named user signs in from the top bar, acknowledges with no token pasted, and the incident's activity
    names them; signing out brings the sign-in form back."""
    from tests.api.conftest import USERS

    page, console = ui
    page.goto(api_server_team + "/incidents/INC-1")
    page.get_by_test_id("session-name").fill("alice")
    page.get_by_test_id("session-password").fill(USERS["alice"])
    page.get_by_test_id("session-submit").click()
    expect(page.get_by_test_id("session-user")).to_have_text("alice")
    expect(page.get_by_test_id("acting-as")).to_contain_text("alice")
    expect(page.get_by_test_id("token-input")).to_have_count(0)
    page.get_by_test_id("ack-button").click()
    expect(page.get_by_test_id("incident-status").first).to_have_text("ACKNOWLEDGED")
    expect(page.get_by_test_id("activity")).to_contain_text("alice acknowledged")
    shot(page, "incident-signed-in")
    page.get_by_test_id("session-signout").click()
    expect(page.get_by_test_id("session-submit")).to_be_visible()
    console.check()


def test_live_refresh_on_change_keeps_scroll_and_token(api_server_token: tuple[str, str],
                                                       ui: tuple[Any, Console]) -> None:
    """A write made elsewhere reaches the open page through the SSE `change` event."""
    import json
    import urllib.request

    base, token = api_server_token
    page, console = ui
    page.goto(base + "/incidents/INC-1")
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-mode", "live")
    page.get_by_test_id("token-input").fill("typed-but-not-sent")
    page.evaluate("window.scrollTo(0, 600)")
    page.locator("body").click(position={"x": 5, "y": 700})  # leave the input so the refresh is not deferred
    request = urllib.request.Request(f"{base}/api/v1/incidents/INC-1/ack", method="POST",
                                     data=json.dumps({"by": "bob"}).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 200
    expect(page.get_by_test_id("incident-status").first).to_have_text("ACKNOWLEDGED")
    assert page.evaluate("window.scrollY") >= 500
    expect(page.get_by_test_id("token-input")).to_have_value("typed-but-not-sent")
    console.check()


def test_notices_page_dataset_section_and_incident_signatures(api_server: str, ui: tuple[Any, Console]) -> None:
    """Scenario 1's drift notice (first-seen MISSING_FIELD:customer_id, which paged no one) is on the Notices
    page with its window and routes, on the dataset page, and INC-1 lists the signature it took over."""
    page, console = ui
    page.goto(api_server + "/")
    page.get_by_role("link", name="Notices").click()
    expect(page).to_have_url(re.compile(r"/notices$"))
    rows = page.get_by_test_id("notices-table").locator("tbody tr")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_contain_text("orders:created")
    expect(row.get_by_test_id("notice-window")).to_have_text("Jan 15 09:55:00 UTC – 10:00:00")
    expect(row.locator("[data-signature='MISSING_FIELD:customer_id']")).to_contain_text("×1")
    expect(row).to_contain_text("Jan 15 09:58:02 UTC")
    expect(row.get_by_test_id("notice-routes")).to_have_text("data-platform-slack, incident-webhook")
    shot(page, "notices")

    row.get_by_role("link", name="orders:created").click()
    section = page.get_by_test_id("dataset-notices")
    expect(section).to_be_visible()
    expect(section.locator("[data-signature='MISSING_FIELD:customer_id']")).to_be_visible()

    page.goto(api_server + "/incidents/INC-1")
    listed = page.get_by_test_id("new-signatures")
    expect(listed.locator("li")).to_have_text(["MISSING_FIELD:customer_id"])
    console.check()


@pytest.fixture(scope="module")
def spread_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Read-only server over one deploy that breaks orders:created eight ways (tests/rca/spread_traffic.py)."""
    from signal_factory.controlplane.loader import load_control_plane
    from signal_factory.enforcer.pipeline import Enforcer
    from signal_factory.runtime.replay import ReplayService
    from signal_factory.stores.sql.database import open_store
    from tests.api.conftest import start_server, stop_server
    from tests.conftest import EXAMPLE
    from tests.rca.spread_traffic import one_deploy_eight_codes

    home = tmp_path_factory.mktemp("spread-ui")
    traffic, markers = one_deploy_eight_codes(home)
    cp = load_control_plane(EXAMPLE)
    store = open_store(f"sqlite:///{home / 'spread.db'}")
    try:
        ReplayService(cp, store, Enforcer(cp)).replay([traffic], deployments=[markers])
    finally:
        store.close()
    server, thread, url = start_server(home / "spread.db", home)
    try:
        yield url
    finally:
        stop_server(server, thread)


def test_spread_incident_rca_lists_its_signatures(spread_server: str, ui: tuple[Any, Console]) -> None:
    """An incident keyed CONTRACT_BREACH (eight codes, none dominant): the RCA names orders-svc v3.18 and lists
    the eight signatures, each explained by it; the incident page lists them as new signatures too."""
    page, console = ui
    page.goto(spread_server + "/incidents/INC-1")
    root = page.get_by_test_id("root-cause")
    expect(root).to_contain_text("orders-svc v3.18")
    expect(root).to_contain_text("introduced all 8 failure signatures")
    rows = page.get_by_test_id("rca-signatures").locator("tbody tr")
    expect(rows).to_have_count(8)
    assert page.get_by_test_id("rca-signatures").locator("tr[data-explained='true']").count() == 8
    expect(rows.first).to_contain_text("orders-svc v3.18")
    expect(page.get_by_test_id("new-signatures").locator("li")).to_have_count(8)
    shot(page, "incident-spread", full=True)
    console.check()

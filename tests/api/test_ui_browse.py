"""Browser tests of the evidence browser, the global time-range picker and the top-bar search (Playwright,
Debian's Chromium) against the read-only Scenario 1 server: what the pages SHOW, checked against the API's
own answers; no console errors (the `ui` fixture checks)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.api.browser import Console, expect, shot

pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.slow

URN = "urn:dp:orders:created"
SIGNATURE = "MISSING_FIELD:customer_id"


def legacy_fail_evidence(base: str) -> list[dict[str, Any]]:
    """Every FAIL evidence of orders:created through the original query (oldest first): the expected rows."""
    resp = httpx.get(f"{base}/api/v1/evidence", params={"dataset": URN, "result": "FAIL", "limit": 10_000})
    resp.raise_for_status()
    found: list[dict[str, Any]] = resp.json()
    assert found, "Scenario 1 has FAIL evidence on orders:created"
    return found


def ready(page: Any) -> None:
    expect(page.locator("#view[data-ready='true']")).to_be_attached()


def test_evidence_browser_filtered_to_fail_lists_missing_customer_id(api_server: str, ui: tuple[Any, Console]) -> None:
    """Filtered to FAIL on orders:created, the browser lists the MISSING_FIELD:customer_id rows newest first,
    says how many match, and pages to the next 50."""
    page, _ = ui
    expected = legacy_fail_evidence(api_server)
    newest = list(reversed(expected))
    page.goto(api_server + "/")
    page.get_by_role("link", name="Evidence").click()
    expect(page).to_have_url(re.compile(r"/evidence$"))
    page.get_by_test_id("filter-dataset").select_option(URN)
    expect(page).to_have_url(re.compile(r"dataset=urn%3Adp%3Aorders%3Acreated"))
    page.get_by_test_id("filter-result").select_option("FAIL")
    expect(page).to_have_url(re.compile(r"result=FAIL"))
    total = f"{len(expected):,}"
    expect(page.get_by_test_id("evidence-count")).to_have_text(
        f"{total} evidence records match · showing 1–50, newest first")
    rows = page.get_by_test_id("evidence-row")
    expect(rows).to_have_count(50)
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.result)")) == {"FAIL"}
    reasons = page.get_by_test_id("evidence-reasons").all_inner_texts()
    assert reasons == ["\n".join(e["validation"]["reason_codes"]) for e in newest[:50]]
    assert all(SIGNATURE in r for r in reasons)
    shot(page, "evidence-browser")

    page.get_by_test_id("page-next").click()
    expect(page.get_by_test_id("evidence-count")).to_contain_text(f"{total} evidence records match · showing 51–100")
    first = page.get_by_test_id("evidence-row").first.locator("a[href^='/evidence/evd-']")
    expect(first).to_have_attribute("href", f"/evidence/{newest[50]['evidence_id']}")


def test_evidence_page_shows_five_gates_and_the_record(api_server: str, ui: tuple[Any, Console]) -> None:
    """Opening one evidence shows its five gates in order (G4 failing with the reason code), the producing
    record's topic/partition/offset, its producer and trace id, as stored."""
    page, _ = ui
    page.goto(f"{api_server}/evidence?dataset={quote(URN, safe='')}&result=FAIL&signature={quote(SIGNATURE)}")
    row = page.get_by_test_id("evidence-row").first
    link = row.locator("a[href^='/evidence/evd-']")
    evidence_id = link.get_attribute("href").rsplit("/", 1)[1]
    stored = httpx.get(f"{api_server}/api/v1/evidence/{evidence_id}").json()
    row.click()
    expect(page).to_have_url(re.compile(rf"/evidence/{evidence_id}$"))
    gates = page.get_by_test_id("gate-row")
    expect(gates).to_have_count(5)
    assert gates.evaluate_all("rs => rs.map(r => r.dataset.gate)") == [
        "G1_RESOLUTION", "G2_IDENTITY", "G3_SCHEMA", "G4_CONTRACT", "G5_PII"]
    assert gates.evaluate_all("rs => rs.map(r => r.dataset.result)") == [
        g["result"] for g in stored["validation"]["gates"]]
    expect(page.locator("[data-testid='gate-row'][data-gate='G4_CONTRACT']")).to_contain_text(SIGNATURE)
    src = stored["source"]
    expect(page.get_by_test_id("record-topic")).to_contain_text(src["topic"])
    expect(page.get_by_test_id("record-partition")).to_contain_text(str(src["partition"]))
    expect(page.get_by_test_id("record-offset")).to_contain_text(str(src["offset"]))
    expect(page.get_by_test_id("record-producer")).to_contain_text(
        f"{stored['producer']['id']} {stored['producer']['version']}")
    expect(page.get_by_test_id("trace-id")).to_have_text(stored["otel"]["trace_id"])
    shot(page, "evidence")


def test_search_v317_finds_the_deployment_and_inc1(api_server: str, ui: tuple[Any, Console]) -> None:
    """Searching "v3.17" lists the orders-svc v3.17 deployment and INC-1 (suspected v3.17); Enter opens the
    first result, the incident."""
    page, _ = ui
    page.goto(api_server + "/")
    ready(page)
    page.keyboard.press("/")
    box = page.get_by_test_id("search-input")
    expect(box).to_be_focused()
    box.fill("v3.17")
    expect(page.get_by_test_id("search-group-deployment")).to_contain_text("orders-svc v3.17")
    incidents = page.get_by_test_id("search-group-incident")
    expect(incidents).to_contain_text("INC-1")
    expect(page.get_by_test_id("search-group-dataset")).to_have_count(0)
    shot(page, "search")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/incidents/INC-1$"))
    expect(page.get_by_test_id("incident-title")).to_be_visible()


def test_search_unknown_text_says_nothing_matches(api_server: str, ui: tuple[Any, Console]) -> None:
    """A search that matches nothing says so instead of showing an empty box."""
    page, _ = ui
    page.goto(api_server + "/")
    ready(page)
    page.get_by_test_id("search-input").fill("no-such-thing-42")
    expect(page.get_by_test_id("search-empty")).to_contain_text("Nothing matches")


def test_time_range_without_data_empties_incidents_and_says_so(api_server: str, ui: tuple[Any, Console]) -> None:
    """"Last 1 hour" (the demo data is from 2024, in event time) empties the incidents list and says why; the
    range is in the URL, kept across pages, and "show all time" brings INC-1 back."""
    page, _ = ui
    page.goto(api_server + "/incidents")
    expect(page.get_by_test_id("incident-row-INC-1")).to_be_visible()
    picker = page.get_by_test_id("time-picker")
    expect(picker).to_contain_text("Event time")
    expect(page.get_by_test_id("time-range")).to_have_value("all")
    page.get_by_test_id("time-range").select_option("now-1h")
    expect(page).to_have_url(re.compile(r"/incidents\?from=now-1h$"))
    expect(page.get_by_test_id("incident-row-INC-1")).to_have_count(0)
    expect(page.get_by_test_id("incidents-empty")).to_contain_text("No incidents opened in this time range")
    expect(page.get_by_test_id("range-note")).to_contain_text("event time (UTC)")
    shot(page, "incidents-empty-range")

    page.get_by_role("link", name="Evidence").click()  # the range travels with the navigation
    expect(page).to_have_url(re.compile(r"/evidence\?from=now-1h$"))
    expect(page.get_by_test_id("evidence-count")).to_have_text("No evidence matches")
    page.get_by_role("link", name="Health").click()  # the grid is current state: it says the range is not its
    expect(page).to_have_url(re.compile(r"/\?from=now-1h$"))
    expect(page.get_by_test_id("range-note")).to_contain_text("current state")
    page.get_by_role("link", name="Incidents").click()
    page.get_by_test_id("range-clear").click()
    expect(page).to_have_url(re.compile(r"/incidents$"))
    expect(page.get_by_test_id("incident-row-INC-1")).to_be_visible()
    expect(page.get_by_test_id("time-range")).to_have_value("all")


def test_custom_time_range_in_2024_keeps_inc1(api_server: str, ui: tuple[Any, Console]) -> None:
    """A custom event-time range around the 2024 incident keeps INC-1; one ending before it hides it."""
    page, _ = ui
    page.goto(api_server + "/incidents")
    page.get_by_test_id("time-range").select_option("custom")
    page.get_by_test_id("time-from").fill("2024-01-15T09:00")
    page.get_by_test_id("time-to").fill("2024-01-15T11:00")
    page.get_by_test_id("time-apply").click()
    expect(page).to_have_url(re.compile(r"from=2024-01-15T09%3A00%3A00Z&to=2024-01-15T11%3A00%3A00Z"))
    expect(page.get_by_test_id("incident-row-INC-1")).to_be_visible()
    page.goto(api_server + "/incidents?from=2024-01-15T09:00:00Z&to=2024-01-15T09:58:00Z")
    expect(page.get_by_test_id("incidents-empty")).to_be_visible()
    expect(page.get_by_test_id("time-range")).to_have_value("custom")


def test_evidence_page_shows_the_producing_span(api_server_token: tuple[str, str], ui: tuple[Any, Console]) -> None:
    """After the producer's OTLP span arrives (same trace id as the record), the evidence page shows it:
    service and version, operation, status and span id."""
    page, _ = ui
    url, token = api_server_token
    ev = httpx.get(f"{url}/api/v1/evidence", params={"signature": SIGNATURE, "dataset": URN, "limit": 1}).json()[0]
    src, trace_id = ev["source"], ev["otel"]["trace_id"]
    attrs = [{"key": "messaging.system", "value": {"stringValue": "kafka"}},
             {"key": "messaging.destination.name", "value": {"stringValue": src["topic"]}},
             {"key": "messaging.destination.partition.id", "value": {"stringValue": str(src["partition"])}},
             {"key": "messaging.kafka.offset", "value": {"intValue": str(src["offset"])}}]
    export = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "orders-svc"}},
                                    {"key": "service.version", "value": {"stringValue": "v3.17"}}]},
        "scopeSpans": [{"scope": {"name": "orders"}, "spans": [
            {"traceId": trace_id, "spanId": "a1b2c3d4e5f60718", "name": f"{src['topic']} publish", "kind": 4,
             "startTimeUnixNano": "1705312682000000000", "endTimeUnixNano": "1705312682004000000",
             "attributes": attrs, "status": {"code": 1}}]}]}]}
    r = httpx.post(f"{url}/v1/traces", json=export, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    page.goto(f"{url}/evidence/{ev['evidence_id']}")
    span = page.get_by_test_id("producing-span")
    expect(span).to_contain_text("orders-svc v3.17")
    expect(span).to_contain_text(f"{src['topic']} publish (PRODUCER)")
    expect(span).to_contain_text("a1b2c3d4e5f60718")
    expect(page.get_by_test_id("no-producing-span")).to_have_count(0)

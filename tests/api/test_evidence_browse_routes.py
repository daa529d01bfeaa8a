"""The evidence browser's page (`GET /api/v1/evidence?order=...`) and the top-bar search (`GET /api/v1/find`)
over real HTTP against Scenario 1 (read-only server); the original evidence query is unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

ORDERS = "urn:dp:orders:created"
SIG = "MISSING_FIELD:customer_id"


@pytest.fixture
def client(api_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_server, timeout=10) as c:
        yield c


def legacy(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    """The original answer (a list, oldest first) of the same question: the expected rows."""
    resp = client.get("/api/v1/evidence", params={**params, "limit": 10_000})
    resp.raise_for_status()
    rows: list[dict[str, Any]] = resp.json()
    return rows


def walk(client: httpx.Client, limit: int, **params: Any) -> tuple[list[str], list[int]]:
    """Every page of a browse: (evidence ids in order, the totals each page reported)."""
    got: list[str] = []
    totals: list[int] = []
    cursor = None
    while True:
        page = client.get("/api/v1/evidence", params={**params, "limit": limit,
                                                      **({"cursor": cursor} if cursor else {})}).json()
        got += [e["evidence_id"] for e in page["items"]]
        totals.append(page["total"])
        cursor = page["next_cursor"]
        if cursor is None:
            return got, totals


def test_pages_walk_the_fail_evidence_of_orders_newest_first(client: httpx.Client) -> None:
    """Paged newest first, FAIL on orders:created gives exactly the original query's rows reversed, every
    page reporting the same total, the last page without a next cursor."""
    expected = [e["evidence_id"] for e in legacy(client, dataset=ORDERS, result="FAIL")]
    got, totals = walk(client, 400, order="newest", dataset=ORDERS, result="fail")
    assert got == expected[::-1]
    assert set(totals) == {len(expected)}
    oldest, _ = walk(client, 400, order="oldest", dataset=ORDERS, result="FAIL")
    assert oldest == expected


def test_signature_producer_and_time_filters_combine(client: httpx.Client) -> None:
    """Signature, producer and an event-time range narrow the page as the original queries say."""
    by_sig = legacy(client, signature=SIG, dataset=ORDERS)
    in_window = {e["evidence_id"] for e in legacy(client, dataset=ORDERS, since="2024-01-15T09:59:00Z",
                                                  until="2024-01-15T10:00:00Z")}
    expected = [e["evidence_id"] for e in by_sig
                if e["evidence_id"] in in_window and e["producer"]["id"] == "orders-svc"]
    assert expected, "Scenario 1 has such evidence"
    page = client.get("/api/v1/evidence", params={
        "order": "oldest", "signature": SIG, "dataset": ORDERS, "producer": "orders-svc",
        "since": "2024-01-15T09:59:00Z", "until": "2024-01-15T10:00:00Z", "limit": 10_000}).json()
    assert [e["evidence_id"] for e in page["items"]] == expected
    assert page["total"] == len(expected)
    nobody = client.get("/api/v1/evidence", params={"producer": "no-such-service"}).json()
    assert (nobody["items"], nobody["total"], nobody["next_cursor"]) == ([], 0, None)


def test_a_page_needs_no_selector_and_the_original_query_still_does(client: httpx.Client) -> None:
    """`order=newest` alone pages all evidence; without it, no selector is still the original 400."""
    page = client.get("/api/v1/evidence", params={"order": "newest", "limit": 3}).json()
    assert len(page["items"]) == 3
    assert page["total"] >= 3
    assert page["next_cursor"]
    times = [e.get("source", {}).get("timestamp") or e["timestamp"] for e in page["items"]]
    assert times == sorted(times, reverse=True)
    assert client.get("/api/v1/evidence").status_code == 400


@pytest.mark.parametrize(("params", "names"), [
    ({"order": "newest", "cursor": "not-a-cursor"}, "cursor"),
    ({"order": "newest", "result": "BROKEN"}, "result"),
    ({"order": "sideways"}, "order"),
    ({"order": "newest", "run": "r1"}, "run"),
    ({"order": "newest", "since": "yesterday"}, "since"),
])
def test_bad_page_parameters_are_400_naming_the_parameter(client: httpx.Client, params: dict[str, str],
                                                          names: str) -> None:
    """A bad cursor, result, order, time or a `run` in a page is a 400 whose message names the parameter."""
    r = client.get("/api/v1/evidence", params=params)
    assert r.status_code == 400
    assert names in r.json()["detail"]


def test_find_v317_groups_the_incident_and_the_deployment(client: httpx.Client) -> None:
    """"v3.17" finds INC-1 (suspected orders-svc v3.17) and the v3.17 deployment, each with its page."""
    body = client.get("/api/v1/find", params={"q": "v3.17"}).json()
    groups = {g["kind"]: g["items"] for g in body["groups"]}
    assert [i["id"] for i in groups["incident"]] == ["INC-1"]
    assert groups["incident"][0]["href"] == "/incidents/INC-1"
    assert [i["label"] for i in groups["deployment"]] == ["orders-svc v3.17"]
    assert "dataset" not in groups


def test_find_datasets_and_signatures_best_match_first(client: httpx.Client) -> None:
    """A dataset URN's exact text ranks it first; a signature opens the evidence browser filtered to it."""
    body = client.get("/api/v1/find", params={"q": "urn:dp:orders:created"}).json()
    datasets = next(g["items"] for g in body["groups"] if g["kind"] == "dataset")
    assert datasets[0]["id"] == ORDERS
    sigs = client.get("/api/v1/find", params={"q": "customer_id"}).json()
    found = next(g["items"] for g in sigs["groups"] if g["kind"] == "signature")
    assert found[0]["id"] == SIG
    assert found[0]["href"] == "/evidence?signature=MISSING_FIELD%3Acustomer_id&dataset=urn%3Adp%3Aorders%3Acreated"
    assert client.get("/api/v1/find", params={"q": "zz-no-such-thing"}).json()["total"] == 0
    assert client.get("/api/v1/find").status_code == 422

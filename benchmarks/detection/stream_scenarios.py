"""Stream scenarios: clean traffic, bad deploys in their many shapes, noise that must not page.

Each builder takes the size (`full` or `small`: the same shape, shorter) and a seed, and returns a
`Scenario` with its records, deployment markers and labels. Times are event times on 2024-01-15 (UTC).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from benchmarks.detection.labels import Cause, Scenario, contract_label
from benchmarks.detection.traffic import Fault, Rec, Stream, Version, iso, markers, render
from benchmarks.detection.world import World, shop_world

MIN = 60_000
HOUR = 60 * MIN
DAY0 = 1_705_276_800_000  # 2024-01-15T00:00:00Z
BASELINE_AT = DAY0 - 3 * 24 * HOUR  # every service's running version was deployed days ago
DROP_CUSTOMER = Fault("missing", 0.9)


def pick(size: str, full: float, small: float) -> float:
    return full if size == "full" else small


def baseline(version: str) -> Version:
    return Version(BASELINE_AT, version)


def background(w: World, start: int, end: int, *, payments: float = 0.3, shipments: float = 0.2,
               inventory: float = 0.1, skip: Sequence[str] = ()) -> list[Stream]:
    """The shop's other producers, healthy, at modest rates."""
    t = w.topics
    out = []
    for topic, svc, rate, ver in (("raw.payments.events", "payments-svc", payments, "v2.8"),
                                  ("raw.shipments.events", "shipments-svc", shipments, "v4.1"),
                                  ("raw.inventory.events", "legacy-inventory-svc", inventory, "v4.9")):
        if svc not in skip and rate > 0:
            out.append(Stream(t[topic], svc, rate, start, end, [baseline(ver)]))
    return out


def assemble(name: str, title: str, w: World, streams: list[Stream], seed: int, start: int, end: int,
             ) -> tuple[list[Rec], list[dict[str, str]]]:
    """Render every stream with its own seeded generator; records in arrival order, and the markers."""
    recs: list[Rec] = []
    for k, s in enumerate(streams):
        recs += render(s, random.Random(f"{seed}:{name}:{k}:{s.service}:{s.topic.name}"))
    recs.sort(key=lambda r: (r.arrival_ms, r.event_ms, r.topic))
    return recs, markers(streams)


def clean(size: str, seed: int) -> Scenario:
    """24 h of clean traffic on four topics: noise, hex trace ids, two harmless deploys. Nothing pages."""
    w = shop_world()
    hours = pick(size, 24, 1)
    start = DAY0
    end = start + int(hours * HOUR)
    orders = Stream(w.topics["raw.orders.events"], "orders-svc", 0.6, start, end,
                    [baseline("v3.16"), Version(start + int(hours * HOUR * 0.3), "v3.16.1")])
    streams = [orders, *background(w, start, end)]
    streams[1].versions.append(Version(start + int(hours * HOUR * 0.6), "v2.8.1"))
    name = "clean_24h"
    recs, marks = assemble(name, "", w, streams, seed, start, end)
    return Scenario(name, f"{hours:g} h clean traffic, 0.3% sporadic failures, 2 good deploys", w, recs, marks, [],
                    start, end)


def bad_deploy(size: str, seed: int, rate: float = 3.0, share: float = 0.9, tag: str = "") -> Scenario:
    """orders-svc v3.17 drops `customer_id` on `share` of its records (Scenario 1's shape)."""
    w = shop_world()
    start = DAY0 + 9 * HOUR + 30 * MIN
    deploy = start + int(pick(size, 20, 6) * MIN)
    end = deploy + int(pick(size, 20, 6) * MIN)
    cause = Cause("orders-svc", "v3.17")
    orders = Stream(w.topics["raw.orders.events"], "orders-svc", rate, start, end,
                    [baseline("v3.16"), Version(deploy, "v3.17", (Fault("missing", share),))])
    name = f"bad_deploy{tag}"
    recs, marks = assemble(name, "", w, [orders, *background(w, start, end)], seed, start, end)
    label = contract_label(w, recs, "raw.orders.events", cause, end, fast=rate >= 2 and share >= 0.5)
    return Scenario(name, f"bad deploy, {rate:g} rec/s, {share:.0%} failing", w, recs, marks, [label], start, end)


def amplified(size: str, seed: int) -> Scenario:
    """orders-svc v3.17 turns the 0.3% sporadic MISSING_FIELD:currency, seen for an hour, into 80%: the same
    failure signature as the noise, so its first sighting predates the deploy that made it an incident."""
    w = shop_world()
    start = DAY0 + 7 * HOUR
    deploy = start + int(pick(size, 60, 15) * MIN)
    end = deploy + int(pick(size, 20, 6) * MIN)
    cause = Cause("orders-svc", "v3.17")
    orders = Stream(w.topics["raw.orders.events"], "orders-svc", 3.0, start, end,
                    [baseline("v3.16"), Version(deploy, "v3.17", (Fault("missing", 0.8, "currency"),))])
    name = "noise_amplified"
    recs, marks = assemble(name, "", w, [orders, *background(w, start, end)], seed, start, end)
    label = contract_label(w, recs, "raw.orders.events", cause, end, fast=True,
                           note="same signature as the background noise")
    return Scenario(name, "deploy turns a 0.3% sporadic failure into 80%", w, recs, marks, [label], start, end)


def concurrent(size: str, seed: int) -> Scenario:
    """orders-svc and payments-svc both ship a broken version, 40 s apart: two pages, two causes."""
    w = shop_world()
    start = DAY0 + 13 * HOUR
    deploy = start + int(pick(size, 20, 6) * MIN)
    end = deploy + int(pick(size, 20, 6) * MIN)
    a, b = Cause("orders-svc", "v3.17"), Cause("payments-svc", "v2.9")
    streams = [Stream(w.topics["raw.orders.events"], "orders-svc", 3.0, start, end,
                      [baseline("v3.16"), Version(deploy, "v3.17", (Fault("missing", 0.8),))]),
               Stream(w.topics["raw.payments.events"], "payments-svc", 2.5, start, end,
                      [baseline("v2.8"), Version(deploy + 40_000, "v2.9", (Fault("value", 0.7, "currency", "usd"),))]),
               *background(w, start, end, skip=("payments-svc",))]
    name = "concurrent_deploys"
    recs, marks = assemble(name, "", w, streams, seed, start, end)
    labels = [contract_label(w, recs, "raw.orders.events", a, end, fast=True),
              contract_label(w, recs, "raw.payments.events", b, end, fast=True)]
    return Scenario(name, "two services deploy broken versions 40 s apart", w, recs, marks, labels, start, end)


def legacy(size: str, seed: int) -> Scenario:
    """The headerless inventory producer's v5.0 (known only from its CD marker) sends `on_hand` as text."""
    w = shop_world()
    start = DAY0 + 15 * HOUR
    deploy = start + int(pick(size, 20, 6) * MIN)
    end = deploy + int(pick(size, 20, 6) * MIN)
    cause = Cause("legacy-inventory-svc", "v5.0")
    inv = Stream(w.topics["raw.inventory.events"], "legacy-inventory-svc", 2.0, start, end,
                 [baseline("v4.9"), Version(deploy, "v5.0", (Fault("value", 0.6, "on_hand", "many"),))])
    streams = [Stream(w.topics["raw.orders.events"], "orders-svc", 0.6, start, end, [baseline("v3.16")]), inv,
               *background(w, start, end, skip=("legacy-inventory-svc",))]
    name = "legacy_no_headers"
    recs, marks = assemble(name, "", w, streams, seed, start, end)
    label = contract_label(w, recs, "raw.inventory.events", cause, end, fast=False)
    return Scenario(name, "legacy producer without headers breaks (tier 2: SEV-2)", w, recs, marks, [label],
                    start, end)


def rollback(size: str, seed: int) -> Scenario:
    """A bad deploy rolled back after 4 minutes: one page, then quiet."""
    w = shop_world()
    start = DAY0 + 11 * HOUR
    deploy = start + int(pick(size, 20, 6) * MIN)
    back = deploy + 4 * MIN
    end = back + int(pick(size, 25, 10) * MIN)
    cause = Cause("orders-svc", "v3.17")
    orders = Stream(w.topics["raw.orders.events"], "orders-svc", 3.0, start, end,
                    [baseline("v3.16"), Version(deploy, "v3.17", (DROP_CUSTOMER,)), Version(back, "v3.16")])
    name = "deploy_rollback"
    recs, marks = assemble(name, "", w, [orders, *background(w, start, end)], seed, start, end)
    marks.append({"service": "orders-svc", "version": "v3.16", "at": iso(back), "commit": "rollback"})
    label = contract_label(w, recs, "raw.orders.events", cause, back, fast=True)
    return Scenario(name, "bad deploy, rolled back 4 min later", w, recs, marks, [label], start, end)


def innocent(size: str, seed: int) -> Scenario:
    """orders-svc v3.17 breaks records 2 min after its deploy; two other services deploy in between."""
    w = shop_world()
    start = DAY0 + 16 * HOUR
    deploy = start + int(pick(size, 20, 6) * MIN)
    end = deploy + int(pick(size, 20, 8) * MIN)
    cause = Cause("orders-svc", "v3.17")
    orders = Stream(w.topics["raw.orders.events"], "orders-svc", 3.0, start, end,
                    [baseline("v3.16"), Version(deploy, "v3.17"),
                     Version(deploy + 120_000, "v3.17", (DROP_CUSTOMER,), marker=False)])
    streams = [orders, *background(w, start, end)]
    streams[1].versions.append(Version(deploy + 100_000, "v2.9"))  # payments-svc, healthy
    streams[2].versions.append(Version(deploy + 112_000, "v4.2"))  # shipments-svc, healthy, 8 s before
    name = "innocent_deploy"
    recs, marks = assemble(name, "", w, streams, seed, start, end)
    label = contract_label(w, recs, "raw.orders.events", cause, end, fast=True,
                           note="innocent deploys 20 s and 8 s before the first failure")
    return Scenario(name, "real breakage 2 min after its deploy, innocent deploys closer", w, recs, marks,
                    [label], start, end)


def shared_topic(size: str, seed: int) -> Scenario:
    """checkout-svc and orders-svc both write raw.orders.events; checkout-svc v1.8 breaks its records."""
    w = shop_world(shared_orders_producers=("checkout-svc",))
    start = DAY0 + 18 * HOUR
    deploy = start + int(pick(size, 20, 6) * MIN)
    end = deploy + int(pick(size, 20, 6) * MIN)
    cause = Cause("checkout-svc", "v1.8")
    topic = w.topics["raw.orders.events"]
    streams = [Stream(topic, "orders-svc", 1.5, start, end, [baseline("v3.16"), Version(deploy - 30_000, "v3.16.2")]),
               Stream(topic, "checkout-svc", 2.5, start, end,
                      [baseline("v1.7"), Version(deploy, "v1.8", (Fault("missing", 1.0),))]),
               *background(w, start, end)]
    name = "shared_topic"
    recs, marks = assemble(name, "", w, streams, seed, start, end)
    label = contract_label(w, recs, "raw.orders.events", cause, end, fast=True,
                           note="the topic owner orders-svc also deployed, 30 s earlier")
    return Scenario(name, "two services share a topic; the non-owner breaks", w, recs, marks, [label], start, end)


def sub_threshold(size: str, seed: int) -> Scenario:
    """A deploy adds a new failure on 2% of records: inside the 5% error budget. Nothing pages."""
    w = shop_world()
    start = DAY0 + 20 * HOUR
    deploy = start + int(pick(size, 15, 5) * MIN)
    end = deploy + int(pick(size, 105, 20) * MIN)
    orders = Stream(w.topics["raw.orders.events"], "orders-svc", 2.0, start, end,
                    [baseline("v3.16"), Version(deploy, "v3.17", (Fault("value", 0.02, "total_amount", -1),))])
    name = "sub_threshold"
    recs, marks = assemble(name, "", w, [orders, *background(w, start, end)], seed, start, end)
    return Scenario(name, "new failure on 2% of records (SLO 95%)", w, recs, marks, [], start, end)


def late(size: str, seed: int) -> Scenario:
    """A bad deploy while 10% of records arrive 20-90 s late and 0.5% 7-15 min late, out of order."""
    w = shop_world()
    start = DAY0 + 22 * HOUR
    deploy = start + int(pick(size, 20, 6) * MIN)
    end = deploy + int(pick(size, 20, 8) * MIN)
    cause = Cause("orders-svc", "v3.17")
    delays = ((0.10, 20.0, 90.0), (0.005, 420.0, 900.0))
    orders = Stream(w.topics["raw.orders.events"], "orders-svc", 3.0, start, end,
                    [baseline("v3.16"), Version(deploy, "v3.17", (DROP_CUSTOMER,))], delays=delays)
    streams = [orders, *background(w, start, end)]
    for s in streams[1:]:
        s.delays = delays
    name = "late_out_of_order"
    recs, marks = assemble(name, "", w, streams, seed, start, end)
    label = contract_label(w, recs, "raw.orders.events", cause, end, fast=True)
    return Scenario(name, "bad deploy with late, out-of-order arrival", w, recs, marks, [label], start, end,
                    arrival_order=True)

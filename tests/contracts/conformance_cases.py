"""The contracts of the differential test against datacontract-cli, and seeded records for each.

Each case is a contract file, a conforming record for row `i`, and per field the other values a record may
carry instead (absent, null, wrong type, out of range, off-pattern, boundaries, ...). The generator starts
every record conforming and swaps in 0-3 of those values, chosen by a seeded RNG, so the violations are
known and reproducible. The values are neither labelled good nor bad: the two tools are the oracles.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import EXAMPLE, ROOT

DATA = ROOT / "tests/data"
ABSENT = object()  # the field is left out of the record


@dataclass(frozen=True)
class Case:
    """One contract, how a conforming record looks, and the values that may replace a field's."""

    name: str
    contract: Path
    good: Callable[[int], dict[str, Any]]
    values: dict[str, list[Any]]


def records(case: Case, n: int, seed: int) -> list[dict[str, Any]]:
    """`n` records, each `_row` = its index: conforming, then 0-3 fields swapped for other values."""
    rng = random.Random(seed)
    fields = sorted(case.values)
    out = []
    for i in range(n):
        record = {"_row": i, **case.good(i)}
        for field in rng.sample(fields, min(len(fields), rng.choice((0, 1, 1, 2, 3)))):
            value = rng.choice(case.values[field])
            if value is ABSENT:
                record.pop(field, None)
            else:
                record[field] = value
        out.append(record)
    return out


_ORDERS_ITEMS = [{"sku": "SKU-1", "qty": 2, "price": 9.5}]

CASES = [
    Case(
        "ours: orders.created (v3.1.0)", ROOT / "examples/orders/contracts/orders.created.odcs.yaml",
        lambda i: {"order_id": f"ORD-2024-0114-{i:05d}", "customer_id": f"CUST-{i}", "total_amount": 10.5 + i,
                   "currency": "USD", "created_at": "2024-01-14T14:30:00Z", "discount_type": "NONE",
                   "customer_email": "a@example.com", "notes": "leave at door", "items": _ORDERS_ITEMS},
        {"order_id": [ABSENT, None, "ORDER-1", "ord-2024-0114-1", 17],
         "customer_id": [ABSENT, None, "", 42],
         "total_amount": [ABSENT, None, -0.01, 0, 0.0, -100, "12.5", True],
         "currency": [ABSENT, None, "usd", "EURO", "US", 1],
         "created_at": [None, "2024-01-14T14:30:00.123+01:00", "2024-01-14T14:30:00", "2024-01-14", "yesterday",
                        1705242600000],
         "discount_type": [None, "FLASH_SALE", "PERCENTAGE", "COUPON", "none", 3],
         "customer_email": [None, "not-an-email", "b@example.org", "x@y"],
         "notes": [None, "", "n" * 1000, "n" * 1001, 5],
         "items": [None, [], [{"sku": "S", "qty": 0}], [{"sku": None, "qty": 1}], "items"]},
    ),
    Case(
        "ours: every rule, ODCS v3.1.0", DATA / "conformance/every-rule.v31.odcs.yaml",
        lambda i: {"code": f"AB-{i % 1000:03d}", "label": "abcd", "email": "a@example.com", "qty": 1 + i % 100,
                   "price": 9.99, "weight": 2.5, "active": True, "day": "2024-01-15", "at": "2024-01-15T10:00:00Z",
                   "tier": "gold", "status": "open", "ref": f"R-{i}", "note": "n", "channel": "web"},
        {"code": [ABSENT, None, "ab-123", "AB-12", "XAB-123", 123],
         "label": [None, "a", "ab", "abcdefgh", "abcdefghi", "", 7],
         "email": [None, "nope", "a@b", "first.last@example.co.uk", 1],
         "qty": [ABSENT, None, 0, 1, 100, 101, -5, 2.5, "7", True],
         "price": [None, 0, 0.0, 0.01, -1, "9.99", False],
         "weight": [None, 999.99, 1000, 1000.5, "1", True],
         "active": [None, False, "true", 1, 0],
         "day": [None, "2024-02-30", "2024-1-5", "2024-01-15T10:00:00Z", "15.01.2024", 20240115],
         "at": [None, "2024-01-15T10:00:00+02:00", "2024-01-15T10:00:00.5Z", "2024-01-15 10:00:00Z",
                "2024-01-15T10:00:00", "2024-01-15", "later", 1705312800],
         "tier": [None, "platinum", "Gold", "silver", "", 1],
         "status": [None, "pending", "closed"],
         "ref": [None, "R-", "X-1", "R-12a", "r-1", ""],
         "note": [ABSENT, None, "", "x"],
         "channel": [ABSENT, None, "", "N/A", "n/a", "app"]},
    ),
    Case(
        "ours: every rule, ODCS v3.0.2", DATA / "conformance/every-rule.v30.odcs.yaml",
        lambda i: {"id": f"ID{i}", "kind": "a", "owner": "team", "amount": 5.5, "count": i % 10, "flag": False,
                   "placed": "2024-01-15"},
        {"id": [ABSENT, None, "id1", "ID", "ID1234567", 5],
         "kind": [None, "d", "A", "b", ""],
         "owner": [ABSENT, None, ""],
         "amount": [None, 0, 0.0, 0.5, 1, -2, "5"],
         "count": [ABSENT, None, 10, 11, -3, 1.5],
         "flag": [None, True, "no"],
         "placed": [None, "2024-01-15T09:30:00Z", "2024-01-15 09:30:00", "2024-13-01", "tomorrow"]},
    ),
    Case(
        "datacontract-cli: inventory_ndjson (v3.1.0)", DATA / "datacontract_cli/inventory_ndjson.odcs.yaml",
        lambda i: {"updated_at": "2022-04-20T13:50:34.228811Z", "available": i % 20, "location": "18",
                   "sku": f"95215829{i:05d}"},
        {"updated_at": [None, "not a date", "2022-04-20"],
         "available": [None, -1, 1.5, "17"],
         "location": [None, 18, ""],
         "sku": [None, 9521582929054]},
    ),
    Case(
        "datacontract-cli: cities version 2 (v3.1.0)", DATA / "datacontract_cli/cities-version-2.odcs.yaml",
        lambda i: {"city_id": f"00000000-0000-4000-8000-{i:012d}", "name": f"City {i}", "population": 20_000 + i},
        {"name": [ABSENT, None, "", 3],
         "population": [None, 9_999, 10_000, 5_000_000, 5_000_001, "big", 12.5]},
    ),
]


# The cases whose contracts a control plane can carry next to the orders world (ours), by dataset and topic.
WORLD_CASES = {CASES[0].name: ("urn:dp:orders:created", "raw.orders.events"),
               CASES[1].name: ("urn:dp:conformance:every_rule_new", "raw.conformance.v31"),
               CASES[2].name: ("urn:dp:conformance:every_rule_old", "raw.conformance.v30")}


def conformance_world(target: Path) -> Path:
    """The example control plane plus a dataset and a topic for each of our every-rule contracts."""
    shutil.copytree(EXAMPLE, target)
    datasets = (target / "datasets.yaml").read_text()
    topics = (target / "topics.yaml").read_text()
    for case in CASES[1:3]:
        urn, topic = WORLD_CASES[case.name]
        shutil.copy(case.contract, target / "contracts" / case.contract.name)
        contract_id = yaml.safe_load(case.contract.read_text())["id"]
        datasets += (f"\n  - {{urn: {urn}, name: {contract_id}, type: kafka_topic, tier: 1, owner: data-platform,"
                     f" contract: {contract_id}}}\n")
        topics += f"  - {{topic: {topic}, dataset: {urn}, producer: orders-svc}}\n"
    (target / "datasets.yaml").write_text(datasets)
    (target / "topics.yaml").write_text(topics)
    return target

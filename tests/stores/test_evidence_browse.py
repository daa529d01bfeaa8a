"""EvidenceRepo.browse/count (the evidence browser): every filter combines, newest or oldest first by
(event time, id), keyset pages that never skip or repeat a row; the same on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from signal_factory.model.evidence import PASS, WARN, Evidence, Producer
from signal_factory.stores.ports import EvidenceFilter
from tests.stores.builders import MINUTE, ORDERS, PAYMENTS, T0, evidence

SIG = "MISSING_FIELD:customer_id"
OTHER = "TYPE_MISMATCH:total_amount"


def by(producer: str | None, ev: Evidence) -> Evidence:
    return msgspec.structs.replace(ev, producer=Producer(producer, "HIGH", "v1") if producer else None)


@pytest.fixture
def seeded(store: Any) -> Any:
    """Seven evidence: two datasets, three results, two signatures, three producers (one unknown), a tie."""
    store.evidence.add_many([
        evidence("ev-1", at=T0),
        evidence("ev-2", at=T0 + MINUTE, reasons=(SIG, OTHER)),
        evidence("ev-3", at=T0 + MINUTE, result=PASS),  # same event time as ev-2: the id breaks the tie
        evidence("ev-4", at=T0 + 2 * MINUTE, result=WARN, reasons=(OTHER,)),
        by("payments-svc", evidence("ev-5", at=T0 + 3 * MINUTE, dataset=PAYMENTS)),
        by(None, evidence("ev-6", at=T0 + 4 * MINUTE)),
        by("orders-svc-canary", evidence("ev-7", at=T0 + 5 * MINUTE)),
    ])
    return store


def ids(items: list[Evidence]) -> list[str]:
    return [e.evidence_id for e in items]


@pytest.mark.parametrize(("where", "expected"), [
    (EvidenceFilter(), ["ev-7", "ev-6", "ev-5", "ev-4", "ev-3", "ev-2", "ev-1"]),
    (EvidenceFilter(dataset_urn=ORDERS, result="FAIL"), ["ev-7", "ev-6", "ev-2", "ev-1"]),
    (EvidenceFilter(signature=OTHER), ["ev-4", "ev-2"]),
    (EvidenceFilter(signature=SIG, dataset_urn=ORDERS), ["ev-7", "ev-6", "ev-2", "ev-1"]),
    (EvidenceFilter(producer="orders-svc"), ["ev-4", "ev-3", "ev-2", "ev-1"]),  # exact: not the canary
    (EvidenceFilter(producer="payments-svc"), ["ev-5"]),
    (EvidenceFilter(producer="nobody"), []),
    (EvidenceFilter(start_ms=T0 + MINUTE, end_ms=T0 + 3 * MINUTE), ["ev-4", "ev-3", "ev-2"]),
    (EvidenceFilter(result="WARN", producer="orders-svc", signature=OTHER, start_ms=T0), ["ev-4"]),
])
def test_browse_filters_combine_newest_first_and_count_agrees(seeded: Any, where: EvidenceFilter,
                                                              expected: list[str]) -> None:
    """Each filter and their combination select the same rows in browse and count, newest first."""
    assert ids(seeded.evidence.browse(where)) == expected
    assert seeded.evidence.count(where) == len(expected)
    assert ids(seeded.evidence.browse(where, newest_first=False)) == expected[::-1]


@pytest.mark.parametrize("newest_first", [True, False])
def test_keyset_pages_cover_every_row_once(seeded: Any, newest_first: bool) -> None:
    """Pages of 2 from each page's last row walk every row exactly once, ties on event time included."""
    whole = ids(seeded.evidence.browse(EvidenceFilter(), newest_first=newest_first))
    walked: list[str] = []
    after = None
    while True:
        page = seeded.evidence.browse(EvidenceFilter(), after=after, newest_first=newest_first, limit=2)
        if not page:
            break
        walked += ids(page)
        last = page[-1]
        after = (T0 + {"ev-1": 0, "ev-2": 1, "ev-3": 1, "ev-4": 2, "ev-5": 3, "ev-6": 4, "ev-7": 5}[last.evidence_id]
                 * MINUTE, last.evidence_id)
    assert walked == whole

"""IncidentRepo: increasing ids, one open incident per (dataset, signature), newest first."""

from __future__ import annotations

from typing import Any

import msgspec

from signal_factory.model.incidents import ACKNOWLEDGED, RESOLVED
from signal_factory.stores.sql import open_store
from tests.stores.builders import MINUTE, ORDERS, PAYMENTS, T0, incident


def test_next_id_increases(store: Any) -> None:
    """Ids are INC-1, INC-2, ... in order."""
    assert [store.incidents.next_id() for _ in range(3)] == ["INC-1", "INC-2", "INC-3"]


def test_next_id_keeps_increasing_across_reopen(sql_url: str) -> None:
    """Closing and re-opening the database never hands out an id twice."""
    with open_store(sql_url) as s:
        assert [s.incidents.next_id(), s.incidents.next_id()] == ["INC-1", "INC-2"]
    with open_store(sql_url) as s:
        assert s.incidents.next_id() == "INC-3"


def test_put_replaces_by_id(store: Any) -> None:
    """Putting an incident with a stored id replaces it; `get` returns None for unknown ids."""
    store.incidents.put(incident("INC-1"))
    acked = msgspec.structs.replace(incident("INC-1"), status=ACKNOWLEDGED, acknowledged_by="ana")
    store.incidents.put(acked)
    assert store.incidents.get("INC-1") == acked
    assert store.incidents.get("INC-2") is None
    assert len(store.incidents.list()) == 1


def test_find_open_ignores_resolved(store: Any) -> None:
    """OPEN or ACKNOWLEDGED incidents match their (dataset, signature); RESOLVED ones never do."""
    store.incidents.put(incident("INC-1", status=RESOLVED))
    assert store.incidents.find_open(ORDERS, "MISSING_FIELD:customer_id") is None
    store.incidents.put(incident("INC-2", at=T0 + MINUTE, status=ACKNOWLEDGED))
    found = store.incidents.find_open(ORDERS, "MISSING_FIELD:customer_id")
    assert found is not None
    assert found.incident_id == "INC-2"
    assert store.incidents.find_open(PAYMENTS, "MISSING_FIELD:customer_id") is None
    assert store.incidents.find_open(ORDERS, "OTHER") is None


def test_list_newest_first_with_filters(store: Any) -> None:
    """Newest created first; status and dataset narrow the list; limit caps it."""
    store.incidents.put(incident("INC-1", at=T0))
    store.incidents.put(incident("INC-2", at=T0 + 2 * MINUTE, status=RESOLVED))
    store.incidents.put(incident("INC-3", at=T0 + MINUTE, dataset=PAYMENTS))
    assert [i.incident_id for i in store.incidents.list()] == ["INC-2", "INC-3", "INC-1"]
    assert [i.incident_id for i in store.incidents.list(status="OPEN")] == ["INC-3", "INC-1"]
    assert [i.incident_id for i in store.incidents.list(dataset_urn=ORDERS)] == ["INC-2", "INC-1"]
    assert [i.incident_id for i in store.incidents.list(limit=1)] == ["INC-2"]

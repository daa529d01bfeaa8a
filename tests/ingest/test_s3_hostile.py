"""S3 object ingest under hostile input (moto server): the hostile corpus as an object (one evidence per line,
split by the one line rule), deep JSON, NUL in a key and out-of-range times are FAIL evidence, never a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from benchmarks.hostile.corpus import corpus

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.evidence import FAIL, encode_evidence
from signal_factory.runtime.replay import ReplayService
from signal_factory.sources.lines import split_lines
from signal_factory.stores.sql import open_store
from tests.ingest.test_s3_objects import _one, _put, direct, ingester, s3, s3_endpoint, s3_event

pytestmark = pytest.mark.slow
__all__ = ["ingester", "s3", "s3_endpoint"]  # fixtures shared with test_s3_objects


def test_hostile_corpus_object_is_one_evidence_per_line(ingester: Any, s3: Any) -> None:
    """300 hostile lines (with \\r inside lines and \\r\\n endings) are 300 rows, each one evidence of the
    object's dataset: the line rule of enforce, and nothing raises."""
    body = b"".join(line + b"\n" for _, line in corpus(per_class=30))
    key = "orders/hostile/corpus.jsonl"
    etag = _put(s3, key, body)
    got = ingester.handle_notification(direct(key, etag))
    assert len(got) == len(list(split_lines(body))) == 300
    assert len({e.evidence_id for e in got}) == 300
    assert {e.dataset_urn for e in got} == {"urn:dp:orders:created"}
    assert sum(e.validation.result == FAIL for e in got) > 100


@pytest.mark.parametrize(("body", "code"), [
    (b"[" + b"[" * 3000 + b"]" * 3000 + b"]", "OBJECT_UNREADABLE:depth"),
    (b'[{"a":' + b"[" * 100 + b"]" * 100 + b"}]", "MALFORMED_ROW:depth"),
    (b'{"a":' + b"[" * 3000 + b"]" * 3000 + b"}\n", "MALFORMED_ROW:depth"),
])
def test_deep_objects_are_fail_evidence(ingester: Any, s3: Any, body: bytes, code: str) -> None:
    """JSON nested too deep, as a whole object or as one row, is a FAIL with a depth code (it raised)."""
    key = f"orders/hostile/deep-{len(body)}-{code[-5:]}.json"
    ev = _one(ingester.handle_notification(direct(key, _put(s3, key, body))))
    assert ev.validation.result == FAIL
    assert code in ev.validation.reason_codes


def test_hostile_notifications_are_fail_evidence(ingester: Any) -> None:
    """A deeply nested notification and one announcing a year-10000 event are each one evidence."""
    deep = ingester.handle_notification(b'{"Records":' + b"[" * 5000 + b"]" * 5000 + b"}")
    assert [e.validation.reason_codes for e in deep] == [["MALFORMED_NOTIFICATION:nesting"]]
    event = s3_event("gone/\u0000key.jsonl", "e1")
    event["Records"][0]["eventTime"] = "10000-01-01T00:00:00Z"
    assert len(ingester.handle_notification(json.dumps(event))) == 1


def test_nul_in_an_object_key_is_stored_as_a_stand_in(control_plane: ControlPlane, ingester: Any,
                                                      tmp_path: Path) -> None:
    """Evidence for an object whose key holds a NUL goes through the store (SQLite); the guard names the key by
    a stand-in (a control character is not a safe name), so no NUL reaches the store."""
    evidence = ingester.handle_notification(json.dumps(s3_event("orders/missing/\u0000.jsonl", "e2")))
    with open_store(f"sqlite:///{tmp_path / 's3.db'}") as store:
        ReplayService(control_plane, store, Enforcer(control_plane)).ingest_evidence(evidence)
        got = store.evidence.get(evidence[0].evidence_id)
    assert got is not None
    assert b"\\u0000" not in encode_evidence(got)
    assert (got.source.input_dataset if got.source else "").startswith("redacted-TEXT-")

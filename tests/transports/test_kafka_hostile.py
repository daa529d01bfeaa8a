"""Differential, Kafka leg: hostile records through the Kafka enforcer stage (librdkafka's mock cluster) give the
same evidence - ids, verdicts, reason codes - as the same records through `enforce` as kcat -J lines."""

from __future__ import annotations

import base64
import dataclasses
import io
from pathlib import Path

import pytest
from benchmarks.hostile.corpus import corpus

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.evidence import decode_evidence
from signal_factory.model.records import RawRecord
from signal_factory.service import EnforceService
from signal_factory.settings import Settings
from signal_factory.sources.jsonlines import parse_line
from signal_factory.transports.kafka.config import KafkaConfig
from signal_factory.transports.kafka.enforcer_stage import EnforcerStage
from tests.conftest import without_sampling
from tests.transports.conftest import GROUP_PROPS, RAW, drain, kafka_cluster
from tests.transports.test_kafka_enforcer import _run_in_thread

pytestmark = pytest.mark.slow
NOW = 1705312700.0
EVIDENCE = "sf.test.evidence.hostile"
#: CreateTimes a producer can set that no event time can be (Kafka carries any int64).
MADE_UP_TIMES = (2**62, 253402300800000, 1)


def hostile_records() -> list[RawRecord]:
    """The corpus records a Kafka producer could send on raw.orders.events (those that split into a record)."""
    out: list[RawRecord] = []
    for _, line in corpus(per_class=20):
        rec = parse_line(line, "corpus")
        if isinstance(rec, RawRecord) and rec.topic == RAW and rec.timestamp_ms is not None and rec.value is not None:
            out.append(rec)
    for i, ts in enumerate(MADE_UP_TIMES):
        out.append(RawRecord(topic=RAW, timestamp_ms=ts, headers={}, key=f"late-{i}", value=b'{"a": 1}'))
    return out


def as_kcat(records: list[RawRecord]) -> bytes:
    """The records as kcat -J lines at the offsets the broker will give them (partition 0, from 0)."""
    import json

    lines = [json.dumps({"topic": RAW, "partition": 0, "offset": i, "ts": r.timestamp_ms,
                         "headers": [x for kv in r.headers.items() for x in kv], "key": r.key,
                         "value_b64": base64.b64encode(r.value or b"").decode()}).encode()
             for i, r in enumerate(records)]
    return b"".join(line + b"\n" for line in lines)


def test_kafka_stage_gives_the_evidence_enforce_gives(control_plane: ControlPlane, tmp_path: Path) -> None:
    """Same ids, verdicts and reason codes, one evidence per message, for every hostile record."""
    from confluent_kafka import Producer

    cp = without_sampling(control_plane)
    records = hostile_records()
    assert len(records) > 100
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(as_kcat(records))
    service = EnforceService(cp, dataclasses.replace(Settings.from_env(), home=tmp_path / "home"))
    service.enforcer = Enforcer(cp, clock=lambda: NOW)
    sink = io.BytesIO()
    service.enforce_files([path], sink)
    enforced = [decode_evidence(line) for line in sink.getvalue().splitlines()]
    assert len(enforced) == len(records)

    with kafka_cluster({RAW: 1, EVIDENCE: 1}, own=True) as bootstrap:  # RAW with 1 partition: a broker of its own
        producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
        for r in records:
            producer.produce(RAW, value=r.value, key=r.key.encode("utf-8", "surrogatepass") if r.key else None,
                             partition=0, timestamp=r.timestamp_ms or 0,
                             headers=[(k, v.encode("utf-8", "surrogatepass")) for k, v in r.headers.items()])
        assert producer.flush(30) == 0
        cfg = KafkaConfig(bootstrap_servers=bootstrap, group_id="sf-test-hostile", topics=(RAW,),
                          evidence_topic=EVIDENCE, properties=GROUP_PROPS)
        stage = EnforcerStage(cp, cfg, enforcer=Enforcer(cp, clock=lambda: NOW))
        _run_in_thread(stage, len(records))
        through_kafka = [decode_evidence(m.value()) for m in drain(bootstrap, EVIDENCE, expect=len(records))]

    through_kafka.sort(key=lambda e: e.source.offset if e.source and e.source.offset is not None else -1)
    assert stage.report.internal_errors == 0

    def view(evs: list) -> list[tuple[str, str, list[str]]]:
        return [(e.evidence_id, e.validation.result, e.validation.reason_codes) for e in evs]

    assert view(through_kafka) == view(enforced)

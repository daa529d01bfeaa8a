"""Stream evidence on the Kafka path: the SDK's KafkaSink (and a seed-shaped message) into the evidence topic, read by
the signals stage into the store with its `stream` facet and correlation chain, and its processor in the graph."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.graph import model as gm
from signal_factory.integrations.stream import EvidenceEmitter, KafkaSink, ListSink, RecordRef
from signal_factory.model.stream import CorrelationChain
from signal_factory.stores.sql import open_store
from signal_factory.transports.kafka.config import KafkaConfig
from signal_factory.transports.kafka.signals_stage import SignalsStage
from tests.conftest import order_payload
from tests.transports.conftest import GROUP_PROPS, kafka_cluster

pytestmark = pytest.mark.slow
PREFIX = "sf.test.stream"
URN = "urn:dp:orders:created"
T0 = 1705312682127


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    with kafka_cluster({f"{PREFIX}.evidence": 1, f"{PREFIX}.tallies": 1}) as servers:
        yield servers


def test_stream_evidence_survives_the_evidence_topic(bootstrap: str, control_plane: ControlPlane,
                                                     tmp_path: Path) -> None:
    """Facet and chain (ours via KafkaSink, the seed's 3.4 shape as raw JSON) are stored as produced."""
    contract = control_plane.contract_for(control_plane.datasets[URN])
    listed = EvidenceEmitter(contract, URN, "enrichment-stream", "contract-validator", ListSink(),
                             producer_version="v2.4.0", clock=lambda: T0 / 1000 + 5)
    root = listed.validate(order_payload(customer_id=None), event_time_ms=T0,
                           input_record=RecordRef(topic="raw.orders.events", partition=0, offset=42))
    sink = KafkaSink({"bootstrap.servers": bootstrap}, topic=f"{PREFIX}.evidence")
    enricher = EvidenceEmitter(contract, URN, "enrichment-stream", "enrich", sink, producer_version="v2.4.0",
                               clock=lambda: T0 / 1000 + 6)
    sink.emit(root)
    derived = enricher.derived(order_payload(customer_id=None), inputs=[root])
    seed_doc = msgspec.json.decode(msgspec.json.encode(derived))
    seed_doc["evidence_id"] = "evd-01HQXSEEDSHAPE000000000001"
    seed_doc["correlation_chain"] = {"root_trace_id": "ab91f3c2d4e5f6a7b8c9d0e1f2a3b4c5", "causal_chain": [
        {"step": 1, "source_evidence_id": root.evidence_id, "relationship": "DERIVED_FROM"}]}
    sink._producer.produce(f"{PREFIX}.evidence", key=URN.encode(), value=msgspec.json.encode(seed_doc))
    sink.flush()

    cfg = KafkaConfig(bootstrap_servers=bootstrap, group_id=f"{PREFIX}.group",
                      topics=(f"{PREFIX}.evidence", f"{PREFIX}.tallies"), evidence_topic=f"{PREFIX}.evidence",
                      tally_topic=f"{PREFIX}.tallies", signals_topic=None, properties=GROUP_PROPS)
    with open_store(f"sqlite:///{tmp_path / 'stream.db'}") as store:
        SignalsStage(control_plane, store, cfg, flush_when_idle_s=1.0).run(threading.Event(), idle_exit_s=3.0)
        got_root, got_derived, got_seed = (store.evidence.get(i) for i in (
            root.evidence_id, derived.evidence_id, seed_doc["evidence_id"]))
        graph = store.graph
        processors = graph.nodes_by_id([gm.node_id(gm.PROCESSOR, "enrichment-stream/enrich"),
                                        gm.node_id(gm.PROCESSOR, "enrichment-stream/contract-validator")])
        by_coords = store.evidence.by_source("raw.orders.events", 0, 42)
    assert got_root is not None
    assert got_derived is not None
    assert got_seed is not None
    assert got_root.stream == root.stream
    assert got_derived.stream == derived.stream
    assert got_derived.correlation_chain == derived.correlation_chain
    assert isinstance(got_seed.correlation_chain, CorrelationChain)
    assert got_seed.correlation_chain.root_trace_id == "ab91f3c2d4e5f6a7b8c9d0e1f2a3b4c5"
    assert got_seed.correlation_chain.causal_chain[0].source_evidence_id == root.evidence_id
    assert [e.evidence_id for e in by_coords] == [root.evidence_id]
    assert {n.props["version"] for n in processors.values()} == {"v2.4.0"}
    assert len(processors) == 2

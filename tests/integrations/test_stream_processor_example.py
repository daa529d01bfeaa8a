"""The example stream processor runs as documented and its evidence is accepted by the platform."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.integrations.stream import DERIVED_FROM, decode_stream_evidence
from signal_factory.model.evidence import decode_evidence
from signal_factory.runtime.replay import ReplayService
from signal_factory.stores.memory import MemoryStore

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "stream_processor" / "enrich_orders.py"
TRAFFIC = ROOT / "examples" / "orders" / "scenario1" / "traffic.jsonl"


def test_enrich_orders_runs_and_emits_chained_evidence(tmp_path: Path, control_plane: ControlPlane) -> None:
    """One validation evidence per input, one DERIVED_FROM evidence per enriched record, all ingestible."""
    out, evidence = tmp_path / "enriched.jsonl", tmp_path / "stream-evidence.jsonl"
    done = subprocess.run([sys.executable, str(SCRIPT), "--input", str(TRAFFIC), "--out", str(out),
                           "--evidence", str(evidence)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "records=1247" in done.stderr
    enriched = [msgspec.json.decode(line) for line in out.read_bytes().splitlines()]
    stream = [decode_stream_evidence(line) for line in evidence.read_bytes().splitlines()]
    validated = [e for e in stream if e.stream.processor_node == "contract-validator"]
    derived = [e for e in stream if e.stream.processor_node == "enrich"]
    assert len(validated) == 1247
    assert len(derived) == len(enriched) > 0
    assert all(r["topic"] == "enriched.orders.events" and "order_value_band" in r["payload"]["payload"]
               for r in enriched)
    by_id = {e.evidence_id: e for e in validated}
    for ev in derived:
        (link,) = ev.correlation_chain
        assert link.relation == DERIVED_FROM
        assert link.evidence_id is not None
        assert by_id[link.evidence_id].validation.result != "FAIL"
    assert any("MISSING_FIELD:customer_id" in e.validation.reason_codes for e in validated)

    store = MemoryStore()
    report = ReplayService(control_plane, store, Enforcer(control_plane)).ingest_evidence(
        [decode_evidence(line) for line in evidence.read_bytes().splitlines()])
    assert report.new_evidence == len(stream)

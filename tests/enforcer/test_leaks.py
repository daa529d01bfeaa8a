"""Nothing we write carries a guarded value: PII in every producer-controlled channel x every output.

The corpus (`leak_corpus.py`) puts distinct SSNs, card numbers (also as a JSON number), emails, IBANs
and phone numbers, in forms the detectors recognise and forms they miss, into payload values, key
names, the four x-obs headers and traceparent, the topic, enum and pattern-checked fields, the Kafka
key, the envelope and the payload's producer hints; `leak_inflows.py` puts them into the other
inflows: OpenLineage names and facets, posted evidence, S3 object keys and metadata, deployment
markers; `leak_otlp.py` into OTLP trace exports: service name and version, span name, status message,
attribute and event values, messaging destination. `leak_outputs.collect` runs it all through the
CLI, replay into SQLite and PostgreSQL, the API and UI, RCA, graph export and notification bodies, with
every log record captured; the search looks for each value in all its written forms.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.enforcer.leak_corpus import CHANNEL_NAMES, corpus_lines, detector_forms_are_detected, find_leaks
from tests.enforcer.leak_inflows import raw_bodies
from tests.enforcer.leak_otlp import TRACE_ID, raw_text
from tests.enforcer.leak_outputs import OUTPUTS, collect

pytestmark = pytest.mark.slow


def test_the_search_finds_every_channel_in_raw_input() -> None:
    """Control: searching the raw corpus finds every channel's values (the needles match what is sent)."""
    found = find_leaks({"raw": corpus_lines().decode() + raw_bodies() + raw_text()})
    assert {channel for channel, _ in found} == set(CHANNEL_NAMES)


def test_detectable_forms_are_recognised_by_the_detectors() -> None:
    """The forms used where only detection can protect (payload copies) are ones the detectors know."""
    assert detector_forms_are_detected() == []


def _evidence(out: dict[str, str]) -> list[dict]:
    return [json.loads(line) for line in out["evidence (enforce stdout)"].splitlines()]


@pytest.mark.parametrize("payload", ["none", "all"])
def test_no_guarded_value_in_any_output(payload: str, sql_url: str, tmp_path: Path) -> None:
    """Channels x outputs: 0 leaks, in the default config and with `payload: all`, on SQLite and PostgreSQL."""
    sqlite = sql_url.startswith("sqlite")
    out = collect(tmp_path, sql_url, payload=payload, cli=sqlite, api=sqlite)
    assert find_leaks(out) == {}
    # ...and the hostile values did reach every output, as stand-ins.
    wanted = OUTPUTS if sqlite else [o for o in OUTPUTS if o not in (
        "evidence (enforce stdout)", "enforce summary (stderr)", "API JSON", "UI pages")]
    assert [o for o in wanted if not out[o]] == []
    assert "UNKNOWN_SCHEMA:redacted-SSN-" in out["database rows"]  # titles group many codes under one incident
    graph = out["graph export"]
    assert '"version":"redacted-' in graph  # an inferred deployment of a hostile producer version
    assert "PII_DETECTED:extra.redacted-SSN-" in graph
    assert "UNKNOWN_ENUM:discount_type" in graph
    assert "redacted-" in out["notifications"]
    # The other inflows' values reached the store and the graph, as stand-ins that keep kind and field.
    assert "UNKNOWN_ENUM:discount_type:redacted-" in out["database rows"]  # posted evidence, S3 rows, OL signatures
    assert '"ol_namespace":"redacted-' in graph  # an OpenLineage dataset namespace
    assert '"description":"redacted-' in graph  # a deployment marker's description
    assert "sales.orders_silver" in graph  # ...while legitimate names stay readable
    # OTLP spans: stored, and shown on evidence, traces and the graph, as stand-ins.
    assert "otel_spans: [(" in out["database rows"]
    assert '"source":"otel"' in graph  # deployment hints from the spans' service versions
    if sqlite:
        api_json = out["API JSON"]
        assert '"producing_span":{' in api_json
        assert '"error_spans":[' in api_json
        assert f"GET /api/v1/traces/{TRACE_ID} 200 [{{" in api_json
        for field in ("service", "service_version", "operation", "status_message", "message_id", "topic"):
            assert f'"{field}":"redacted-' in api_json, field
    if sqlite:
        codes = {c for ev in _evidence(out) for c in ev["validation"]["reason_codes"]}
        kinds = {c.split(":")[0] for c in codes if "redacted-" in c}
        assert kinds >= {"UNKNOWN_TOPIC", "UNKNOWN_SCHEMA", "PII_DETECTED"}
        assert '"actual":"redacted-' in out["evidence (enforce stdout)"]  # enum and pattern values, as stand-ins
        producers = {(ev["producer"]["id"], ev["producer"].get("version")) for ev in _evidence(out)}
        assert any(p.startswith("redacted-") for p, _ in producers)
        assert ("orders-svc", "v3.16") in producers  # safe tokens are written as they are
        assert "redacted-" in out["enforce summary (stderr)"]
    if payload == "all":
        assert "<redacted:CREDIT_CARD>" in out["database rows"]  # the card sent as a JSON number, too

"""Differential test: the native core (`native/`, module `signal_factory_native`) against the Python reference.

Same records through `Enforcer.process` with the native core switched in and out must give byte-identical
evidence lines and equal tallies: generated orders (every contract rule the example contracts carry),
labelled PII of every type and generated non-PII values placed in payloads and metadata, the hostile
corpus, and random strings over a digit- and punctuation-rich alphabet. The native PII screen must never
call clean a string that Python's `detect` flags. Skipped only when the module is not built and
`SIGNAL_FACTORY_NATIVE` is not `1` (`make test` sets it, so CI cannot skip it).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from benchmarks.gen_orders import generate
from benchmarks.hostile.corpus import corpus as hostile_corpus
from benchmarks.pii_corpus import labelled_pii, non_pii

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer import pipeline
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.gates import pii
from signal_factory.model.evidence import encode_evidence_lines
from signal_factory.model.ids import keyed_ulid
from signal_factory.privacy.pii_detectors import detect
from signal_factory.sources.jsonlines import parse_line
from tests.conftest import without_sampling


def _native_module() -> ModuleType:
    if os.environ.get("SIGNAL_FACTORY_NATIVE", "").strip().lower() in ("1", "on", "true", "yes"):
        import signal_factory_native  # must be built: fail loudly, never skip

        return signal_factory_native
    return pytest.importorskip("signal_factory_native", reason="native module not built (pip install ./native)")


@pytest.fixture(scope="module")
def native() -> ModuleType:
    return _native_module()


_ALPHABET = "0123456789" * 4 + " -.:@+()/_" * 2 + "abcXYZ" + "é\u00a0\u2013😀\x00"


def _random_strings(n: int, seed: int = 7) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(n):
        yield "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 40)))


def _pii_lines(seed: int = 11) -> Iterator[bytes]:
    """Plain-form lines whose values hold PII (every type), look-alikes, or random strings."""
    rng = random.Random(seed)
    texts = [t for _, t in labelled_pii(per_type=100)] + [v for _, v in non_pii(1000)]
    texts += list(_random_strings(800))
    rng.shuffle(texts)
    for i, text in enumerate(texts):
        value: dict[str, Any] = {"order_id": f"ORD-{i}", "customer_id": "cust-1", "total_amount": 1.5,
                                 "currency": "USD", "created_at": "2024-01-15T09:58:02.100Z"}
        where = rng.randrange(5)
        if where == 0:
            value["notes"] = text
        elif where == 1:
            value["items"] = [{"sku": text}, rng.randrange(10**16)]
        elif where == 2:
            value = {"payload": value, "metadata": {"note": text}}
        elif where == 3:
            value["customer_email"] = text  # classified in the orders contract: not scanned
        else:
            value["ids"] = {"n": rng.choice([text, 4111111111111111, 10**20, True, -5 * 10**15])}
        yield json.dumps({"topic": "raw.orders.events", "partition": i % 3, "offset": i,
                          "timestamp": 1705312682127 + i, "value": value}).encode()


def _evidence(enforcer: Enforcer, lines: list[bytes], core: ModuleType | None,
              monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, list[Any]]:
    monkeypatch.setattr(pii, "_native", core)
    monkeypatch.setattr(pipeline, "_native", core)
    records = [parse_line(line, f"t.jsonl:{n}") for n, line in enumerate(lines, 1)]
    batch = enforcer.process(records)
    return encode_evidence_lines(batch.evidence), batch.tallies


def _same_evidence(control_plane: ControlPlane, lines: list[bytes], native: ModuleType,
                   monkeypatch: pytest.MonkeyPatch, *, sampled: bool = True) -> bytes:
    """Assert both paths agree (with the example's PASS sampling and without); the unsampled evidence."""
    ours = (b"", [])
    for cp in (control_plane, without_sampling(control_plane))[0 if sampled else 1:]:
        enforcer = Enforcer(cp, clock=lambda: 1705312700.0)
        ours = _evidence(enforcer, lines, native, monkeypatch)
        reference = _evidence(enforcer, lines, None, monkeypatch)
        assert ours[0] == reference[0]
        assert ours[1] == reference[1]
    return ours[0]


def test_orders_give_identical_evidence(control_plane: ControlPlane, native: ModuleType,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Generated orders (clean, contract violations, PII notes): the same evidence bytes either way."""
    _same_evidence(control_plane, generate(2000, seed=5), native, monkeypatch)


def test_pii_payloads_give_identical_evidence(control_plane: ControlPlane, native: ModuleType,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """PII of every type, look-alikes and random strings in payload and metadata: identical evidence."""
    evidence = _same_evidence(control_plane, list(_pii_lines()), native, monkeypatch, sampled=False)
    for kind in ("EMAIL", "PHONE", "SSN", "CREDIT_CARD", "IBAN", "IP_ADDRESS"):
        assert f":{kind}".encode() in evidence  # every type is found on the native path too


def test_hostile_corpus_gives_identical_evidence(control_plane: ControlPlane, native: ModuleType,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The hostile corpus (bad encodings, depth, numbers, headers, wire frames, garbage): identical evidence."""
    _same_evidence(control_plane, [line for _, line in hostile_corpus(per_class=60)], native, monkeypatch)


def _random_tree(rng: random.Random, texts: list[str], depth: int = 0) -> Any:
    kind = rng.randrange(6 if depth < 4 else 3)
    if kind == 0:
        return rng.choice(texts)
    if kind == 1:
        return rng.choice([4111111111111111, 10**12 - 1, 10**25, True, 1.5e15, None, -(10**14)])
    if kind == 2:
        return rng.choice(texts)[:5]
    if kind == 3:
        return [_random_tree(rng, texts, depth + 1) for _ in range(rng.randrange(3))]
    return {rng.choice(["a", "b", "", "a.b", "items", "sku"]): _random_tree(rng, texts, depth + 1)
            for _ in range(rng.randrange(4))}


def test_pii_gate_agrees_on_nested_classified_paths(native: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """G5 on random nested payloads and classified paths (`a.b`, `items[]`, `[]`, ...): the same result."""
    rng = random.Random(9)
    texts = [t for _, t in labelled_pii(per_type=40, seed=9)] + [v for _, v in non_pii(300, seed=9)]
    paths = ["a", "b", "a.b", "a.a", "items", "items[]", "items[].sku", "[]", "", "a[]", "b.a.b", "sku"]
    gate = pii.PiiGate()
    for _ in range(3000):
        classified = frozenset(rng.sample(paths, rng.randrange(4)))
        payload, metadata = _random_tree(rng, texts), rng.choice([None, {"x": rng.choice(texts)}])
        monkeypatch.setattr(pii, "_native", native)
        ours = gate.run(payload, metadata, classified)
        monkeypatch.setattr(pii, "_native", None)
        assert ours == gate.run(payload, metadata, classified)


def test_screen_never_clears_what_python_flags(native: ModuleType) -> None:
    """A string the native screen calls clean is one Python's `detect` finds nothing in."""
    texts = [t for _, t in labelled_pii(per_type=300, seed=3)] + [v for _, v in non_pii(3000, seed=3)]
    texts += list(_random_strings(20000, seed=3))
    missed = [t for t in texts if detect(t) is not None and not native.pii_candidate(t)]
    assert missed == []
    cleared = sum(not native.pii_candidate(v) for _, v in non_pii(3000, seed=4))
    assert cleared > 2000  # and it does clear most clean values, or it would speed nothing up


def test_keyed_ids_are_the_reference_ids(native: ModuleType) -> None:
    """`keyed_ulid` and the batch `kafka_ids` give the reference ids byte for byte."""
    rng = random.Random(1)
    for _ in range(2000):
        ts = rng.choice([0, 1, rng.randrange(2**48), 1705312682127])
        key = rng.randbytes(rng.randrange(0, 80))
        assert native.keyed_ulid(ts, key) == keyed_ulid(ts, key)
    records = [parse_line(line, f"o:{n}") for n, line in enumerate(generate(500, seed=2))]
    assert native.kafka_ids(records, 1705312700000) == [pipeline.record_id(r, 1705312700000) for r in records]

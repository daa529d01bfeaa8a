"""G5's recursive walk finds exactly what the reference stack walk finds (paths, order, cap, classified)."""

from __future__ import annotations

import random
from typing import Any

from signal_factory.gates.pii import _MAX_FINDINGS, _scan_iterative, scan

STRINGS = ["", "short", "leave at the door", "SKU-10126", "2024-01-15T09:58:02.100Z", "ORD-2024-0115-12345",
           "my ssn is 123-45-6789", "jane.doe@example.com", "call +1 415 555 0100", "4111 1111 1111 1111",
           "10.1.2.3 was the ip", "0febddf88d1a6bffff9a39142335e9e2"]
KEYS = ["a", "b", "notes", "items", "x.y", "", "email", "0"]


def _doc(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth >= 4 or roll < 0.45:
        return rng.choice([*STRINGS, *STRINGS, 7, 1.5, None, True])
    if roll < 0.8:
        return {k: _doc(rng, depth + 1) for k in rng.sample(KEYS, rng.randint(0, 5))}
    return [_doc(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def _classified(rng: random.Random) -> frozenset[str]:
    pool = ["a", "notes", "items[]", "items[].email", "x.y", "a.b", "a.notes", "b[]", "[]", "", "email",
            "a.x.y", "items[].notes", "0"]
    return frozenset(rng.sample(pool, rng.randint(0, 4)))


def test_random_documents_match_the_reference_walk() -> None:
    """Random nested documents, classified sets and prefixes: identical findings, in the same order."""
    rng = random.Random(21)
    capped = 0
    for _ in range(4000):
        doc = _doc(rng)
        classified = _classified(rng)
        prefix = rng.choice(["", "", "metadata"])
        expected = _scan_iterative(doc, classified, prefix)
        assert scan(doc, classified, prefix) == expected, (doc, classified, prefix)
        capped += len(expected) == _MAX_FINDINGS
    assert capped > 0  # the cap case was exercised


def test_over_the_cap_keeps_the_reference_findings() -> None:
    """More than 10 findings: the same 10 as before (the last ones in document order)."""
    doc = {f"k{i}": f"mail{i}@example.com" for i in range(15)}
    found = scan(doc, frozenset())
    assert found == _scan_iterative(doc, frozenset())
    assert [f for f, _ in found] == [f"k{i}" for i in range(5, 15)]


def test_deep_nesting_falls_back_to_the_stack_walk() -> None:
    """Deeper than the recursion limit: still answered, and the same."""
    doc: Any = "jane.doe@example.com"
    for _ in range(5000):
        doc = {"a": doc}
    found = scan(doc, frozenset())
    assert found == _scan_iterative(doc, frozenset())
    assert found[0][1] == "EMAIL"

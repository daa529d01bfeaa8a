"""Every windowed engine has one shape: initialize() -> S, add(S, item) -> S, result(S, ...)."""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import Any

import msgspec
import pytest

from signal_factory.controlplane.model import ThresholdSlo, VolumeSlo
from signal_factory.model.evidence import FAIL, WARN
from signal_factory.signals import batch, contract, freshness, volume
from signal_factory.signals.model import CRITICAL, OK, UNKNOWN, WARNING, BatchRunTotals
from signal_factory.signals.significance import params_for
from tests.signals.builders import FLASH, MINUTE, MISSING, evidence, ms

T = ms("2024-01-15T10:00:00.000Z")
SLO = ThresholdSlo(0.95, 0.80)
PARAMS = params_for(SLO, 0.01, 5, 1.645)


def contract_result(acc: contract.ContractAcc) -> tuple[Any, ...]:
    top = contract.top_failures(acc)
    return (contract.state(acc, SLO, PARAMS), acc.evidence_count, round(contract.rate(acc), 4),
            [(t.signature, t.count, t.first_seen) for t in top])


RUN = BatchRunTotals(dataset_urn="urn:dp:orders:silver", run_id="r", job_name="j", started_at="2024-01-15T02:00:05Z",
                     ended_at="2024-01-15T02:08:45Z", records_processed=45230, records_passed=44850,
                     records_failed=380, failure_signatures={FLASH: 380})

TABLE: list[tuple[str, Callable[[], Any], Callable[[Any, Any], Any], list[Any], Callable[[Any], Any], Any]] = [
    ("contract: empty window", contract.initialize, contract.add, [], contract_result, (OK, 0, 1.0, [])),
    ("contract: pass, fail, warn", contract.initialize, contract.add,
     [contract.observe(evidence(1, T)), contract.observe(evidence(3, T + 2000, FAIL, MISSING)),
      contract.observe(evidence(2, T + 1000, FAIL, MISSING)), contract.observe(evidence(4, T, WARN, FLASH))],
     contract_result,
     (OK, 4, 0.5, [(MISSING, 2, "2024-01-15T10:00:01.000Z"), (FLASH, 1, "2024-01-15T10:00:00.000Z")])),
    ("contract: deltas merge like single records", contract.initialize, contract.add,
     [contract.ContractAcc(pass_count=90), contract.observe(evidence(5, T, FAIL, MISSING)),
      contract.ContractAcc(pass_count=9)],
     contract_result, (OK, 100, 0.99, [(MISSING, 1, "2024-01-15T10:00:00.000Z")])),
    ("contract: WARNING band", contract.initialize, contract.add,
     [contract.ContractAcc(pass_count=90, fail_count=10)], contract_result, (WARNING, 100, 0.9, [])),
    ("contract: CRITICAL needs support", contract.initialize, contract.add,
     [contract.ContractAcc(pass_count=3, fail_count=7)], contract_result, (CRITICAL, 10, 0.3, [])),
    ("contract: WARN is compliant", contract.initialize, contract.add,
     [contract.ContractAcc(warn_count=1)], contract_result, (OK, 1, 1.0, [])),
    ("volume: counts add up, no history -> UNKNOWN", volume.initialize, volume.add, [3, 4, 0],
     lambda n: (n, volume.result(n, {}, T, VolumeSlo())[0]), (7, UNKNOWN)),
    ("freshness: latest event time wins", freshness.initialize, freshness.add, [T, T - MINUTE],
     lambda acc: (acc.last_ms, freshness.result(acc, T + 6 * MINUTE, 5 * MINUTE, 2.0)), (T, WARNING)),
    ("freshness: nothing seen", freshness.initialize, freshness.add, [],
     lambda acc: freshness.result(acc, T, 5 * MINUTE, 2.0), UNKNOWN),
    ("dq: Scenario 2 run", batch.initialize, batch.add, [RUN],
     lambda acc: (batch.result(acc, ThresholdSlo(0.99, 0.95))[0], round(batch.result(acc, SLO)[1], 4)), (OK, 0.9916)),
]


@pytest.mark.parametrize(("initialize", "add", "items", "result", "expected"), [row[1:] for row in TABLE],
                         ids=[row[0] for row in TABLE])
def test_engine_shape(initialize: Callable[[], Any], add: Callable[[Any, Any], Any], items: list[Any],
                      result: Callable[[Any], Any], expected: Any) -> None:
    """Folding items with add() from initialize() gives the expected result, and the state is plain data."""
    state = reduce(add, items, initialize())
    assert result(state) == expected
    if not isinstance(state, int):
        decoded = msgspec.msgpack.decode(msgspec.msgpack.encode(state), type=type(state))
        assert decoded == state


def test_contract_keeps_only_the_ten_earliest_refs() -> None:
    """Merging many failure deltas keeps exactly the 10 earliest non-PASS evidence ids, in event-time order."""
    acc = contract.initialize()
    for i in reversed(range(30)):
        contract.add(acc, contract.observe(evidence(i, T + i * 10, FAIL, MISSING)))
    assert acc.refs == [(f"2024-01-15T10:00:00.{i * 10:03d}Z", f"evd-{i:026d}") for i in range(10)]

"""G4 contract: run a compiled ODCS contract on the payload; FAIL or WARN per clause."""

from __future__ import annotations

from typing import Any

from signal_factory.contracts.rules import FAIL as RULE_FAIL
from signal_factory.contracts.rules import CompiledContract, Violation, check_payload
from signal_factory.model.evidence import FAIL, G4_CONTRACT, PASS, SKIP, WARN, GateResult
from signal_factory.privacy.guard import MAX_OTHER_VIOLATIONS

_NO_CONTRACT = GateResult(G4_CONTRACT, SKIP, None, {"reason": "no contract configured for this dataset"})


class ContractGate:
    def __init__(self) -> None:
        self._pass: dict[str, GateResult] = {}

    def run(self, contract: CompiledContract | None, payload: Any) -> tuple[GateResult, list[Violation]]:
        if contract is None:
            return _NO_CONTRACT, []
        violations = check_payload(contract, payload)
        if not violations:
            ok = self._pass.get(contract.contract_id)
            if ok is None:
                ok = self._pass[contract.contract_id] = GateResult(
                    G4_CONTRACT, PASS, None, {"contract_id": contract.contract_id})
            return ok, []
        # Most severe first; the first of those is the gate's headline reason.
        violations.sort(key=lambda v: v.severity != RULE_FAIL)
        first = violations[0]
        details: dict[str, Any] = {"contract_id": contract.contract_id, "violated_rule": first.rule}
        if len(violations) > 1:  # capped: an array of 100,000 bad items must not make a 100,000-entry evidence
            details["other_violations"] = [
                {"reason_code": v.reason_code, "severity": v.severity, "rule": v.rule}
                for v in violations[1:MAX_OTHER_VIOLATIONS + 1]]
            if len(violations) > MAX_OTHER_VIOLATIONS + 1:
                details["other_violations_omitted"] = len(violations) - MAX_OTHER_VIOLATIONS - 1
        result = FAIL if first.severity == RULE_FAIL else WARN
        return GateResult(G4_CONTRACT, result, first.reason_code, details), violations

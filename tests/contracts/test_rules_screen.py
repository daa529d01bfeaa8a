"""`check_payload`'s generated screen never changes the violations: same list as the plain rule walk."""

from __future__ import annotations

import copy
import random
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from signal_factory.contracts.aggregate import ABSENT, value_at
from signal_factory.contracts.compile import compile_contract
from signal_factory.contracts.rules import (
    FAIL,
    WARN,
    CompiledContract,
    FieldRule,
    Violation,
    _screen_for,
    check_payload,
    check_value,
)
from tests.contracts.test_rules import CONTRACT

ORDERS = Path(__file__).resolve().parents[2] / "examples" / "orders" / "contracts" / "orders.created.odcs.yaml"


class Text(str):
    """A str subclass: isinstance says str, `type(v) is str` does not."""


VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 5, 10, 11, 2**70, 0.0, -0.5, 1.5, float("nan"), float("inf"), "", "a", "ab",
    "abcd", "abcde", "T-1", "T-x", "ORD-2024-0115-12345", "ORD-1", "USD", "usd", "x@y.io", "not mail", "2024-01-15",
    "2024-13-99", "2024-01-15T09:58:02.100Z", "yesterday", "A", "B", "C", "X", "NONE", "FLASH_SALE", Text("T-1"),
    Text("2024-01-15T09:58:02Z"), date(2024, 1, 15), datetime(2024, 1, 15, tzinfo=UTC), [], [{}],
    [{"sku": "s", "qty": 1}], [{"sku": 1}], [{"sku": "s", "qty": 0, "price": -1}], ["str"], [None], {},
    {"zip": "1"}, {"zip": None}, {"zip": 5}, {"a": [1]},
]


def _reference(contract: CompiledContract, payload: Any) -> list[Violation]:
    """The rule walk without the screen (check_payload as it was)."""
    if not isinstance(payload, dict):
        return check_payload(contract, payload)
    out: list[Violation] = []
    for rule in contract.rules:
        check_value(rule, value_at(payload, rule.path), out)
    return out


def _payloads(rng: random.Random, contract: CompiledContract, count: int) -> list[Any]:
    names = [r.path[0] for r in contract.rules if r.path] + ["extra"]
    out: list[Any] = []
    for _ in range(count):
        p = {n: copy.deepcopy(rng.choice(VALUES)) for n in rng.sample(names, rng.randint(0, len(names)))}
        out.append(p)
    out += [None, [1], "x", 5]
    return out


def _load(text: str) -> CompiledContract:
    return compile_contract(OpenDataContractStandard.model_validate(yaml.safe_load(text)))


def _assert_same(contract: CompiledContract, payloads: list[Any]) -> int:
    clean = 0
    for p in payloads:
        expected = _reference(contract, copy.deepcopy(p))
        assert check_payload(contract, p) == expected, p
        clean += not expected
    return clean


def test_rules_table_contract_random_payloads() -> None:
    """The clause-table contract of test_rules.py (every option kind) on random payloads."""
    contract = _load(CONTRACT)
    rng = random.Random(5)
    _assert_same(contract, _payloads(rng, contract, 4000))


def test_orders_contract_real_and_mutated_payloads() -> None:
    """The example orders contract: valid orders pass through the screen; mutations agree too."""
    contract = _load(ORDERS.read_text(encoding="utf-8"))
    good = {"order_id": "ORD-2024-0115-12345", "customer_id": "cust-1", "total_amount": 10.5, "currency": "USD",
            "created_at": "2024-01-15T09:58:02.100Z", "discount_type": "COUPON", "notes": "leave at the door",
            "customer_email": "a@b.io", "items": [{"sku": "s", "qty": 2, "price": 1.0}, {"sku": "t", "qty": 1}]}
    assert _screen_for(contract)(good, 0) == -1
    assert check_payload(contract, good) == []
    rng = random.Random(9)
    payloads = []
    for _ in range(3000):
        p = copy.deepcopy(good)
        for _ in range(rng.randint(1, 3)):
            key = rng.choice([*good.keys(), "extra"])
            if rng.random() < 0.3:
                p.pop(key, None)
            else:
                p[key] = copy.deepcopy(rng.choice(VALUES))
        payloads.append(p)
    assert _assert_same(contract, payloads) > 50  # some mutations stay compliant


def _rule(name: str, **kw: Any) -> FieldRule:
    return FieldRule(name=name, path=(name,), **kw)


def test_hand_built_rules_beyond_what_the_compiler_emits() -> None:
    """Multi-part paths, enums without a type, unknown logical types, every bound kind."""
    rules = (
        FieldRule(name="a.b", path=("a", "b"), required=True, logical_type="string"),
        _rule("e", enum=frozenset({"A", 1, None}), enum_values=("A", 1, None), enum_severity=WARN),
        _rule("u", logical_type="decimal", required=True),
        _rule("n", minimum=0.0, maximum=10.0, exclusive_minimum=-1.0, exclusive_maximum=11.0,
              pattern=re.compile("^a"), min_length=1, max_length=3, fmt="uuid"),
        _rule("f", fmt="nonexistent-format", logical_type="string"),
        _rule("d", logical_type="date"),
        _rule("t", logical_type="time"),
        _rule("ts", logical_type="timestamp", required=True, required_severity=WARN),
        _rule("o", logical_type="object", children=(_rule("k", required=True, logical_type="integer"),)),
        _rule("arr", logical_type="array", items=(_rule("sku", required=True),
                                                  _rule("q", logical_type="number", minimum=1.0))),
        _rule("bare", items=(_rule("x", required=True),), children=(_rule("y", required=True),)),
        _rule("b", logical_type="boolean", minimum=1.0, pattern=re.compile("x")),
        FieldRule(name="root", path=(), logical_type="object"),
    )
    contract = CompiledContract("dc:hand:1", None, None, rules)
    rng = random.Random(13)
    names = ["a", "e", "u", "n", "f", "d", "t", "ts", "o", "arr", "bare", "b", "zz"]
    extra: list[Any] = [{"b": "x"}, {"b": 1}, {"b": None}, {"k": 1}, {"k": True}, {"x": 1, "y": 2},
                        [{"x": 1}], [{"sku": "s", "q": 0.5}], [{"sku": "s", "q": 2}], ["s"], [[1]]]
    payloads: list[Any] = []
    for _ in range(4000):
        keys = rng.sample(names, rng.randint(0, len(names) // 2))
        base: dict[str, Any] = {"a": {"b": "x"}, "u": 1, "ts": "2024-01-15T09:58:02Z"} if rng.random() < 0.5 else {}
        payloads.append({**base, **{k: copy.deepcopy(rng.choice(VALUES + extra)) for k in keys}})
    assert _assert_same(contract, payloads) > 0


def test_screen_is_rebuilt_for_a_new_contract_object() -> None:
    """Screens are keyed by contract identity: an equal-looking new contract gets its own screen."""
    c1 = CompiledContract("dc:x:1", None, None, (_rule("a", required=True, logical_type="string"),))
    c2 = CompiledContract("dc:x:1", None, None, (_rule("a", required=True, logical_type="integer"),))
    assert [v.reason_code for v in check_payload(c1, {"a": 1})] == ["TYPE_MISMATCH:a"]
    assert check_payload(c2, {"a": 1}) == []
    assert check_payload(c1, {"a": "s"}) == []
    assert [(v.severity, v.reason_code) for v in check_payload(c2, {})] == [(FAIL, "MISSING_FIELD:a")]
    assert ABSENT is not None

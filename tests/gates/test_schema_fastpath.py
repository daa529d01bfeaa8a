"""G3's JSON Schema screen: whenever it says "valid", fastjsonschema agrees; it declines what it can't model."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import fastjsonschema
import msgspec
import pytest

from signal_factory.gates.schema import _Compiled, compile_json_screen
from signal_factory.registry.base import JSON, ResolvedSchema, SchemaDoc

ORDERS_SCHEMA = Path(__file__).resolve().parents[2] / "examples" / "orders" / "schemas" / \
    "orders.created.17.schema.json"
TYPES = ["string", "integer", "number", "boolean", "null", "object", "array"]
LEAVES: list[Any] = [None, True, False, 0, 1, -7, 2**70, 1.0, 2.5, -0.0, float("nan"), float("inf"), "", "x",
                     "ORD-1", [], [1, "a"], (), {}, {"k": 1}]


def _accepts(validate: Any, obj: Any) -> bool:
    try:
        validate(obj)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


def _random_schema(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    if rng.random() < 0.8:
        types = rng.sample(TYPES, rng.choice([1, 1, 1, 2, 3]))
        schema["type"] = types[0] if len(types) == 1 and rng.random() < 0.7 else types
    if depth < 3 and rng.random() < 0.5:
        names = rng.sample(["a", "b", "c", "d", "e.f", ""], rng.randint(1, 4))
        schema["properties"] = {n: _random_schema(rng, depth + 1) for n in names}
        schema["required"] = rng.sample([*names, "zz"], rng.randint(0, 2))
    if depth < 3 and rng.random() < 0.3:
        schema["items"] = _random_schema(rng, depth + 1)
    if rng.random() < 0.2:
        schema["title"] = "t"
        schema["x-extra"] = {"anything": [1]}
    return schema


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth >= 3 or roll < 0.5:
        return copy.deepcopy(rng.choice(LEAVES))
    if roll < 0.8:
        keys = rng.sample(["a", "b", "c", "d", "e.f", "", "zz"], rng.randint(0, 5))
        return {k: _random_value(rng, depth + 1) for k in keys}
    items = [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return tuple(items) if rng.random() < 0.2 else items


def test_random_schemas_screen_implies_fastjsonschema() -> None:
    """Random schemas of the screened subset, random values: screen True => fastjsonschema accepts."""
    rng = random.Random(7)
    agreed_valid = 0
    for _ in range(300):
        schema = _random_schema(rng)
        screen = compile_json_screen(schema)
        assert screen is not None, schema
        validate = fastjsonschema.compile(schema)
        for _ in range(60):
            obj = _random_value(rng)
            if screen(obj):
                assert _accepts(validate, copy.deepcopy(obj)), (schema, obj)
                agreed_valid += 1
    assert agreed_valid > 1000  # the screen does answer "valid" often, it is not vacuous


def _orders_payloads(count: int) -> list[dict[str, Any]]:
    """Order payloads shaped like benchmarks/gen_orders.py's (customer_id sometimes missing)."""
    rng = random.Random(3)
    out = []
    for i in range(count):
        p: dict[str, Any] = {"order_id": f"ORD-2024-0115-{10_000 + i}"}
        if rng.random() < 0.9:
            p["customer_id"] = f"cust-{rng.randint(10_000, 99_999)}"
        p["total_amount"] = round(rng.uniform(1, 500), 2)
        p["currency"] = rng.choice(["USD", "EUR"])
        p["created_at"] = "2024-01-15T09:58:02.100Z"
        p["discount_type"] = rng.choice(["NONE", "COUPON", "FLASH_SALE"])
        if rng.random() < 0.3:
            p["notes"] = "leave at the door"
        p["items"] = [{"sku": f"SKU-{rng.randint(10_000, 10_400)}", "qty": rng.randint(1, 4),
                       "price": round(rng.uniform(2, 120), 2)} for _ in range(rng.randint(1, 3))]
        out.append(p)
    return out


def _mutations(rng: random.Random, payload: dict[str, Any]) -> dict[str, Any]:
    p = copy.deepcopy(payload)
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        key = rng.choice([*p.keys(), "order_id", "total_amount", "currency", "items", "extra"])
        if roll < 0.3:
            p.pop(key, None)
        elif roll < 0.7:
            p[key] = copy.deepcopy(rng.choice(LEAVES))
        elif isinstance(p.get("items"), list) and p["items"]:
            item = p["items"][0]
            if isinstance(item, dict):
                item[rng.choice(["sku", "qty", "price", "other"])] = copy.deepcopy(rng.choice(LEAVES))
            else:
                p["items"][0] = copy.deepcopy(rng.choice(LEAVES))
        else:
            p["items"] = [copy.deepcopy(rng.choice(LEAVES))]
    return p


def test_orders_schema_check_is_unchanged_by_the_screen() -> None:
    """`_Compiled.check` with the screen == fastjsonschema alone, on real and mutated order payloads."""
    doc = SchemaDoc("glue:orders.created:17", JSON, ORDERS_SCHEMA.read_text(encoding="utf-8"))
    with_screen = _Compiled(ResolvedSchema(doc))
    without = _Compiled(ResolvedSchema(doc))
    assert with_screen._json_screen is not None
    without._json_screen = None
    rng = random.Random(11)
    payloads = _orders_payloads(300)
    screened = 0
    for base in payloads:
        for p in (base, _mutations(rng, base), _mutations(rng, base)):
            assert with_screen.check(copy.deepcopy(p)) == without.check(copy.deepcopy(p)), p
            screened += bool(with_screen._json_screen(p))
    # Unmutated generated orders are all valid and all take the screen (that is the point of it).
    assert all(with_screen._json_screen(p) for p in payloads)
    assert screened >= len(payloads)


def test_orders_schema_screen_says_no_to_each_violation() -> None:
    """Each kind of violation the schema defines makes the screen defer to fastjsonschema."""
    schema = msgspec.json.decode(ORDERS_SCHEMA.read_bytes())
    screen = compile_json_screen(schema)
    assert screen is not None
    good = {"order_id": "ORD-1", "total_amount": 1.5, "currency": "USD", "customer_id": None,
            "items": [{"sku": "s", "qty": 1, "price": 2}]}
    assert screen(good)
    bad = [
        {k: v for k, v in good.items() if k != "currency"},  # required
        {**good, "order_id": 1},  # type string
        {**good, "customer_id": 5},  # type [string, null]
        {**good, "total_amount": True},  # number excludes bool
        {**good, "items": {"sku": "s"}},  # array
        {**good, "items": ["s"]},  # items must be objects
        {**good, "items": [{"sku": "s", "qty": 1.5}]},  # integer
        {**good, "items": [{"sku": "s", "qty": False}]},  # integer excludes bool
        [good],  # root must be an object
    ]
    for obj in bad:
        assert not screen(obj), obj


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"a": {"type": "string", "default": "x"}}},  # fastjsonschema fills defaults
    {"$ref": "#/definitions/a", "definitions": {"a": {"type": "string"}}},
    {"type": "string", "format": "email"},
    {"type": "string", "pattern": "^a"},
    {"enum": ["a", "b"]},
    {"const": 1},
    {"type": "object", "additionalProperties": False},
    {"type": "array", "items": [{"type": "string"}]},  # tuple validation
    {"type": "object", "properties": {"a": True}},  # boolean subschema
    {"type": "integer", "minimum": 0},
    {"type": "decimal"},
    {"anyOf": [{"type": "string"}]},
    {"type": "object", "required": "a"},
])
def test_unsupported_keywords_get_no_screen(schema: dict[str, Any]) -> None:
    """Anything beyond type/required/properties/items (and annotations) leaves fastjsonschema alone."""
    assert compile_json_screen(schema) is None


def test_defaults_still_filled_in_by_fastjsonschema() -> None:
    """A schema with `default` keeps fastjsonschema's behaviour (it inserts the default)."""
    text = '{"$id": "t:1", "type": "object", "properties": {"a": {"type": "string", "default": "x"}}}'
    compiled = _Compiled(ResolvedSchema(SchemaDoc("t:1", JSON, text)))
    assert compiled._json_screen is None
    obj: dict[str, Any] = {}
    assert compiled.check(obj) is None
    assert obj == {"a": "x"}

"""Deterministic hostile corpus: ~10,000 JSON lines a producer (or an attacker) could send, by class.

Every line is non-blank and ends at `\\n` (the one line rule), so line i of the corpus is record i and
must become evidence i. Classes (`CLASSES`): out-of-range timestamps, numbers (NaN/inf/huge), deep
nesting (value, payload text, headers, key), text encoding (NUL, invalid UTF-8, lone surrogates in
every field), header shapes, Confluent wire format, registry ids, JSON garbage (random bytes,
truncations, non-objects), line breaks (`\\r` inside a line, `\\r\\n`), and valid records mutated one
field at a time. `big_line()` is the separate 1 MB line.

    python -m benchmarks.hostile.corpus --out /tmp/hostile.jsonl     # the bytes alone
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import struct
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks.gen_orders import generate

TOPIC = "raw.orders.events"
SEED = 14
PER_CLASS = 1000

_BAD_TIMES: tuple[Any, ...] = (253402300800000, 1e300, -62135596800001, -1e300, 2**63, -(2**63), 9.99e15)
_BAD_ISO = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "10000-01-01T00:00:00Z",
            "0000-01-01T00:00:00Z", "not a time", "", "2024-02-30T00:00:00Z")
_EDGE_TIMES = (0, -62135596800000, 253402300799999, 1)
_BIG_NUMBERS = ("1e999", "-1e999", "NaN", "Infinity", "-Infinity", "9" * 400, "9" * 5000, "1e308",
                "-0", "0.0000000000000000000000000001", str(2**64), str(-(2**63) - 1))
_SCHEMA_IDS = ("confluent:\u00b2", "confluent:-1", "confluent:" + "9" * 40, "confluent:0", "confluent:4294967296",
               "confluent:", "confluent:subject:\u00b2", "confluent:subject:-3", "confluent::latest",
               "confluent:\u0000", "glue:orders.created:\u00b2", "\u0000", "", "confluent:\u0661\u0662",
               "confluent:" + "1" * 5000)
_TEXT_POISON = ("\u0000", "a\u0000b", "\u0000" * 50, "\ufffd", "\u202e", "\u200b", "\x7f", "\x1b[31m")


class Gen:
    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.valid = generate(200, seed=seed)
        self.offset = 0

    def base(self) -> dict[str, Any]:
        """A valid kcat line (decoded), with a fresh offset so Kafka-keyed ids stay distinct."""
        doc: dict[str, Any] = json.loads(self.rng.choice(self.valid))
        self.offset += 1
        doc["offset"] = 10_000_000 + self.offset
        return doc

    def payload(self, doc: dict[str, Any]) -> dict[str, Any]:
        inner: dict[str, Any] = json.loads(doc["payload"])
        return inner

    def line(self, doc: dict[str, Any]) -> bytes:
        return json.dumps(doc, ensure_ascii=True, allow_nan=True).encode()

    def nested_text(self, depth: int) -> str:
        """JSON text nesting `depth` containers (arrays and objects in turn), built as text: no recursion."""
        opens = "".join("[" if i % 2 else '{"n":' for i in range(depth))
        closes = "".join("]" if i % 2 else "}" for i in reversed(range(depth)))
        return opens + "1" + closes


def _timestamps(g: Gen) -> Iterator[bytes]:
    while True:
        doc = g.base()
        pick = g.rng.randrange(4)
        if pick == 0:
            doc["ts"] = g.rng.choice(_BAD_TIMES)
        elif pick == 1:
            del doc["ts"]
            doc["timestamp"] = g.rng.choice(_BAD_ISO)
        elif pick == 2:
            del doc["ts"]
            inner = g.payload(doc)
            inner["timestamp"] = g.rng.choice(_BAD_ISO)
            doc["payload"] = json.dumps(inner)
        else:
            doc["ts"] = g.rng.choice(_EDGE_TIMES)
        yield g.line(doc)


def _numbers(g: Gen) -> Iterator[bytes]:
    while True:
        doc = g.base()
        number = g.rng.choice(_BIG_NUMBERS)
        where = g.rng.randrange(5)
        if where == 0:
            yield g.line(doc).replace(b'"ts": ', b'"ts": ' + number.encode() + b", \"_ts\": ", 1)
        elif where == 1:
            yield g.line(doc).replace(b'"partition": ', b'"partition": ' + number.encode() + b", \"_p\": ", 1)
        elif where == 2:
            yield g.line(doc).replace(b'"offset": ', b'"offset": ' + number.encode() + b", \"_o\": ", 1)
        else:
            inner = g.payload(doc)
            text = json.dumps(inner)
            field = "total_amount" if where == 3 else "quantity"
            doc["payload"] = text.replace('"payload": {', f'"payload": {{"{field}": {number}, ', 1)
            yield g.line(doc)


def _depth(g: Gen) -> Iterator[bytes]:
    depths = (63, 64, 65, 100, 500, 999, 1000, 1001, 5000, 20000)
    while True:
        doc = g.base()
        deep = g.nested_text(g.rng.choice(depths))
        where = g.rng.randrange(5)
        if where == 0:
            inner = g.payload(doc)
            inner["payload"]["extra"] = "@DEEP@"
            doc["payload"] = json.dumps(inner).replace('"@DEEP@"', deep)
        elif where == 1:
            del doc["payload"]
            doc["value"] = {"deep": "@DEEP@"}
        elif where == 2:
            doc["headers"] = {"x-deep": "@DEEP@"}
        elif where == 3:
            doc["key"] = "@DEEP@"
        else:
            yield deep.encode()
            continue
        yield g.line(doc).replace(b'"@DEEP@"', deep.encode())


def _encoding(g: Gen) -> Iterator[bytes]:
    while True:
        doc = g.base()
        poison = g.rng.choice(_TEXT_POISON)
        where = g.rng.randrange(10)
        if where == 0:
            doc["topic"] = TOPIC + poison
        elif where == 1:
            doc["headers"] = doc["headers"] + [f"x-{poison}", "v"]
        elif where == 2:
            doc["headers"] = doc["headers"] + ["x-obs-producer-service", f"svc{poison}"]
        elif where == 3:
            doc["headers"] = doc["headers"] + ["x-obs-producer-version", f"v{poison}"]
        elif where == 4:
            doc["key"] = f"ORD-{poison}"
        elif where in (5, 6):
            inner = g.payload(doc)
            if where == 5:
                inner["payload"][f"k{poison}"] = "v"
            else:
                inner["payload"]["currency"] = f"US{poison}"
            doc["payload"] = json.dumps(inner)
        elif where == 7:  # invalid UTF-8 bytes straight into the line
            line = g.line(doc)
            cut = g.rng.randrange(len(line))
            yield line[:cut] + g.rng.choice((b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80")) + line[cut:]
            continue
        elif where == 8:  # a lone surrogate escape
            yield g.line(doc).replace(b'"key": "', b'"key": "\\ud800', 1)
            continue
        else:
            doc["headers"] = doc["headers"] + ["x-obs-schema-id", f"glue:orders.created:17{poison}"]
        yield g.line(doc)


def _headers(g: Gen) -> Iterator[bytes]:
    shapes: tuple[Callable[[list[str]], Any], ...] = (
        lambda h: 5, lambda h: "x-obs-trace-id", lambda h: True, lambda h: h[:-1], lambda h: [1, 2, None, 3.5],
        lambda h: [[1, 2]], lambda h: [["a", "b", "c"]], lambda h: {"a": {"b": 1}}, lambda h: {"a": [1]},
        lambda h: [*h, h[0].upper(), "dup"], lambda h: [*h, "x-obs-trace-id", None],
        lambda h: [f"h{i}" for i in range(2000)], lambda h: {}, lambda h: [], lambda h: None,
        lambda h: dict(zip(h[::2], h[1::2], strict=True)),
        lambda h: [[k, v] for k, v in zip(h[::2], h[1::2], strict=True)],
    )
    while True:
        doc = g.base()
        doc["headers"] = g.rng.choice(shapes)(list(doc["headers"]))
        yield g.line(doc)


def _wire(g: Gen) -> Iterator[bytes]:
    while True:
        doc = g.base()
        del doc["payload"]
        pick = g.rng.randrange(6)
        if pick == 0:
            raw = b"\x00" + bytes(g.rng.randrange(256) for _ in range(g.rng.randrange(5)))  # truncated frame
        elif pick == 1:
            raw = b"\x00" + struct.pack(">I", g.rng.choice((0, 1, 2**31, 2**32 - 1))) + g.rng.randbytes(20)
        elif pick == 2:
            raw = b"\x00" + struct.pack(">I", 1) + b'{"order_id": "x"}'
        elif pick == 3:
            raw = g.rng.randbytes(g.rng.randrange(1, 64))
        elif pick == 4:
            doc["value_b64"] = "not base64!"
            yield g.line(doc)
            continue
        else:
            doc["payload"] = "\u0000\u0000\u0000\u0001" + g.rng.choice(("", "\u0000", "{}", "\u00ff" * 8))
            yield g.line(doc)
            continue
        doc["value_b64"] = base64.b64encode(raw).decode()
        yield g.line(doc)


def _registry_ids(g: Gen) -> Iterator[bytes]:
    while True:
        doc = g.base()
        headers = [h for i, h in enumerate(doc["headers"]) if not (i % 2 == 0 and h == "x-obs-schema-id")
                   and not (i % 2 == 1 and doc["headers"][i - 1] == "x-obs-schema-id")]
        doc["headers"] = [*headers, "x-obs-schema-id", g.rng.choice(_SCHEMA_IDS)]
        yield g.line(doc)


def _garbage(g: Gen) -> Iterator[bytes]:
    while True:
        pick = g.rng.randrange(6)
        if pick == 0:
            raw = g.rng.randbytes(g.rng.randrange(1, 200)).replace(b"\n", b" ")
            yield raw if raw.strip() else b"\x00"
        elif pick == 1:
            line = g.line(g.base())
            yield line[: g.rng.randrange(1, len(line))]
        elif pick == 2:
            yield g.rng.choice((b"[]", b"{}", b"null", b"1", b'"x"', b"true", b"[{}]", b'{"topic": 5}',
                                b'{"topic": ""}', b'{"topic": null, "value": null}', b'{"topic": "t", "value": null}',
                                b'{"topic": "t"}', b'{"topic": "raw.orders.events", "value": "not json"}'))
        elif pick == 3:
            yield g.line(g.base()) + b" trailing"
        elif pick == 4:
            yield b'{"topic": "raw.orders.events", "topic": "x", "value": {}}'  # duplicate keys
        else:
            yield b"\xef\xbb\xbf" + g.line(g.base())  # a BOM


def _line_breaks(g: Gen) -> Iterator[bytes]:
    while True:
        line = g.line(g.base())
        pick = g.rng.randrange(4)
        if pick == 0:
            yield line.replace(b", ", b",\r ", 3)  # bare \r between tokens: still one record
        elif pick == 1:
            yield line + b"\r"  # \r\n ending
        elif pick == 2:
            yield b"\t \x0b" + line + b"\x0c "
        else:
            yield line.replace(b", ", b",\r", 1) + b"\r\r"


def _mutated(g: Gen) -> Iterator[bytes]:
    while True:
        doc = g.base()
        inner = g.payload(doc)
        key = g.rng.choice(sorted(inner["payload"]))
        inner["payload"][key] = g.rng.choice((None, "", 0, -1, [], {}, "x" * 5000, True, 1.5, "\u0000"))
        doc["payload"] = json.dumps(inner)
        yield g.line(doc)


CLASSES: dict[str, Callable[[Gen], Iterator[bytes]]] = {
    "timestamps": _timestamps, "numbers": _numbers, "depth": _depth, "encoding": _encoding,
    "headers": _headers, "wire-format": _wire, "registry-ids": _registry_ids, "garbage": _garbage,
    "line-breaks": _line_breaks, "mutated-valid": _mutated,
}


def corpus(per_class: int = PER_CLASS, seed: int = SEED) -> list[tuple[str, bytes]]:
    """(class, line) pairs, classes interleaved round-robin; same seed, same bytes. No line holds `\\n`."""
    g = Gen(seed)
    streams = {name: make(g) for name, make in CLASSES.items()}
    out: list[tuple[str, bytes]] = []
    for _ in range(per_class):
        for name, stream in streams.items():
            line = next(stream)
            if b"\n" in line or not line.strip():
                raise ValueError(f"class {name} made a line the line rule would split or skip: {line[:80]!r}")
            out.append((name, line))
    return out


def big_line(size: int = 1_000_000, seed: int = SEED) -> bytes:
    """One valid record whose payload carries a `size`-byte free-text field (and a 64 KB header)."""
    doc = Gen(seed).base()
    inner = json.loads(doc["payload"])
    inner["payload"]["notes"] = "n" * size
    doc["payload"] = json.dumps(inner)
    doc["headers"] = doc["headers"] + ["x-big", "h" * 65536]
    return json.dumps(doc).encode()


def write(path: Path, lines: list[tuple[str, bytes]]) -> None:
    path.write_bytes(b"".join(line + b"\n" for _, line in lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--per-class", type=int, default=PER_CLASS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    lines = corpus(args.per_class, args.seed)
    write(args.out, lines)
    print(f"{len(lines)} lines, {args.out.stat().st_size:,} bytes -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

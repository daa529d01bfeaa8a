"""Deterministic generator of realistic `orders.created` events as kcat `-J` JSON lines.

Every line has the shape of `examples/orders/records/scenario1-record.jsonl`: a kcat envelope on topic
`raw.orders.events` with the seed's headers, whose `payload` is the JSON text of a raw-event envelope
(`event_id`, `event_type`, `timestamp`, inner `payload`, `metadata`).

Mix (independent draws, seeded `random.Random`, so the same seed gives the same bytes):
  * 10%   no `customer_id`              -> G4 FAIL  MISSING_FIELD:customer_id
  * 1%    `discount_type: FLASH_SALE`   -> G4 WARN  UNKNOWN_ENUM:discount_type:FLASH_SALE
  * 0.5%  PII in free-text `notes`      -> G5 FAIL  PII_DETECTED:notes:<TYPE>
          (rotating SSN / email / phone / Visa card)
  * ~30%  carry clean `notes`; ~25% a `customer_email` (contract-classified PII: never flagged)

Trace ids are random hex; one that happens to hold a run of 13+ decimal digits is redrawn, so a
random id can never look like a Luhn-valid card number and the verdict mix is exactly the one above.

    python -m benchmarks.gen_orders --count 200000 --out /tmp/orders.jsonl
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import msgspec

TOPIC = "raw.orders.events"
SCHEMA_ID = "glue:orders.created:17"
SERVICE = "orders-svc"
VERSIONS = ("v3.16", "v3.17")
CURRENCIES = ("USD", "USD", "USD", "EUR", "GBP", "CAD")
DISCOUNTS = ("NONE", "NONE", "NONE", "NONE", "PERCENTAGE", "FIXED_AMOUNT", "LOYALTY", "COUPON")
CLEAN_NOTES = (
    "leave at the door", "please ring the bell twice", "gift wrap please", "deliver after 6pm",
    "no plastic bags", "side entrance, blue gate", "fragile - handle with care", "call on arrival",
    "leave with the concierge", "birthday present, hide the invoice", "back door is unlocked",
    "do not leave in the rain", "second floor, apartment on the left",
)
FIRST = ("jane", "john", "maria", "wei", "omar", "lena", "arjun", "sofia", "li", "noah")
LAST = ("doe", "smith", "garcia", "chen", "haddad", "novak", "patel", "rossi", "kim", "brown")
DOMAINS = ("example.com", "mail.example.org", "shop.example.net")
SKUS = tuple(f"SKU-{n:05d}" for n in range(10_000, 10_400, 7))
_DIGIT_RUN = re.compile(r"\d{13}")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_START_MS = 1_705_312_682_127  # 2024-01-15T09:58:02.127Z, the seed record's time
_PARTITIONS = 12

P_MISSING_CUSTOMER = 0.10
P_UNKNOWN_DISCOUNT = 0.01
P_PII_NOTES = 0.005
P_NOTES = 0.30
P_EMAIL = 0.25


def _iso(ms: int) -> str:
    sec, milli = divmod(ms, 1000)
    return datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{milli:03d}Z"


def _trace_id(rng: random.Random) -> str:
    while True:
        tid = f"{rng.getrandbits(128):032x}"
        if _DIGIT_RUN.search(tid) is None:
            return tid


def _ulid(rng: random.Random, ms: int) -> str:
    value = (ms << 80) | rng.getrandbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))


def _pii_note(rng: random.Random, k: int) -> str:
    kind = k % 4
    if kind == 0:
        ssn = f"{rng.randint(100, 665):03d}-{rng.randint(10, 99):02d}-{rng.randint(1000, 9999):04d}"
        return f"my ssn is {ssn} for the invoice"
    if kind == 1:
        return f"email me at {rng.choice(FIRST)}.{rng.choice(LAST)}@{rng.choice(DOMAINS)} when shipped"
    if kind == 2:
        return f"call +1 415 555 {rng.randint(100, 199):04d} on arrival"
    return "pay with 4111 1111 1111 1111 exp 12/27"


def generate(count: int, seed: int = 17) -> list[bytes]:
    """`count` kcat -J lines (bytes, no newline). Same seed -> same bytes."""
    rng = random.Random(seed)
    enc = msgspec.json.Encoder()
    offsets = [9_900_000 + 1_000 * p for p in range(_PARTITIONS)]
    out: list[bytes] = []
    ms = _START_MS
    pii_k = 0
    for _ in range(count):
        ms += rng.randint(0, 9)
        part = rng.randrange(_PARTITIONS)
        offset = offsets[part]
        offsets[part] += 1
        order_id = f"ORD-2024-0115-{rng.randint(10_000, 99_999)}"
        items = []
        for _i in range(rng.randint(1, 3)):
            items.append({"sku": rng.choice(SKUS), "qty": rng.randint(1, 4),
                          "price": round(rng.uniform(2.0, 120.0), 2)})
        total = round(sum(it["qty"] * it["price"] for it in items), 2)
        payload: dict[str, object] = {"order_id": order_id}
        if rng.random() >= P_MISSING_CUSTOMER:
            payload["customer_id"] = f"cust-{rng.randint(10_000, 99_999)}"
        payload["total_amount"] = total
        payload["currency"] = rng.choice(CURRENCIES)
        payload["created_at"] = _iso(ms - rng.randint(5, 40))
        payload["discount_type"] = "FLASH_SALE" if rng.random() < P_UNKNOWN_DISCOUNT else rng.choice(DISCOUNTS)
        if rng.random() < P_EMAIL:
            payload["customer_email"] = f"{rng.choice(FIRST)}.{rng.choice(LAST)}@{rng.choice(DOMAINS)}"
        if rng.random() < P_PII_NOTES:
            payload["notes"] = _pii_note(rng, pii_k)
            pii_k += 1
        elif rng.random() < P_NOTES:
            payload["notes"] = rng.choice(CLEAN_NOTES)
        payload["items"] = items
        trace = _trace_id(rng)
        version = rng.choice(VERSIONS)
        event = {
            "event_id": _ulid(rng, ms), "event_type": "orders.created.v1", "timestamp": _iso(ms),
            "payload": payload,
            "metadata": {"correlation_id": trace, "producer_service": SERVICE, "producer_version": version},
        }
        line = {
            "topic": TOPIC, "partition": part, "offset": offset, "tstype": "create", "ts": ms, "broker": 1,
            "headers": ["x-obs-trace-id", trace, "x-obs-producer-service", SERVICE,
                        "x-obs-producer-version", version, "x-obs-schema-id", SCHEMA_ID],
            "key": order_id, "payload": enc.encode(event).decode("utf-8"),
        }
        out.append(enc.encode(line))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--out", type=Path, help="output file (default: stdout)")
    args = ap.parse_args(argv)
    data = b"\n".join(generate(args.count, args.seed)) + b"\n"
    if args.out is None:
        sys.stdout.buffer.write(data)
    else:
        args.out.write_bytes(data)
        print(f"wrote {args.count} records to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

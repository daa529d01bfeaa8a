"""Seeded record streams: who produces what, when, at which version, and what each version breaks.

A `Stream` is one producer writing one topic at a Poisson rate between two instants. Its `versions`
say when each version went live (a deployment marker unless `marker=False`) and what it does wrong
(`Fault`s). Every record also carries the noise real traffic has: 128-bit hex trace ids (no redraw:
some hold long digit runs), a UUID request id in `metadata`, order-style ids, ~0.3% sporadic records
without `currency` that have always been there (an old mobile client), 25% with a (contract-classified) email, 30% with
free-text notes.

`render` returns, per record, what the scorer needs to know independently of the pipeline: its event
time, arrival time (late/out-of-order streams), producer and version, and whether a fault (not the
background noise) made it bad.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec

from benchmarks.detection.world import DISCOUNTS, Topic

_ENC = msgspec.json.Encoder()
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CURRENCIES = ("USD", "USD", "USD", "EUR", "GBP", "CAD")
NOTES = ("leave at the door", "please ring the bell twice", "gift wrap please", "deliver after 6pm",
         "side entrance, blue gate", "fragile - handle with care", "call on arrival", "ref 2024-01-15 batch 7",
         "second floor, apartment 12", "order 3 of 4, ship together", "v2.3.1 app, promo code SPRING24")
FIRST = ("jane", "john", "maria", "wei", "omar", "lena", "arjun", "sofia")
LAST = ("doe", "smith", "garcia", "chen", "haddad", "novak", "patel", "rossi")
SKUS = tuple(f"SKU-{n:05d}" for n in range(10_000, 10_400, 7))
WAREHOUSES = ("ams-1", "fra-2", "dub-1", "iad-3")
NOISE_MISSING = 0.003  # sporadic MISSING_FIELD that has always been there...
NOISE_FIELD = "currency"  # ...from an old mobile client that omits the currency


@dataclass(frozen=True)
class Fault:
    """What a version does wrong, to a `share` of its records.

    kind: `missing` (drop `field`), `value` (set `field` to `value`: an unknown enum value, a lowercase
    currency, a string where a number belongs), `volume` (only `share` of the records are sent at all),
    `stall` (nothing is sent)."""

    kind: str
    share: float = 1.0
    field: str = "customer_id"
    value: object = None


@dataclass(frozen=True)
class Version:
    at_ms: int
    version: str
    faults: tuple[Fault, ...] = ()
    marker: bool = True  # a CD deployment marker exists (else only the records' version header tells)
    commit: str = ""


@dataclass
class Stream:
    topic: Topic
    service: str
    rate: float  # records per second
    start_ms: int
    end_ms: int
    versions: list[Version]
    partitions: int = 6
    #: (share of records delayed, min s, max s): arrival = event time + delay (out of order, late).
    delays: tuple[tuple[float, float, float], ...] = ()
    noise_missing: float = NOISE_MISSING
    noise_field: str = NOISE_FIELD

    def version_at(self, ms: int) -> Version:
        current = self.versions[0]
        for v in self.versions:
            if v.at_ms <= ms:
                current = v
        return current


@dataclass(frozen=True)
class Rec:
    """One generated record and its truth."""

    event_ms: int
    arrival_ms: int
    service: str
    version: str
    topic: str
    faulty: bool  # a fault of its version made it bad (background noise does not count)
    key: str
    line: bytes = field(repr=False, compare=False)


def iso(ms: int) -> str:
    sec, milli = divmod(ms, 1000)
    return datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{milli:03d}Z"


def render(stream: Stream, rng: random.Random) -> list[Rec]:
    """Every record of `stream`, in event-time order (arrival times may be out of order)."""
    out: list[Rec] = []
    offsets = [1_000_000 * (p + 1) for p in range(stream.partitions)]
    t = float(stream.start_ms)
    while True:
        t += rng.expovariate(stream.rate) * 1000.0
        ms = int(t)
        if ms >= stream.end_ms:
            return out
        ver = stream.version_at(ms)
        if any(f.kind == "stall" for f in ver.faults):
            continue
        if any(f.kind == "volume" and rng.random() >= f.share for f in ver.faults):
            continue
        part = rng.randrange(stream.partitions)
        offset = offsets[part]
        offsets[part] += 1
        line, key, faulty = _record(stream, ver, ms, part, offset, rng)
        arrival = ms + int(rng.uniform(0, 400))
        roll = rng.random()
        for share, lo, hi in stream.delays:
            if roll < share:
                arrival = ms + int(rng.uniform(lo, hi) * 1000)
                break
            roll -= share
        out.append(Rec(ms, arrival, stream.service, ver.version, stream.topic.name, faulty, key, line))


def _record(stream: Stream, ver: Version, ms: int, part: int, offset: int,
            rng: random.Random) -> tuple[bytes, str, bool]:
    topic = stream.topic
    value, key, faulty = (_legacy_value(ver, rng) if topic.legacy else _payload(stream, ver, ms, rng))
    if topic.legacy:
        body: object = value
        headers: dict[str, str] = {}
    else:
        trace = f"{rng.getrandbits(128):032x}"  # realistic: never redrawn, so some hold long digit runs
        body = {"event_id": _ulid(rng, ms), "event_type": topic.event_type, "timestamp": iso(ms), "payload": value,
                "metadata": {"correlation_id": trace, "request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                             "producer_service": stream.service, "producer_version": ver.version}}
        headers = {"x-obs-trace-id": trace, "x-obs-producer-service": stream.service,
                   "x-obs-producer-version": ver.version, "x-obs-schema-id": topic.schema_id}
    if topic.form == "kcat":
        flat = [x for kv in headers.items() for x in kv]
        line = {"topic": topic.name, "partition": part, "offset": offset, "tstype": "create", "ts": ms, "broker": 1,
                "headers": flat, "key": key, "payload": _ENC.encode(body).decode()}
    else:
        line = {"topic": topic.name, "partition": part, "offset": offset, "timestamp": iso(ms), "headers": headers,
                "key": key, "value": body}
    return _ENC.encode(line), key, faulty


def _payload(stream: Stream, ver: Version, ms: int, rng: random.Random) -> tuple[dict[str, object], str, bool]:
    t = stream.topic
    day = datetime.fromtimestamp(ms // 1000, UTC).strftime("%m%d")
    ident = f"{t.id_prefix}-2024-{day}-{rng.randint(10_000, 99_999)}"
    lines = [(rng.choice(SKUS), rng.randint(1, 4), round(rng.uniform(2.0, 120.0), 2)) for _ in range(rng.randint(1, 3))]
    items = [{"sku": sku, "qty": qty, "price": price} for sku, qty, price in lines]
    p: dict[str, object] = {t.id_field: ident, "customer_id": f"cust-{rng.randint(10_000, 99_999)}",
                            "total_amount": round(sum(qty * price for _, qty, price in lines), 2),
                            "currency": rng.choice(CURRENCIES), "created_at": iso(ms - rng.randint(5, 40)),
                            t.enum_field: rng.choice(DISCOUNTS)}
    if rng.random() < 0.25:
        p["customer_email"] = f"{rng.choice(FIRST)}.{rng.choice(LAST)}@example.com"
    if rng.random() < 0.30:
        p["notes"] = rng.choice(NOTES)
    p["items"] = items
    if rng.random() < stream.noise_missing:
        p.pop(stream.noise_field, None)
    faulty = False
    for f in ver.faults:
        if f.kind in ("missing", "value") and rng.random() < f.share:
            faulty = True
            if f.kind == "missing":
                p.pop(f.field, None)
            else:
                p[f.field] = f.value
    return p, ident, faulty


def _legacy_value(ver: Version, rng: random.Random) -> tuple[dict[str, object], str, bool]:
    sku = rng.choice(SKUS)
    v: dict[str, object] = {"sku": sku, "warehouse": rng.choice(WAREHOUSES), "on_hand": rng.randint(0, 500)}
    if rng.random() < NOISE_MISSING:
        del v["warehouse"]
    faulty = False
    for f in ver.faults:
        if f.kind in ("missing", "value") and rng.random() < f.share:
            faulty = True
            if f.kind == "missing":
                v.pop(f.field, None)
            else:
                v[f.field] = f.value
    return v, sku, faulty


def _ulid(rng: random.Random, ms: int) -> str:
    value = (ms << 80) | rng.getrandbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))


def markers(streams: list[Stream]) -> list[dict[str, str]]:
    """Deployment markers (the CD hook's JSON lines) of every version with `marker=True`."""
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for s in streams:
        for v in s.versions:
            if v.marker and (s.service, v.version) not in seen:
                seen[(s.service, v.version)] = {"service": s.service, "version": v.version, "at": iso(v.at_ms),
                                                "commit": v.commit or _commit(s.service, v.version)}
    return sorted(seen.values(), key=lambda m: m["at"])


def _commit(service: str, version: str) -> str:
    return hashlib.sha256(f"{service}@{version}".encode()).hexdigest()[:7]

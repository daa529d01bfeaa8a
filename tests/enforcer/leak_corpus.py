"""A corpus of records with PII in every producer-controlled channel, and a search for it in outputs.

Every channel gets its own PII values (SSN, card, email, IBAN, phone; numbered by channel), so a value
found in an output names the channel it leaked through. Each value is searched for in all its written
forms: as sent, lowercased, without spaces, and its digits alone.

Two sets of forms (`Pii.forms`, `Pii.detectable`):
* every form, the ones the detectors recognise *and* forms they miss (`108181008`,
  `4000.3167.8901.2343`, `4155552604`), which the guard still catches (more than 6 digits, odd
  characters): for channels that never hold payload data (headers, topic, Kafka key), for key names,
  and, when no payload copy is kept (`payload: none`), for payload values too;
* the detectable forms only, for payload values (any field, enum and pattern-checked fields and the
  envelope included) when payloads are copied into evidence: a copy can only redact what the detectors
  recognise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from signal_factory.privacy.pii_detectors import detect

TOPIC = "raw.orders.events"
BASE_HEADERS = {
    "x-obs-trace-id": "ab91f3c2d4e5f6a7b8c9d0e1f2a3b4c5",
    "x-obs-producer-service": "orders-svc",
    "x-obs-producer-version": "v3.16",
    "x-obs-schema-id": "glue:orders.created:17",
}


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def _iban_de(account: str) -> str:
    bban = f"37040044{account:0>10}"
    check = 98 - int(bban + "131400") % 97  # D=13, E=14, then "00" for the check digits
    return f"DE{check:02d}{bban}"


@dataclass(frozen=True)
class Pii:
    """One channel's values, each kind in several written forms."""

    kind: str
    forms: tuple[Any, ...]  # as sent (str, or int for a card sent as a JSON number)
    detectable: tuple[Any, ...]  # the forms the detectors recognise

    def needles(self) -> set[str]:
        out: set[str] = set()
        for form in self.forms:
            text = str(form)
            digits = re.sub(r"\D", "", text)
            out |= {text, text.lower(), text.replace(" ", "")}
            if len(digits) >= 7:
                out.add(digits)
                if self.kind == "PHONE" and len(digits) == 11:
                    out.add(digits[1:])  # without the country code
        return out


def pii_for(channel_no: int) -> list[Pii]:
    """Distinct values for channel number `channel_no` (0-49)."""
    i = channel_no
    ssn = f"{101 + i:03d}-18-{1008 + i:04d}"
    card = _luhn_complete(f"400031678901{i:03d}")
    iban = _iban_de(f"05320{i:05d}")
    email = f"jane.doe{i}@example.com"
    phone_local = f"415-555-{2600 + i:04d}"
    return [
        Pii("SSN", (ssn, ssn.replace("-", "")), (ssn,)),
        Pii("CREDIT_CARD", (card, "-".join(card[k:k + 4] for k in range(0, 16, 4)),
                            ".".join(card[k:k + 4] for k in range(0, 16, 4))), (card,)),
        Pii("EMAIL", (email,), (email,)),
        Pii("IBAN", (iban, " ".join(iban[k:k + 4] for k in range(0, len(iban), 4))), (iban,)),
        Pii("PHONE", (f"+1 {phone_local}", f"(415) 555-{2600 + i:04d}", phone_local.replace("-", "")),
            (f"+1 {phone_local}",)),
    ]


# -- channels: (name, builds a record from a PII form, uses all forms?) -------------------------------

Record = dict[str, Any]


def _value(payload: dict[str, Any] | None = None, **envelope: Any) -> dict[str, Any]:
    base = {"order_id": "ORD-2024-0115-10001", "customer_id": "cust-1", "total_amount": 10.0, "currency": "USD"}
    doc: dict[str, Any] = {"event_id": "01HQX7YMKP3QR5ST6VW8XYZ123", "event_type": "orders.created.v1",
                           "payload": {**base, **(payload or {})}, "metadata": {}}
    doc.update(envelope)
    return doc


def _rec(value: dict[str, Any], headers: dict[str, str] | None = None, topic: str = TOPIC,
         key: str | None = "ORD-2024-0115-10001", base: dict[str, str] = BASE_HEADERS) -> Record:
    return {"topic": topic, "headers": {**base, **(headers or {})}, "key": key, "value": value}


def _s(v: Any) -> str:
    return str(v)


CHANNELS: list[tuple[str, Callable[[Any], Record], bool]] = [
    ("payload value", lambda v: _rec(_value({"notes": f"call me: {v}"} if isinstance(v, str)
                                            else {"extra_number": v})), False),
    ("payload key name", lambda v: _rec(_value({"extra": {_s(v): "219-09-9999"}, _s(v): 1})), True),
    ("header x-obs-schema-id", lambda v: _rec(_value(), {"x-obs-schema-id": _s(v)}), True),
    ("header x-obs-producer-service", lambda v: _rec(_value(), {"x-obs-producer-service": _s(v)}), True),
    ("header x-obs-producer-version", lambda v: _rec(_value(), {"x-obs-producer-version": _s(v)}), True),
    ("header x-obs-trace-id", lambda v: _rec(_value(), {"x-obs-trace-id": _s(v), "traceparent": _s(v)}), True),
    ("topic name", lambda v: _rec(_value(), topic=f"raw.{v}"), True),
    ("enum value", lambda v: _rec(_value({"discount_type": _s(v)})), False),
    ("pattern mismatch", lambda v: _rec(_value({"currency": _s(v), "order_id": _s(v)})), False),
    ("kafka key", lambda v: _rec(_value(), key=_s(v)), True),
    ("envelope fields", lambda v: _rec(_value(event_id=_s(v), timestamp=_s(v), event_type="orders.created.v1")),
     False),
    ("payload producer hint", lambda v: _rec(
        _value(metadata={"producer_service": _s(v), "producer_version": _s(v)}), topic="raw.unmapped.events",
        headers={}, base={}), False),
]
#: Inflows beside records (`leak_inflows.py`); their PII values are numbered after the record channels'.
INFLOW_CHANNELS = ["OpenLineage names", "OpenLineage facets", "POST /evidence", "S3 object key + metadata",
                   "deployment marker"]
#: OTLP/HTTP trace exports (`leak_otlp.py`): one span field each; numbered after the other inflows'.
OTLP_CHANNELS = ["OTLP service.name", "OTLP service.version", "OTLP span name", "OTLP status message",
                 "OTLP attribute + event values", "OTLP messaging destination"]
CHANNEL_NAMES = [name for name, _, _ in CHANNELS] + INFLOW_CHANNELS + OTLP_CHANNELS
#: Records per channel x form; the schema-id channel's first form gets more, so that its (guarded)
#: signature tops the CONTRACT_BREACH signal and becomes the incident title.
REPEAT = 3
DOMINANT = 40


def corpus(payload_copies: bool = False) -> Iterator[tuple[str, Record]]:
    """(channel, plain-form record) for every channel x PII kind x form, timestamped 09:55-10:00 UTC,
    after a baseline of clean v3.16 records (so a hostile version is inferred as a deployment).
    `payload_copies`: evidence keeps payloads, so payload values come in detectable forms only."""
    n = 0
    for k in range(20):
        rec = _rec(_value({"order_id": f"ORD-2024-0115-{k:05d}"}))
        yield "baseline", {**rec, "partition": 0, "offset": n, "timestamp": f"2024-01-15T09:50:{k:02d}.000Z"}
        n += 1
    for c, (name, build, never_payload) in enumerate(CHANNELS):
        all_forms = never_payload or not payload_copies
        for pii in pii_for(c):
            usable: list[Any] = list(pii.forms if all_forms else pii.detectable)
            if name == "payload value" and pii.kind == "CREDIT_CARD":
                usable.append(int(pii.forms[0]))  # a card sent as a JSON number
            for f_no, form in enumerate(usable):
                times = DOMINANT if (c == 2 and pii.kind == "SSN" and f_no == 0) else REPEAT
                for _ in range(times):
                    rec = build(form)
                    ms = 55 * 60_000 + (n * 577) % 299_000
                    rec.update(partition=0, offset=n,
                               timestamp=f"2024-01-15T09:{ms // 60_000:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}Z")
                    yield name, rec
                    n += 1


def corpus_lines(payload_copies: bool = False) -> bytes:
    return b"".join(json.dumps(rec).encode() + b"\n" for _, rec in corpus(payload_copies))


def needles() -> dict[str, set[str]]:
    """Channel -> every written form of every PII value it carried."""
    out: dict[str, set[str]] = {}
    for c, name in enumerate(CHANNEL_NAMES):
        extra: set[str] = set()
        for pii in pii_for(c):
            extra |= pii.needles()
        out[name] = extra
    return out


def find_leaks(outputs: dict[str, str]) -> dict[tuple[str, str], list[str]]:
    """(channel, output) -> the needles found in that output (an empty dict: no leak)."""
    found: dict[tuple[str, str], list[str]] = {}
    table = needles()
    for out_name, text in outputs.items():
        folded = text.lower()
        for channel, forms in table.items():
            hits = sorted(f for f in forms if f.lower() in folded)
            if hits:
                found[(channel, out_name)] = hits
    return found


def detector_forms_are_detected() -> list[str]:
    """Detectable forms the detectors do not in fact recognise (should be none)."""
    return [str(f) for c in range(len(CHANNELS)) for pii in pii_for(c) for f in pii.detectable
            if detect(str(f)) is None]

"""The guard: safe tokens pass as they are, anything that could be PII becomes a stable keyed stand-in,
and no producer-controlled string can make a reason code or an evidence large."""

from __future__ import annotations

import re
from collections.abc import Iterator

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.evidence import encode_evidence
from signal_factory.model.records import RawRecord
from signal_factory.privacy import guard
from signal_factory.privacy.guard import (
    MAX_PATH,
    MAX_TOKEN,
    safe_code,
    safe_key,
    safe_path,
    safe_text,
    safe_token,
    set_redaction_key,
)
from signal_factory.settings import Settings
from tests.conftest import SEED_HEADERS

STAND_IN = re.compile(r"^redacted-[A-Z_]+-[b-df-hj-np-tv]{8}$")


@pytest.fixture(autouse=True)
def _default_key() -> Iterator[None]:
    set_redaction_key(None)
    yield
    set_redaction_key(None)


@pytest.mark.parametrize("value", ["raw.orders.events", "orders-svc", "legacy-inventory-svc", "v3.17", "v3.16",
                                   "FLASH_SALE", "glue:orders.created:17", "confluent:17", "customer_id", "UNKNOWN"])
def test_seed_values_are_written_as_they_are(value: str) -> None:
    """The seed's topics, producers, versions, enum values and schema ids stay readable."""
    assert safe_token(value) == value


@pytest.mark.parametrize(("value", "kind"), [
    ("108-18-1008", "SSN"), ("4000316789012343", "CREDIT_CARD"), ("jane.doe@example.com", "EMAIL"),
    ("DE89370400440532013000", "IBAN"), ("+1 415-555-2671", "PHONE"), ("4000.3167.8901.2343", "CREDIT_CARD"),
    ("108181008", "DIGITS"), ("4155552671", "DIGITS"), ("108_18_1008", "DIGITS"),
    ("Flash Sale", "TEXT"), ("a" * (MAX_TOKEN + 1), "TEXT"), ("nul\x00byte", "TEXT"), ("jane@localhost", "TEXT"),
])
def test_unsafe_values_become_typed_stand_ins(value: str, kind: str) -> None:
    """PII, more than 6 digits, odd characters or length: `redacted-<TYPE>-<8 letters>`, nothing of the value."""
    shown = safe_token(value)
    assert STAND_IN.match(shown), shown
    assert shown.split("-")[1] == kind
    assert safe_token(shown) == shown  # a stand-in is itself a safe token: guarding twice changes nothing
    assert value not in shown


def test_stand_ins_are_stable_distinct_and_keyed() -> None:
    """Same value -> same stand-in (signatures group); another value or another key -> another one."""
    a, b = safe_token("108-18-1008"), safe_token("219-09-9999")
    assert a == safe_token("108-18-1008")
    assert a != b
    set_redaction_key("another-installation")
    assert safe_token("108-18-1008") != a
    set_redaction_key(None)
    assert safe_token("108-18-1008") == a


def test_a_new_key_reaches_every_memoised_guard() -> None:
    """The per-string memos are emptied with the key: no stand-in made under the old key is served after."""
    guards = [lambda: safe_token("108-18-1008"), lambda: safe_path("extra.108-18-1008"),
              lambda: safe_key("108-18-1008"), lambda: safe_code("UNKNOWN_ENUM:discount_type:108-18-1008"),
              lambda: safe_text("call 415-555-2671")]
    before = [g() for g in guards]
    set_redaction_key("another-installation")
    after = [g() for g in guards]
    set_redaction_key(None)
    assert all(x != y for x, y in zip(before, after, strict=True))
    assert [g() for g in guards] == before


def test_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGNAL_FACTORY_REDACTION_KEY sets the key; it is a secret that never prints."""
    default = safe_token("108-18-1008")
    monkeypatch.setenv("SIGNAL_FACTORY_REDACTION_KEY", "k-123")
    settings = Settings.from_env()
    assert "k-123" not in repr(settings)
    set_redaction_key(None)
    assert safe_token("108-18-1008") != default
    assert guard.stand_in("108-18-1008", "SSN") == safe_token("108-18-1008")


@pytest.mark.parametrize(("path", "shown"), [
    ("$", "$"), ("items[].sku", "items[].sku"), ("metadata.notes", "metadata.notes"),
    ("extra.108-18-1008", "extra.redacted-SSN-"), ("extra.4000316789012343[]", "extra.redacted-CREDIT_CARD-"),
    ("extra.108.18.1008", "redacted-DIGITS-"), ("x.jane.doe@example.com", "redacted-EMAIL-"),
    ("a." * MAX_PATH, "redacted-TEXT-"),
])
def test_field_paths_keep_safe_segments(path: str, shown: str) -> None:
    """A path keeps its safe segments; a key spanning segments or a long path becomes one stand-in."""
    assert safe_path(path).startswith(shown)
    assert len(safe_path(path)) <= MAX_PATH


def test_payload_key_names() -> None:
    """Payload copies keep ordinary keys (spaces too) and replace PII-looking or long ones."""
    assert safe_key("Customer Name") == "Customer Name"
    assert safe_key("108-18-1008").startswith("redacted-SSN-")
    assert safe_key("k" * 65).startswith("redacted-TEXT-")


MB = "4" * 1_000_000


@pytest.mark.parametrize("channel", ["x-obs-schema-id", "x-obs-producer-service", "x-obs-producer-version",
                                     "topic", "key name", "enum", "pattern"])
def test_a_megabyte_in_any_channel_gives_a_small_evidence(channel: str, control_plane: ControlPlane) -> None:
    """1 MB in a header, topic, key name or checked value: every reason code <= 300 chars, evidence < 16 KB."""
    payload = {"order_id": "ORD-2024-0115-1", "customer_id": "c", "total_amount": 1.0, "currency": "USD"}
    headers = dict(SEED_HEADERS)
    topic = "raw.orders.events"
    if channel.startswith("x-obs"):
        headers[channel] = MB
    elif channel == "topic":
        topic = MB
    elif channel == "key name":
        payload["extra"] = {MB: "219-09-9999"}
    elif channel == "enum":
        payload["discount_type"] = MB
    else:
        payload["currency"] = MB
    rec = RawRecord(topic=topic, partition=0, offset=1, timestamp_ms=1705312682127, headers=headers,
                    value=msgspec.json.encode(payload))
    (ev,) = Enforcer(control_plane).process([rec]).evidence
    data = encode_evidence(ev)
    assert all(len(code) <= 300 for code in ev.validation.reason_codes)
    assert len(data) < 16_000
    assert b"4" * 100 not in data


def test_many_violations_are_capped(control_plane: ControlPlane) -> None:
    """10,000 bad array items: at most 32 reason codes and 20 listed violations, the rest counted."""
    items = [{"sku": None, "qty": -1} for _ in range(10_000)]
    payload = {"order_id": "X", "total_amount": -1, "currency": "usd", "items": items}
    rec = RawRecord(topic="raw.orders.events", partition=0, offset=1, timestamp_ms=1705312682127,
                    headers=dict(SEED_HEADERS), value=msgspec.json.encode(payload))
    (ev,) = Enforcer(control_plane).process([rec]).evidence
    g4 = ev.validation.gates[3]
    assert g4.details is not None
    assert len(g4.details["other_violations"]) == 20
    assert g4.details["other_violations_omitted"] > 0
    assert len(ev.validation.reason_codes) <= 32
    assert len(encode_evidence(ev)) < 16_000


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.from_regex(guard._NOT_PII, fullmatch=True),
                 st.sampled_from(["2024-01-15T09:58:02.135Z", "2024-01-15 108-18-1008", "20240115108181008",
                                  "2024-01-15T09:58:02+05:00 jane@example.com", "19700101", "00:00:00",
                                  "190\u06600101-000000"])))  # an Arabic-Indic zero: found by hypothesis
def test_the_date_and_uuid_shortcut_agrees_with_the_full_checks(value: str) -> None:
    """A lone date, time or UUID skips the digit masking: same verdict as the full checks, whatever it holds."""
    assert guard._classify_text(value) == guard._text_checks(value)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(guard._EVENT_TIME, fullmatch=True))
def test_event_times_are_kept_as_the_full_checks_keep_them(value: str) -> None:
    """The event-time shortcut keeps only what the full checks keep."""
    assert safe_text(value) == guard._text_checks(value) == value

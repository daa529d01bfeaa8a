"""PII detectors: whole-token precision on realistic non-PII values, recall on PII written many ways."""

from __future__ import annotations

from collections import Counter

import pytest
from benchmarks.pii_corpus import BARE_DOTTED_QUAD, labelled_pii, non_pii

from signal_factory.privacy.pii_detectors import PiiType, detect, detect_all

_STRICT = (PiiType.CREDIT_CARD, PiiType.SSN, PiiType.IBAN)


def test_no_card_ssn_iban_false_positives_on_100k_non_pii_values() -> None:
    """100k ids, timestamps, versions, amounts, base64, SKUs: 0 card/SSN/IBAN, 0 phone/email findings."""
    found: Counter[tuple[PiiType, str]] = Counter()
    kinds: Counter[str] = Counter()
    for kind, value in non_pii(100_000, seed=13):
        kinds[kind] += 1
        for pii_type in detect_all(value):
            found[pii_type, kind] += 1
    assert len(kinds) >= 15  # every generator kind took part
    assert {key: n for key, n in found.items() if key[0] in _STRICT} == {}
    assert {key: n for key, n in found.items() if key[0] in (PiiType.PHONE, PiiType.EMAIL)} == {}
    # The only IP findings are bare dotted quads ("1.2.3.4"), which are valid addresses.
    assert {kind for pii_type, kind in found if pii_type is PiiType.IP_ADDRESS} <= {BARE_DOTTED_QUAD}


def test_recall_per_type_on_the_labelled_corpus() -> None:
    """Dashed, spaced, dotted, grouped, lower-case, 00-prefixed PII in sentences: recall >= 0.99 per type."""
    hits: Counter[PiiType] = Counter()
    totals: Counter[PiiType] = Counter()
    for pii_type, text in labelled_pii(per_type=1500, seed=14):
        totals[pii_type] += 1
        hits[pii_type] += pii_type in detect_all(text)
    assert set(totals) == set(PiiType)
    recall = {t: hits[t] / totals[t] for t in totals}
    assert all(r >= 0.99 for r in recall.values()), recall


# Strings from the issues and their neighbours: (text, the type detect must return, or None).
TRICKY = [
    # digit runs inside alphanumeric tokens are never card, SSN, phone or IBAN
    ("5e8bdc631be38513470285709e695371", None),  # hex trace id with a Luhn-valid 14-digit run
    ("x5e8bdc631be3851347028570", None),
    ("4111111111111111abc", None),
    ("abc4111111111111111", None),
    ("id-4111111111111111", None),  # glued by "-" to a word
    ("4111-1111-1111-1111-x", None),
    ("ORD-2024-0520-97227", None),
    ("ORD-123-45-6789", None),
    ("a123-45-6789", None),
    ("REF-415-555-0132", None),
    ("550e8400-e29b-41d4-a716-446655440000", None),
    ("01HM68X04QW0ACN9Z9QZ80E951", None),
    ("Zm9vYmFyNDExMTExMTExMTExMTExMQ==", None),
    ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None),  # W3C traceparent
    ("2024-01-15T09:58:02.127456+05:00", None),
    ("1705312682127000", None),  # epoch microseconds
    ("3.14159265358979323", None),  # the decimals glue to "3."
    ("+1234567.89", None),
    ("v1.2.3.4", None),
    ("1.2.3.4-rc1", None),
    ("app/1.2.3.4", None),
    ("release-10.0.0.1", None),
    ("ZZ8112345678901", None),  # mod-97 holds but ZZ is no country
    ("be12345678901234", None),  # 16 hex digits that look like a Belgian IBAN head: mod-97 fails
    ("Gb82West12345698765432", None),  # mixed case: a base64-ish token, not an IBAN
    ("0044 5320 1300", None),  # 4-digit groups are a card's or IBAN's, not a dialled number
    # standing alone in free text they still count
    ("call 415-555-0132", PiiType.PHONE),
    ("call 415 555 0132 after six", PiiType.PHONE),
    ("(415) 555 0132", PiiType.PHONE),
    ("0044 20 7946 0958", PiiType.PHONE),
    ("0044 (0)20 7946 0958", PiiType.PHONE),
    ("+44 (0)20 7946 0958", PiiType.PHONE),
    ("(+44) 20 7946 0958", PiiType.PHONE),
    ("011 44 20 7946 0958", PiiType.PHONE),
    ("020 7946 0958", PiiType.PHONE),
    ("tel: 07700 900123", PiiType.PHONE),
    ("01 23 45 67 89", PiiType.PHONE),
    ("01.23.45.67.89", PiiType.PHONE),
    ("card 4111 1111 1111 1111", PiiType.CREDIT_CARD),
    ("card 4111.1111.1111.1111", PiiType.CREDIT_CARD),
    ("amex 3782.822463.10005", PiiType.CREDIT_CARD),
    ("card:4111111111111111", PiiType.CREDIT_CARD),
    ("SSN 123-45-6789", PiiType.SSN),
    ("ssn 123.45.6789", PiiType.SSN),
    ("SSN:078-05-1120", PiiType.SSN),
    ("de89 3704 0044 0532 0130 00", PiiType.IBAN),
    ("de89370400440532013000", PiiType.IBAN),
    ("IBAN: GB82 WEST 1234 5698 7654 32.", PiiType.IBAN),
    ("user+tag@mail.sub.example.co.uk", PiiType.EMAIL),
    ("http://10.1.2.3/health", PiiType.IP_ADDRESS),
    ("10.0.0.1-10.0.0.9", PiiType.IP_ADDRESS),
]


@pytest.mark.parametrize(("text", "expected"), TRICKY)
def test_tricky_strings(text: str, expected: PiiType | None) -> None:
    """Whole tokens: ids, timestamps and versions are clean; PII written the usual ways is found."""
    assert detect(text) is expected
    assert detect_all(text) == ([] if expected is None else [expected])


_FRAGMENTS = [
    "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "3782.822463.10005", "123-45-6789",
    "123.45.6789", "415-555-0132", "(415) 555 0132", "+44 (0)20 7946 0958", "0044 20 7946 0958", "020 7946 0958",
    "01 23 45 67 89", "de89 3704 0044 0532 0130 00", "DE89370400440532013000", "GB82WEST12345698765432",
    "a.b@example.com", "10.1.2.3", "2001:db8::1", "ORD-2024-0520-97227", "5e8bdc631be38513470285709e695371",
    "550e8400-e29b-41d4-a716-446655440000", "2024-01-15T09:58:02.127Z", "v1.2.3.4", "x", "AB", "0", "12",
    "2024-01-15 09:58:02", "0034 56 78 90:12", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
]  # fmt: skip
_GLUE = ["", "", " ", "-", ".", ":", "(", ")", "+", "_", "'", "/", "=", "--"]


def _reference(text: str) -> list[PiiType]:
    """Every validator run on the text, no pre-screen."""
    from signal_factory.privacy import pii_detectors as d

    phone = d._plus_phone(text) or d._zero_phone(text) or d._nanp_phone(text)
    found = [d._ssn(text), d._card(text), d._iban(text), d._email(text), phone, d._ip(text)]
    order = [PiiType.SSN, PiiType.CREDIT_CARD, PiiType.IBAN, PiiType.EMAIL, PiiType.PHONE, PiiType.IP_ADDRESS]
    return [t for t, hit in zip(order, found, strict=True) if hit]


def test_pre_screen_never_hides_what_the_validators_find() -> None:
    """Random glued fragments: detect_all equals running every validator (the shortcuts lose nothing)."""
    import random

    rng = random.Random(15)
    for _ in range(20_000):
        parts = [rng.choice(_GLUE) for _ in range(4)]
        frags = [rng.choice(_FRAGMENTS) for _ in range(3)]
        text = parts[0] + frags[0] + parts[1] + frags[1] + parts[2] + frags[2] + parts[3]
        assert detect_all(text) == _reference(text), text
    for text in _FRAGMENTS:  # each alone too: the whole-string shortcuts (timestamps, glued ids) apply
        assert detect_all(text) == _reference(text), text

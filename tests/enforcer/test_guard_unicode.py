"""The guard reads digits in every script (an SSN in Arabic-Indic or fullwidth digits is still an SSN)
and guards strings inside tuples and sets as it does inside lists."""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Callable, Iterator
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signal_factory.enforcer.inflows import guard_tree
from signal_factory.privacy.guard import (
    PREFIX,
    safe_code,
    safe_key,
    safe_path,
    safe_text,
    safe_token,
    set_redaction_key,
)

GUARDS: dict[str, Callable[[str], str]] = {
    "token": safe_token, "text": safe_text, "key": safe_key, "path": lambda v: safe_path(f"extra.{v}"),
    "code": lambda v: safe_code(f"UNKNOWN_ENUM:discount_type:{v}"), "tree": lambda v: guard_tree({"note": v})["note"],
}
# (value, its ASCII reading, the stand-in type): SSNs, a card, a phone and an email in other scripts' digits.
HOSTILE = [
    ("١٢٣-٤٥-٦٧٨٩", "123-45-6789", "SSN"),  # Arabic-Indic
    ("１２３-４５-６７８９", "123-45-6789", "SSN"),  # fullwidth
    ("۱۲۳-۴۵-۶۷۸۹", "123-45-6789", "SSN"),  # Extended Arabic-Indic (Persian)
    ("١٢٣٤٥٦٧٨٩", "123456789", "DIGITS"),  # no separators: the digit rule, not the detectors
    ("४०००३१६७८९०१२३४३", "4000316789012343", "CREDIT_CARD"),  # Devanagari
    ("+1 ٤١٥-٥٥٥-٢٦٧١", "+1 415-555-2671", "PHONE"),  # mixed scripts
    ("⑩⑪⑫⑬⑭⑮", "101112131415", "DIGITS"),  # 6 characters, 12 digits once NFKC-normalised
    ("jane.doe＠example.com", "jane.doe@example.com", "EMAIL"),  # fullwidth @
]


@pytest.fixture(autouse=True)
def _default_key() -> Iterator[None]:
    set_redaction_key(None)
    yield
    set_redaction_key(None)


@pytest.mark.parametrize("guard", GUARDS)
@pytest.mark.parametrize(("value", "ascii", "kind"), HOSTILE)
def test_digits_of_any_script_are_counted(guard: str, value: str, ascii: str, kind: str) -> None:
    """A guarded value written in another script's digits becomes a stand-in in every guard."""
    shown = GUARDS[guard](value)
    assert value not in shown
    assert ascii not in shown
    assert f"{PREFIX}" in shown
    if guard in ("token", "text", "key", "tree"):
        assert shown.startswith(f"{PREFIX}{kind}-"), shown  # the detectors read the value as its ASCII form


@pytest.mark.parametrize("value", ["café-v2", "Zürich order ١٢٣", "東京 release 2024-01-15", "ЗАКАЗ-１２３"])
def test_short_numbers_in_any_script_stay_readable(value: str) -> None:
    """Non-ASCII text with at most 6 digits in a number is still shown as it is (as free text)."""
    assert safe_text(value) == value


@cache
def _zeros() -> list[str]:
    """The digit zero of every decimal-digit script Unicode knows (each script's digits are 0-9 in a row)."""
    return [chr(c) for c in range(sys.maxunicode + 1)
            if unicodedata.category(chr(c)) == "Nd" and unicodedata.decimal(chr(c)) == 0]


@st.composite
def _ssn_in_some_script(draw: st.DrawFn) -> str:
    zero = ord(draw(st.sampled_from(_zeros())))
    digits = draw(st.lists(st.integers(0, 9), min_size=9, max_size=9))
    text = "".join(chr(zero + d) for d in digits)
    sep = draw(st.sampled_from(["", "-", " ", "."]))
    return f"{text[:3]}{sep}{text[3:5]}{sep}{text[5:]}"


@given(_ssn_in_some_script())
def test_nine_digits_in_any_script_never_pass(value: str) -> None:
    """Nine digits of any Unicode decimal script, with any separator, never reach an output."""
    ascii = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in value)
    for guard in GUARDS.values():
        shown = guard(value)
        assert PREFIX in shown
        assert value not in shown
        assert ascii not in shown


def test_strings_inside_tuples_and_sets_are_guarded() -> None:
    """`guard_tree` guards strings in tuples, sets and frozensets (nested too) and keeps each container's kind."""
    tree = {"t": ("123-45-6789", "ok", ("jane.doe@example.com",)), "s": {"4000316789012343", "fine"},
            "f": frozenset({"+1 415-555-2671"}), "l": [("١٢٣-٤٥-٦٧٨٩",)]}
    out = guard_tree(tree)
    assert isinstance(out["t"], tuple)
    assert isinstance(out["s"], set)
    assert isinstance(out["f"], frozenset)
    assert out["t"][1] == "ok"
    assert "fine" in out["s"]
    flat = repr(out)
    for value in ("123-45-6789", "jane.doe@example.com", "4000316789012343", "415-555-2671", "١٢٣"):
        assert value not in flat
    assert out["t"][0].startswith(f"{PREFIX}SSN-")
    assert out["t"][2][0].startswith(f"{PREFIX}EMAIL-")
    assert out["l"][0][0].startswith(f"{PREFIX}SSN-")

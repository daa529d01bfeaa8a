"""Fast, pure PII detectors for the stream enforcer's hot path.

Hand-written on purpose: the enforcer must sustain >=100k records/s/core with 5-10 string fields per
record, so clean text has to be rejected in a couple of hundred nanoseconds. PII libraries (presidio,
scrubadub, ...) run NLP pipelines or dozens of recognisers per string -- tens of microseconds at best --
and none offers a shared pre-screen at this speed. Here every string first goes through a cheap
pre-screen (length, one C-level digit count, ``'@'``/``':'``/``'.'`` membership, then containment tests
on a translated "shape" of the text), and the precise validators (Luhn + issuer prefix/length, the SWIFT
IBAN registry + ISO 7064 mod-97, phone layouts, octet ranges, stdlib ``ipaddress``) only run on the rare
candidates. Every match is a whole token (see ``_START``/``_END``); ``benchmarks/bench_pii.py`` measures
false positives on generated non-PII values and recall on PII written the usual ways.

The functions return types only: matched values are never returned, stored or logged.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from enum import StrEnum

from signal_factory.privacy.pii_iban import IBAN_LENGTHS, iban_ok

__all__ = ["PiiType", "detect", "detect_all"]


class PiiType(StrEnum):
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    SSN = "SSN"
    CREDIT_CARD = "CREDIT_CARD"
    IBAN = "IBAN"
    IP_ADDRESS = "IP_ADDRESS"


_MIN_LEN = 7  # shortest PII we look for is an IPv4 like "1.1.1.1"
_A = re.ASCII  # \d and \w mean ASCII only, like the digit class below


def _class_table() -> bytes:
    table = bytearray(b"~" * 256)  # other punctuation and every non-ASCII UTF-8 byte -> "~"
    for ch in b".+):@":  # "(" stays "~": only ")" is looked for ("(415) 555-0132")
        table[ch] = ch
    table[ord(" ")] = table[ord("-")] = ord("-")
    for ch in range(ord("0"), ord("9") + 1):
        table[ch] = ord("0")
    for ch in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_":
        table[ch] = ord("A")
    return bytes(table)


# Pre-screen: the text is mapped to a "shape" string (digit -> 0, space/dash -> -, letters and _ -> A,
# .+):@ kept, anything else -> ~) with one C-level bytes.translate, then each detector first checks that
# the shape it needs occurs, using str containment (a memchr-speed search, ~20 ns). Regexes with many
# branches cost ~1 us per string in CPython's backtracking engine and google-re2's wrapper ~0.7 us, so
# neither can serve as the pre-screen.
_CLASS = _class_table()
# "0" stays, a word character or -./+:) -> "a", anything else -> " ": b" 0" finds a 0 at a token start.
_ZERO_START = bytes(
    ch if ch == ord("0") else ord("a") if ch < 128 and (chr(ch).isalnum() or chr(ch) in "_-./+:)") else ord(" ")
    for ch in range(256)
)
_DIGITS = b"0123456789"
# The shapes of ISO 8601 timestamps ("2024-01-15T09:58:02.127Z", "2024-01-15 09:58:02+01:00", ...), the
# commonest digit-rich strings in records: a string of exactly such a shape that does not start with 0 holds
# no PII (no token of it is 3-2-4, 3-3-4, 4-4-4-4, a 0-led phone or starts with letters): one set lookup.
_TIMESTAMP_SHAPES = frozenset(
    f"0000-00-00{sep}{time}{fraction}{zone}"
    for sep in ("A", "-")
    for time in ("00:00", "00:00:00")
    for fraction in ("", *("." + "0" * n for n in range(1, 10)))
    for zone in ("", "A", "+00:00", "-00:00", "+0000", "-0000", "+00", "-00")
) | {"0000-00-00"}
_RUN = bytes(ord("a") if ch < 128 and (chr(ch).isalnum() or ch == 32) else ord(".") for ch in range(256))

# Whole tokens only. A value is PII only if it is a token of its own: not preceded or followed by a word
# character, and not glued to one by "-", ".", "/" or "+" ("ORD-2024-0520-97227", "v1.2.3.4", the digit
# run inside a hex trace id or a base64 blob). Spaces and other punctuation (":", "=", ",", quotes)
# separate tokens, so "card 4111 1111 1111 1111" and "SSN:078-05-1120" still count.
_START = r"(?<!\w)(?<!\w[-./+])"
_END = r"(?!\w)(?![-./+]\w)"

_EMAIL = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])"
    r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![\w-])",
    _A,
)

# ddd-dd-dddd, ddd dd dddd, ddd.dd.dddd (one separator throughout), minus never-issued areas 000, 666,
# 9xx, group 00 and serial 0000.
_SSN = re.compile(rf"(?<![\w-])(?<!\w[./+])(?!000|666|9)\d{{3}}([ .-])(?!00)\d\d\1(?!0000)\d{{4}}{_END}", _A)

# "+" then groups split by one of " .-", a group may be in parentheses ("+44 (0)20 7946 0958"); each \d+
# is followed by a non-digit, so a failed match backtracks linearly. Digit count is checked in code.
_GROUPS = r"(?:[ .-]\d+|[ .-]?\(\d{1,4}\)[ .-]?\d+)*"
# Starts with the literal "+" (boundary checked behind it) so that the engine skips to each "+".
_E164 = re.compile(rf"\+(?<![\w+]\+)(?<!\w[-./]\+)(?:\d+|\(\d{{1,4}}\)[ .-]?\d+){_GROUPS}{_END}", _A)
_E164_PAREN = re.compile(rf"(?<![\w+])\(\+\d{{1,3}}\)[ .-]?\d+{_GROUPS}{_END}", _A)  # "(+44) 20 7946 0958"
# Numbers that start with 0: international with an "00"/"011" exit code ("0044 20 7946 0958") or a
# national trunk prefix ("020 7946 0958", "01 23 45 67 89"). The pattern starts with the literal "0" (the
# boundary is checked behind it) so that CPython's engine jumps from "0" to "0" instead of trying every
# position: ISO timestamps are full of digits and must stay cheap. The 0 must open a token: not after a
# word character or any of "+:./)-" ("10:05", "v1.05", "ORD-0520").
_ZERO = re.compile(rf"0(?<![\w+:./)-]0)\d*(?:[ .-]\d+|[ .-]?\(0\)[ .-]?\d+)+{_END}", _A)
_PAREN_ZERO = re.compile(rf"(?<![\w+])\(0\d{{1,4}}\)[ .-]?\d+(?:[ .-]\d+)*{_END}", _A)  # "(020) 7946 0958"
_NANP = re.compile(
    r"(?<![\w.+/-])(?:1[ .-]|1 ?(?=\())?"
    r"(?:\([2-9]\d\d\)[ .-]?[2-9]\d\d[ .-]|[2-9]\d\d([ .-])[2-9]\d\d\1)\d{4}" + _END,
    _A,
)
_PHONE_SEP = re.compile(r"[ .()-]+")
_ONE_SEP_SET = frozenset(" .-")

_CARD = re.compile(
    rf"{_START}(?:\d{{13,19}}"
    r"|\d{4}([ .-])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?"  # 4-4-4-1..4, 4-4-4-4-1..3
    r"|\d{4}([ .-])\d{6}\2\d{4,5}"  # Amex 4-6-5, Diners 4-6-4
    rf"){_END}",
    _A,
)
_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)

# Upper or lower case, compact or in groups of 4; the registry check is in pii_iban.
_IBAN = re.compile(rf"{_START}[A-Za-z]{{2}}\d\d(?: ?[A-Za-z0-9]{{4}})*(?: ?[A-Za-z0-9]{{1,4}})?{_END}", _A)

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# A dotted quad glued to a word is a version ("app/1.2.3.4", "release-1.2.3.4", "1.2.3.4-rc1"); glued to
# digits it is still an address ("10.0.0.1-10.0.0.9"), and so is a URL's host ("http://10.0.0.1/health").
_IPV4 = re.compile(
    rf"(?<![\w.])(?<![A-Za-z_][-/+])(?:{_OCTET}\.){{3}}{_OCTET}(?!\w|\.\w)(?![-+][A-Za-z_])",
    _A,
)
_IPV6_CANDIDATE = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,8}[0-9A-Fa-f.]{0,15}(?![\w:])", _A)


def _ndigits(s: str) -> int:
    raw = s.encode("ascii", "ignore")
    return len(raw) - len(raw.translate(None, _DIGITS))


def _email(text: str) -> bool:
    return _EMAIL.search(text) is not None


def _ssn(text: str) -> bool:
    return _SSN.search(text) is not None


def _e164_ok(cand: str) -> bool:
    """A "+" number of 8-15 digits; a trailing group may belong to the text ("+1 415 555 0100 22 items")."""
    while True:
        nd = _ndigits(cand)
        if 8 <= nd <= 15:
            # a signed decimal like "+1234567.89" is not a phone
            return not (cand.count(".") == 1 and " " not in cand and "-" not in cand and "(" not in cand)
        cut = max(cand.rfind(" "), cand.rfind("-"), cand.rfind("."))
        if nd < 8 or cut <= 0:
            return False
        cand = cand[:cut]


# National numbers with a trunk 0, by group lengths: UK 3-4-4, 4-3-4, 5-6, 5-3-3; FR 2-2-2-2-2; NL 2-8, 3-3-4;
# AU 2-4-4; DE 3-7, 4-6. A closed list keeps out runs of 4-digit groups (spaced IBANs, cards).
_TRUNK_LAYOUTS = frozenset(
    {(3, 4, 4), (4, 3, 4), (5, 6), (5, 3, 3), (2, 2, 2, 2, 2), (2, 8), (3, 3, 4), (2, 4, 4), (3, 7), (4, 6)}
)


def _zero_ok(cand: str) -> bool:
    """ "00"/"011" + country code + 8-15 digits, or a national number with a trunk 0 in a known layout."""
    groups = [g for g in _PHONE_SEP.split(cand) if g]
    lens = tuple(map(len, groups))
    if len(_ONE_SEP_SET.intersection(cand.split(")", 1)[-1])) == 1:  # one separator after a "(020)"
        for k in range(len(lens), 1, -1):  # a trailing group may belong to the text
            if lens[:k] in _TRUNK_LAYOUTS and groups[0][1] != "0":
                return True
    if all(n == 4 for n in lens):
        return False  # "0044 5320 1300": 4-digit groups are a card's or an IBAN's, not a dialled number
    groups = [g for g in _PHONE_SEP.split(cand.replace("(0)", " ")) if g]  # "0044 (0)20 7946 0958"
    for exit_code in ("00", "011"):
        if not cand.startswith(exit_code):
            continue
        first = groups[0][len(exit_code) :]
        cc, rest = (first, groups[1:]) if first else (groups[1], groups[2:])
        if not rest or cc[:1] in ("", "0") or (rest[0][0] == "0" and not cc.startswith("39")):
            continue  # no national number, or one that starts with a trunk 0 (only Italy keeps it)
        n = len(cc)
        for g in rest:  # a trailing group may belong to the text
            if n + len(g) > 15:
                break
            n += len(g)
        if n >= 8:
            return True
    return False


def _plus_phone(text: str) -> bool:
    if any(_e164_ok(m.group()) for m in _E164.finditer(text)):
        return True
    return "(+" in text and any(_e164_ok(m.group()) for m in _E164_PAREN.finditer(text))


def _zero_phone(text: str) -> bool:
    if any(_zero_ok(m.group()) for m in _ZERO.finditer(text)):
        return True
    return "(0" in text and any(_zero_ok(m.group()) for m in _PAREN_ZERO.finditer(text))


def _nanp_phone(text: str) -> bool:
    return _NANP.search(text) is not None


def _phone_check(plus: bool, zero: bool, nanp: bool) -> Callable[[str], bool]:
    """One PHONE validator running only the families whose shape the pre-screen saw."""
    families = [f for f, on in ((_plus_phone, plus), (_zero_phone, zero), (_nanp_phone, nanp)) if on]
    if len(families) == 1:
        return families[0]
    return lambda text: any(f(text) for f in families)


def _card_number_ok(d: str) -> bool:
    """Issuer prefix with a matching length, then Luhn (cheapest rejection first)."""
    n, c = len(d), d[0]
    if c == "4":
        ok = n in (13, 16, 19)  # Visa
    elif c == "5":
        ok = n == 16 and "51" <= d[:2] <= "55"  # Mastercard
    elif c == "2":
        ok = n == 16 and "2221" <= d[:4] <= "2720"  # Mastercard 2-series
    elif c == "3":
        if d[:2] in ("34", "37"):
            ok = n == 15  # Amex
        elif d[:2] in ("36", "38") or "300" <= d[:3] <= "305":
            ok = 14 <= n <= 16  # Diners
        else:
            ok = 16 <= n <= 19 and "3528" <= d[:4] <= "3589"  # JCB
    elif c == "6":
        ok = 16 <= n <= 19 and (d.startswith(("6011", "65")) or "644" <= d[:3] <= "649")  # Discover
    else:
        ok = False
    if not ok:
        return False
    total = sum(map(int, d[-1::-2])) + sum(_LUHN_DOUBLED[int(x)] for x in d[-2::-2])
    return total % 10 == 0


def _card(text: str) -> bool:
    for m in _CARD.finditer(text):
        groups = m.group().replace("-", " ").replace(".", " ").split(" ")
        # A trailing group may belong to the surrounding text ("4111 1111 1111 1111 22 items").
        for k in (len(groups), len(groups) - 1) if len(groups) > 4 else (len(groups),):
            d = "".join(groups[:k])
            if 13 <= len(d) <= 19 and _card_number_ok(d):
                return True
    return False


def _iban(text: str) -> bool:
    for m in _IBAN.finditer(text):
        groups = m.group().split(" ")
        # A trailing group may be a following word ("... 00 THX"); 34 chars span at most 9 groups.
        for k in range(min(len(groups), 9), 0, -1):
            iban = "".join(groups[:k])
            if len(iban) < 15:
                break
            if iban_ok(iban):
                return True
    return False


def _ip(text: str) -> bool:
    if text.count(".") >= 3 and _IPV4.search(text) is not None:
        return True
    for m in _IPV6_CANDIDATE.finditer(text):
        cand = m.group().rstrip(".")
        if _ndigits(cand) == 0:
            continue  # "add::be" style words; an address with no decimal digit is not worth the FPs
        try:
            ipaddress.IPv6Address(cand)
        except ValueError:
            continue
        return True
    return False


_Check = tuple[PiiType, Callable[[str], bool]]
_SSN_CHECK: _Check = (PiiType.SSN, _ssn)
_CARD_CHECK: _Check = (PiiType.CREDIT_CARD, _card)
_IBAN_CHECK: _Check = (PiiType.IBAN, _iban)
_EMAIL_CHECK: _Check = (PiiType.EMAIL, _email)
# indexed by plus + 2 * zero + 4 * nanp
_PHONE_CHECKS: tuple[_Check, ...] = tuple(
    (PiiType.PHONE, _phone_check(bool(i & 1), bool(i & 2), bool(i & 4))) for i in range(8)
)
_IP_CHECK: _Check = (PiiType.IP_ADDRESS, _ip)


def _iban_at_token_start(shape: str, raw: bytes) -> bool:
    """ "AA00" at a token start (not after a letter or digit) with no "-" in the next 15 bytes.

    IBANs are grouped with spaces, never dashes: this keeps the hex groups of UUIDs ("...-ab12-...") out.
    """
    i = shape.find("AA00")
    while i >= 0:
        if (i == 0 or shape[i - 1] not in "A0") and raw.find(b"-", i, i + 15) < 0:
            return True
        i = shape.find("AA00", i + 1)
    return False


def _candidates(text: str, raw: bytes, nd: int) -> list[_Check]:
    """Validators whose shape occurs in text (nd = its digit count), in order of significance."""
    shape = raw.translate(_CLASS).decode("latin-1")
    out: list[_Check] = []
    if nd >= 8:  # every digit-based type except IP needs at least 8 digits
        if shape in _TIMESTAMP_SHAPES and text[0] != "0":  # ("0034 56 78 90:12" is a dialled number)
            return out
        if shape.isalnum():  # one token of letters and digits (hex, base32 ids, bare numbers): a card or an IBAN
            if nd >= 13 and "0000000000000" in shape:
                out.append(_CARD_CHECK)
            if shape.startswith("AA00") and IBAN_LENGTHS.get(text[:2].upper()) == len(text):
                out.append(_IBAN_CHECK)
            return out
        if (
            " " not in text
            and "A" in shape
            and shape[0] != "-" != shape[-1]
            and "--" not in shape
            and not shape.strip("A0-")
        ):
            # One token glued by single dashes, with a letter in it ("ORD-2024-0520-97227", UUIDs, W3C
            # traceparents): a match would have to be the whole string, and dashed PII is all digits.
            return out
        dashed = "0-0000" in shape  # common to SSN, grouped cards and NANP; absent from ISO timestamps
        if nd >= 9 and ((dashed and "000-00-0000" in shape) or "000.00.0000" in shape):
            out.append(_SSN_CHECK)
        if nd >= 13 and (
            "0000000000000" in shape
            or (dashed and ("0000-0000-0000-0" in shape or "0000-000000-0000" in shape))
            or ("0.0000" in shape and ("0000.0000.0000.0" in shape or "0000.000000.0000" in shape))
        ):
            out.append(_CARD_CHECK)
        # Two letters and two digits at a token start, then 15 letters, digits or spaces in a row.
        if (
            "AA00" in shape
            and len(text) >= 15
            and b"aaaaaaaaaaaaaaa" in raw.translate(_RUN)
            and _iban_at_token_start(shape, raw)
        ):
            out.append(_IBAN_CHECK)
        if "@" in shape:
            out.append(_EMAIL_CHECK)
        plus = "+" in shape
        nanp = zero = False
        if nd >= 10:
            nanp = (dashed and "000-000-0000" in shape) or "000.000.0000" in shape or "000)" in shape
            # a number starting with 0 ("0044 20 7946 0958", "020 7946 0958", "01 23 45 67 89"): digit groups,
            # and a 0 at a token start
            zero = ("0-0" in shape or "0.0" in shape or "0)0" in shape) and (
                text[0] == "0" or " 0" in text or ("~0" in shape and b" 0" in raw.translate(_ZERO_START))
            )
        if plus or zero or nanp:
            out.append(_PHONE_CHECKS[plus + 2 * zero + 4 * nanp])
    elif "@" in shape:
        out.append(_EMAIL_CHECK)
    # A dotted quad has digits around each of its 3 dots; IPv6 needs "::" or 7 colons (6 with embedded IPv4).
    if nd and (
        (nd >= 4 and shape.count(".") >= 3 and "0.0" in shape)
        or (":" in shape and ("::" in shape or shape.count(":") >= 6))
    ):
        out.append(_IP_CHECK)
    return out


# detect() and detect_all() repeat the same screen inline: on clean text it is the whole cost, and an
# extra Python call would add ~20% to it. Only EMAIL and IP are possible below 8 digits.
def detect(text: str) -> PiiType | None:
    """Most significant PII type found in text, or None. Never returns or logs the value."""
    if len(text) < _MIN_LEN:
        return None
    try:
        raw = text.encode()
    except UnicodeEncodeError:  # lone surrogates
        raw = text.encode("utf-8", "surrogatepass")
    nd = len(raw) - len(raw.translate(None, _DIGITS))
    if nd < 8 and "@" not in text and ":" not in text and ("." not in text or nd < 4 or text.count(".") < 3):
        return None  # free text, codes, short ids, amounts
    for pii_type, check in _candidates(text, raw, nd):
        if check(text):
            return pii_type
    return None


def detect_all(text: str) -> list[PiiType]:
    """Every distinct PII type found, in a stable order (SSN, CREDIT_CARD, IBAN, EMAIL, PHONE, IP_ADDRESS)."""
    if len(text) < _MIN_LEN:
        return []
    try:
        raw = text.encode()
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass")
    nd = len(raw) - len(raw.translate(None, _DIGITS))
    if nd < 8 and "@" not in text and ":" not in text and ("." not in text or nd < 4 or text.count(".") < 3):
        return []
    return [pii_type for pii_type, check in _candidates(text, raw, nd) if check(text)]

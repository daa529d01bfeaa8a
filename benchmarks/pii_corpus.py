"""Seeded generators for the PII detector benchmark and its test.

`non_pii(n, seed)` yields (kind, value) pairs of realistic values that are NOT personal data: hex trace
and span ids, W3C traceparents, UUIDs, ULIDs, order/customer ids, ISO timestamps, epoch times, version
strings, amounts, IPv4-looking version numbers, base64, SKU codes, hashes. `labelled_pii(per_type, seed)`
yields (PiiType, text) pairs: PII written the ways people write it (dashed, spaced, dotted, grouped,
lower-case IBANs, "00"/"011" exit codes, "+44 (0)20", parentheses, plus-addressed emails, ...), alone or
inside a sentence. Same seed, same values.
"""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Callable, Iterator

from signal_factory.privacy.pii_detectors import PiiType
from signal_factory.privacy.pii_iban import BBAN_LAYOUTS

__all__ = ["BARE_DOTTED_QUAD", "NON_PII_KINDS", "labelled_pii", "non_pii"]

_HEX = "0123456789abcdef"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_B64 = string.ascii_letters + string.digits


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(_HEX, k=n))


def _uuid(rng: random.Random) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{rng.choice('89ab')}{h[17:20]}-{h[20:]}"


def _ulid(rng: random.Random) -> str:
    return rng.choice("01") + "".join(rng.choices(_CROCKFORD, k=25))


def _timestamp(rng: random.Random) -> str:
    y, mo, d = rng.randint(2019, 2026), rng.randint(1, 12), rng.randint(1, 28)
    h, mi, s, ms = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 999)
    date = f"{y:04d}-{mo:02d}-{d:02d}"
    return rng.choice(
        [
            f"{date}T{h:02d}:{mi:02d}:{s:02d}.{ms:03d}Z",
            f"{date}T{h:02d}:{mi:02d}:{s:02d}Z",
            f"{date}T{h:02d}:{mi:02d}:{s:02d}.{ms:03d}{rng.randint(0, 999):03d}+0{rng.randint(0, 9)}:00",
            f"{date} {h:02d}:{mi:02d}:{s:02d}",
            f"{date} {h:02d}:{mi:02d}:{s:02d}.{ms:03d}",
            date,
            f"{y:04d}{mo:02d}{d:02d}T{h:02d}{mi:02d}{s:02d}Z",
        ]
    )


def _epoch(rng: random.Random) -> str:
    seconds = rng.randint(1_500_000_000, 1_800_000_000)
    return str(seconds * rng.choice([1, 1000, 1_000_000, 1_000_000_000]) + rng.randint(0, 999))


def _version(rng: random.Random) -> str:
    a, b, c = rng.randint(0, 30), rng.randint(0, 40), rng.randint(0, 300)
    return rng.choice(
        [
            f"v{a}.{b}",
            f"{a}.{b}.{c}",
            f"v{a}.{b}.{c}",
            f"{a}.{b}.{c}-rc.{rng.randint(1, 9)}",
            f"{a}.{b}.{c}+build.{rng.randint(1, 99999)}",
            f"{rng.randint(2019, 2026)}.{rng.randint(1, 12):02d}.{rng.randint(1, 28):02d}",
            f"10.0.{rng.randint(10000, 26000)}.{rng.randint(1, 5000)}",
            f"orders-svc-{a}.{b}.{c}",
        ]
    )


def _dotted_version(rng: random.Random) -> str:
    """A four-part version number that could pass for an IPv4 address."""
    q = ".".join(str(rng.randint(0, 20)) for _ in range(4))
    return rng.choice([f"v{q}", f"{q}-rc1", f"{q}-SNAPSHOT", f"app/{q}", f"release-{q}", f"build {q}-beta"])


BARE_DOTTED_QUAD = "ipv4_like_version_bare"  # "1.2.3.4" alone: every digit of it is also a valid address


def _bare_dotted(rng: random.Random) -> str:
    return ".".join(str(rng.randint(0, 20)) for _ in range(4))


def _amount(rng: random.Random) -> str:
    v = rng.uniform(0, 10 ** rng.randint(1, 9))
    return rng.choice(
        [
            f"{v:.2f}",
            f"-{v:.2f}",
            f"+{v:.2f}",
            f"{v:,.2f}",
            f"EUR {v:.2f}",
            f"{v:.2f} USD",
            f"{int(v * 100)}",  # minor units
            f"{v:.6f}",
        ]
    )


def _order_id(rng: random.Random) -> str:
    return rng.choice(
        [
            f"ORD-{rng.randint(2019, 2026)}-{rng.randint(101, 1228):04d}-{rng.randint(0, 99999):05d}",
            f"ORD-{rng.randint(20190101, 20261228)}-{rng.randint(0, 999999):06d}",
            f"PO-{rng.randint(4500000000, 4599999999)}",
            f"INV/{rng.randint(2019, 2026)}/{rng.randint(0, 99999999):08d}",
            f"#{rng.randint(100000, 9999999)}",
            f"order_{rng.randint(10**12, 10**16)}",
            f"{rng.choice(['A', 'B', 'X'])}{rng.randint(10**12, 10**17)}",
        ]
    )


def _customer_id(rng: random.Random) -> str:
    return rng.choice(
        [
            f"cust-{rng.randint(10000, 99999)}",
            f"CUST_{rng.randint(0, 99999999):08d}",
            f"C-{rng.randint(0, 999999999):09d}",
            f"cus_{''.join(rng.choices(_B64, k=14))}",
            f"user:{rng.randint(1, 10**9)}",
            f"acct-{rng.randint(10**15, 10**16 - 1)}-{rng.choice('ABCDEFGH')}",
        ]
    )


def _base64(rng: random.Random) -> str:
    raw = rng.randbytes(rng.choice([12, 16, 18, 24, 32, 48]))
    encoded = (base64.b64encode if rng.random() < 0.5 else base64.urlsafe_b64encode)(raw).decode()
    return encoded if rng.random() < 0.7 else encoded.rstrip("=")


def _sku(rng: random.Random) -> str:
    return rng.choice(
        [
            f"SKU-{rng.randint(10000, 99999)}",
            f"SKU{rng.randint(10**10, 10**13)}",
            f"{''.join(rng.choices(string.ascii_uppercase, k=rng.randint(2, 4)))}-{rng.randint(0, 9999):04d}"
            f"-{''.join(rng.choices(string.ascii_uppercase, k=2))}",
            f"WIDGET-{rng.randint(1, 999):03d}",
            f"{''.join(rng.choices(string.ascii_uppercase, k=2))}{rng.randint(10, 99)}{rng.randint(10**9, 10**12)}",
        ]
    )


_GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "trace_id_hex32": lambda rng: _hex(rng, 32),
    "span_id_hex16": lambda rng: _hex(rng, 16),
    "traceparent": lambda rng: f"00-{_hex(rng, 32)}-{_hex(rng, 16)}-0{rng.choice('01')}",
    "xray_trace_id": lambda rng: f"1-{_hex(rng, 8)}-{_hex(rng, 24)}",
    "uuid": lambda rng: _uuid(rng) if rng.random() < 0.8 else _uuid(rng).upper(),
    "ulid": _ulid,
    "object_id_hex24": lambda rng: _hex(rng, 24),
    "sha256_hex": lambda rng: _hex(rng, 64),
    "order_id": _order_id,
    "customer_id": _customer_id,
    "iso_timestamp": _timestamp,
    "epoch": _epoch,
    "version": _version,
    "ipv4_like_version": _dotted_version,
    BARE_DOTTED_QUAD: _bare_dotted,
    "amount": _amount,
    "base64": _base64,
    "sku": _sku,
}
NON_PII_KINDS = tuple(_GENERATORS)


def non_pii(n: int, seed: int = 20240520) -> Iterator[tuple[str, str]]:
    """n (kind, value) pairs, kinds in turn (bare dotted quads at a tenth of the others' rate)."""
    rng = random.Random(seed)
    kinds = [k for k in NON_PII_KINDS if k != BARE_DOTTED_QUAD]
    for i in range(n):
        kind = BARE_DOTTED_QUAD if i % (10 * len(kinds)) == 0 else kinds[i % len(kinds)]
        yield kind, _GENERATORS[kind](rng)


# ---- labelled PII -----------------------------------------------------------------------------------

_CONTEXTS = [
    "{}",
    "{}",
    "contact: {}",
    "please use {} from now on",
    "({})",
    '"{}"',
    "{}, thanks",
    "value={}",
    "[{}]",
    "note - {}.",
    "<{}>",
    "#{}",
    "ref: {}",
    "{}\n",
    "Kunde {} (primär)",
    "{}; {}",
]


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choices(string.digits, k=length - len(prefix) - 1))
    doubled = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
    total = sum(doubled[int(d)] if i % 2 == 0 else int(d) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def _card(rng: random.Random) -> str:
    prefix, length = rng.choice(
        [("4", 16), ("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16),
         ("34", 15), ("37", 15), ("6011", 16), ("65", 16), ("644", 16), ("3528", 16), ("3589", 19), ("36", 14)]
    )  # fmt: skip
    number = _luhn_complete(prefix, length, rng)
    sep = rng.choice(["", " ", "-", "."])
    if not sep:
        return number
    if length == 15:  # Amex 4-6-5
        return sep.join([number[:4], number[4:10], number[10:]])
    if length == 14:  # Diners 4-6-4
        return sep.join([number[:4], number[4:10], number[10:]])
    return sep.join(number[i : i + 4] for i in range(0, length, 4))


def _ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    sep = rng.choice(["-", "-", " ", "."])
    return f"{area:03d}{sep}{rng.randint(1, 99):02d}{sep}{rng.randint(1, 9999):04d}"


def _iban(rng: random.Random) -> str:
    cc = rng.choice(["DE", "GB", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "IE", "PL", "SE", "PT", "DK",
                     "NO", "FI", "LU", "GR", "CZ", "RO", "HR", "BG", "SA", "AE", "TR", "BR", "MT", "XK"])  # fmt: skip
    classes = {"n": string.digits, "a": string.ascii_uppercase, "c": string.ascii_uppercase + string.digits}
    layout = BBAN_LAYOUTS[cc]
    bban, num = "", ""
    # Account numbers are mostly digits even where the layout allows letters; one in 10 mixes some in.
    alnum_pool = string.digits * 6 + string.ascii_uppercase if rng.random() < 0.1 else string.digits
    for ch in layout:
        if ch.isdigit():
            num += ch
        else:
            pool = alnum_pool if ch == "c" else classes[ch]
            bban += "".join(rng.choices(pool, k=int(num)))
            num = ""
    numeric = (bban + cc + "00").translate({ord(c): str(ord(c) - 55) for c in string.ascii_uppercase})
    iban = f"{cc}{98 - int(numeric) % 97:02d}{bban}"
    if rng.random() < 0.5:
        iban = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return iban.lower() if rng.random() < 0.3 else iban


def _nanp(rng: random.Random) -> tuple[str, str, str]:
    return str(rng.randint(200, 999)), str(rng.randint(200, 999)), f"{rng.randint(0, 9999):04d}"


def _phone(rng: random.Random) -> str:
    a, e, n = _nanp(rng)
    uk, fr = f"{rng.randint(1000, 9999)} {rng.randint(1000, 9999)}", [f"{rng.randint(0, 99):02d}" for _ in range(4)]
    mobile = f"{rng.randint(100000, 999999)}"
    return rng.choice(
        [
            f"({a}) {e}-{n}", f"{a}-{e}-{n}", f"{a}.{e}.{n}", f"{a} {e} {n}", f"({a}){e}-{n}", f"1-{a}-{e}-{n}",
            f"1 ({a}) {e}-{n}", f"+1 {a} {e} {n}", f"+1 ({a}) {e}-{n}", f"+1-{a}-{e}-{n}", f"+1{a}{e}{n}",
            f"+1.{a}.{e}.{n}", f"001 {a} {e} {n}", f"011 44 20 {uk}", f"+44 20 {uk}", f"+44 (0)20 {uk}",
            f"0044 20 {uk}", f"0044 (0)20 {uk}", f"020 {uk}", f"(020) {uk}", f"+44 7700 {mobile}",
            f"07700 {mobile}", f"07700 {mobile[:3]} {mobile[3:]}", f"0161 {mobile[:3]} {rng.randint(1000, 9999)}",
            f"+33 1 {' '.join(fr)}", f"01 {' '.join(fr)}", f"01.{'.'.join(fr)}", f"0033 1 {' '.join(fr)}",
            f"+49 30 {rng.randint(1000000, 9999999)}", f"+49-30-{rng.randint(100000, 999999)}",
            f"0049 30 {rng.randint(1000000, 9999999)}", f"030 {rng.randint(1000000, 9999999)}",
            f"+61 2 {uk}", f"02 {uk}", f"+39 06 {uk}", f"0039 06 {uk}",
        ]
    )  # fmt: skip


def _email(rng: random.Random) -> str:
    first = rng.choice(["jane", "o.brien", "li", "maria-luisa", "j_doe", "ops", "x", "anne.marie", "dev99"])
    local = rng.choice([first, f"{first}.{rng.randint(1, 99)}", f"{first}+{rng.choice(['news', 'tag-1', 'a.b'])}"])
    domain = rng.choice(["example.com", "mail.example.co.uk", "sub.dept.example.org", "my-shop.io", "ex4mple.museum"])
    address = f"{local}@{domain}"
    return address.upper() if rng.random() < 0.05 else address


def _ip(rng: random.Random) -> str:
    v4 = ".".join(str(rng.randint(0, 255)) for _ in range(4))
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    return rng.choice(
        [v4, v4, f"{v4}:{rng.randint(1, 65535)}", f"http://{v4}/health", ":".join(groups),
         f"2001:db8::{groups[0]}", f"fe80::{groups[1]}:{groups[2]}", f"[2001:db8::{groups[3]}]:443",
         f"::ffff:{v4}", f"client {v4} via 10.0.0.1"]
    )  # fmt: skip


_PII_GENERATORS: dict[PiiType, Callable[[random.Random], str]] = {
    PiiType.EMAIL: _email,
    PiiType.PHONE: _phone,
    PiiType.SSN: _ssn,
    PiiType.CREDIT_CARD: _card,
    PiiType.IBAN: _iban,
    PiiType.IP_ADDRESS: _ip,
}


def labelled_pii(per_type: int = 2000, seed: int = 20240520) -> Iterator[tuple[PiiType, str]]:
    """per_type (type, text) pairs for each PII type, the value alone or inside a short sentence."""
    rng = random.Random(seed)
    for pii_type, generate in _PII_GENERATORS.items():
        for _ in range(per_type):
            context = rng.choice(_CONTEXTS)
            yield pii_type, context.format(*(generate(rng) for _ in range(context.count("{}"))))

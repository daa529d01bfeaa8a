"""The guard: producer-controlled strings become safe tokens before we write them anywhere.

Every string a producer controls and that reaches a reason code, failure signature, incident title,
graph node, log line or summary -- topic, header values (schema id, producer service and version),
payload key names and field paths, enum values, pattern-mismatch values -- goes through `safe_token`
or `safe_path`. A value is kept as it is only when it is a *safe token*:

* at most `MAX_TOKEN` (64) characters of `[A-Za-z0-9._/+-]` (and `:` where a value may hold one, such
  as a schema id at the end of `UNKNOWN_SCHEMA:<id>`; never inside a field path);
* no PII type found by the detectors (`gates.pii_detectors.detect`);
* at most `MAX_DIGITS` (6) decimal digits in all, in any script (`_fold`: an SSN in fullwidth or
  Arabic-Indic digits is read as `123-45-6789`, by the detectors too). The shortest guarded value we
  know is a 7-digit local phone number; SSNs have 9 digits, cards 13-19, IBANs 12+. This also catches the formats the
  detectors do not recognise (`108181008`, `4155552671`, `108_18_1008`). The price: a
  calendar version such as `2024.01.15` is replaced too (stably, so a change is still a change).

Anything else becomes a stand-in `redacted-<TYPE>-<hash>`: TYPE is the detected PII type, `DIGITS`
(too many digits) or `TEXT` (other characters, or too long), and hash is 8 letters of an HMAC-SHA256 of
the value under the installation's key (`SIGNAL_FACTORY_REDACTION_KEY`; see `DEFAULT_KEY`). It is
stable (the same value gives the same stand-in, so failure signatures still group) and not reversible
without the key. The hash is spelt in consonants, never digits or `:`, so a stand-in is itself a safe
token: guarding twice changes nothing, and it fits inside `KIND:field[:value]`.

Caps (also in docs/privacy.md): a token is at most 64 characters, a field path at most `MAX_PATH`
(160); longer values become stand-ins, so a reason code is at most ~300 characters whatever the input.
An evidence keeps at most `MAX_REASON_CODES` reason codes and lists at most `MAX_OTHER_VIOLATIONS`
further G4 violations (G5 lists at most 10 findings), so without its payload it stays under 16 KB.

Cost: the signals stage guards every evidence it reads, and the strings repeat (reason codes, producer
ids and versions, dataset URNs, field paths), so each per-string function keeps a memo of at most
`MEMO_ENTRIES` results (a result depends only on the string and the key; `set_redaction_key` empties
them all; values over the caps are never memoised). See benchmarks/README.md (the signals stage).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from functools import lru_cache

from signal_factory.privacy.pii_detectors import detect
from signal_factory.settings import Settings

MAX_TOKEN = 64
MAX_PATH = 160
MAX_DIGITS = 6
#: Reason codes kept per evidence (first ones, in gate order) and G4 violations listed in its details.
MAX_REASON_CODES = 32
MAX_OTHER_VIOLATIONS = 20
#: Entries in each per-string memo (a result depends only on the string and the key).
MEMO_ENTRIES = 4096
#: Key used when `SIGNAL_FACTORY_REDACTION_KEY` is not set. Public, so stand-ins of guessable values
#: (a 9-digit SSN has 10^9) can be recomputed by anyone: set your own key in production.
DEFAULT_KEY = "signal-factory-default-redaction-key"
PREFIX = "redacted-"
DIGITS = "DIGITS"
TEXT = "TEXT"

_TOKEN = re.compile(r"[A-Za-z0-9._/+-]+")
_VALUE = re.compile(r"[A-Za-z0-9._/+:-]+")
_HASH_LETTERS = str.maketrans("0123456789abcdef", "bcdfghjkmnpqrstv")
_DIGIT_CHARS = b"0123456789"
_TEXT_PREFIX = f"{PREFIX}{TEXT}-"
_key: dict[str, bytes] = {}  # "key" -> the HMAC key, read once from the settings


def set_redaction_key(key: str | bytes | None) -> None:
    """Use this key for stand-ins (None: read `SIGNAL_FACTORY_REDACTION_KEY` again, else the default)."""
    _key.clear()
    if key is not None:
        _key["key"] = key.encode() if isinstance(key, str) else key
    _texts.clear()
    for cached in (_classify, _key_name, _path, _code):
        cached.cache_clear()


def _redaction_key() -> bytes:
    key = _key.get("key")
    if key is None:
        secret = Settings.from_env().redaction_key
        key = _key["key"] = (secret.reveal() if secret is not None else DEFAULT_KEY).encode()
    return key


def redaction_key() -> bytes:
    """The installation's key for keyed digests of values (stand-ins here, duplicate digests in
    contracts/aggregate.py): values are compared without being kept."""
    return _redaction_key()


def stand_in(value: str, kind: str) -> str:
    """`redacted-<kind>-<8 letters>`: a keyed, stable, non-reversible name for `value`."""
    data = value.encode("utf-8", "surrogatepass")
    digest = hmac.new(_redaction_key(), data, hashlib.sha256).hexdigest()[:8]
    return f"{PREFIX}{kind}-{digest.translate(_HASH_LETTERS)}"


class _AsciiDigits(dict[int, int | str]):
    """`str.translate` table: a digit of any script (Arabic-Indic, Devanagari, ...) -> its ASCII digit;
    other characters unchanged. Filled as characters are met (a full table is 0x110000 lookups)."""

    def __missing__(self, code: int) -> int | str:
        digit = unicodedata.digit(chr(code), None)
        value: int | str = code if digit is None else str(digit)
        self[code] = value
        return value


_ASCII_DIGITS = _AsciiDigits()


def _fold(text: str) -> str:
    """`text` as the checks read it: NFKC (fullwidth, superscript and circled digits, the fullwidth at sign) with every
    script's decimal digits as ASCII ones. Hot path: an ASCII string (`isascii` is O(1)) is returned
    as it is, so only non-ASCII values pay for the normalisation."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text).translate(_ASCII_DIGITS)


def _digits(text: str) -> int:
    raw = _fold(text).encode("ascii", "ignore")
    return len(raw) - len(raw.translate(None, _DIGIT_CHARS))


@lru_cache(maxsize=MEMO_ENTRIES)
def _classify(value: str, colon: bool) -> str:
    if len(value) > MAX_TOKEN:
        return stand_in(value, TEXT)  # no detector run over megabytes: long is reason enough
    probe = _fold(value)
    kind = detect(probe)
    if kind is not None:
        return stand_in(value, str(kind))
    if _digits(probe) > MAX_DIGITS:
        return stand_in(value, DIGITS)
    if (_VALUE if colon else _TOKEN).fullmatch(value) is None:
        return stand_in(value, TEXT)
    return value


def safe_token(value: str, *, colon: bool = True) -> str:
    """`value` if it is a safe token, else its stand-in. `colon=False` for a field-path segment."""
    if len(value) > MAX_TOKEN:  # before the cache: a 1 MB key must not be kept alive in it
        return stand_in(value, TEXT)
    return _classify(value, colon)


def safe_path(path: str) -> str:
    """A field path (`extra.notes`, `items[].sku`, `$`) with every unsafe segment replaced.

    Segments are guarded one by one (so `extra.<SSN>` stays readable as `extra.redacted-SSN-...`).
    The whole path becomes one stand-in instead when a key may span segments (a segment with other
    characters, such as the `doe@example` of a key `jane.doe@example.com`), when the guarded path still
    fails as a whole (digits spread over segments, as in a key `108.18.1008`), or when it is longer
    than `MAX_PATH`.
    """
    if path == "$":
        return path
    if len(path) > MAX_PATH:
        return stand_in(path, TEXT)
    return _path(path)


@lru_cache(maxsize=MEMO_ENTRIES)
def _path(path: str) -> str:
    if _classify(path.replace("[]", ""), False) == path.replace("[]", ""):
        return path
    parts = []
    for seg in path.split("."):
        bare = seg.rstrip("[]")
        guarded = safe_token(bare, colon=False) if bare else bare
        if guarded.startswith(_TEXT_PREFIX):
            return stand_in(path, _kind_of(path))
        parts.append(guarded + seg[len(bare):])
    out = ".".join(parts)
    if len(out) > MAX_PATH or _classify(out.replace("[]", ""), False) != out.replace("[]", ""):
        return stand_in(path, _kind_of(path))
    return out


def safe_key(key: str) -> str:
    """A payload key name in a stored payload copy: PII-looking or longer than 64 -> stand-in.

    Looser than `safe_token` (spaces and other characters are fine in a JSON key): only the PII checks
    and the length cap apply.
    """
    if len(key) > MAX_TOKEN:
        return stand_in(key, TEXT)
    if len(key) < 7 and key.isascii():
        return key  # 6 ASCII characters hold at most 6 digits and no PII the detectors know
    return _key_name(key)


@lru_cache(maxsize=MEMO_ENTRIES)
def _key_name(key: str) -> str:
    probe = _fold(key)
    kind = detect(probe)
    if kind is not None:
        return stand_in(key, str(kind))
    if _digits(probe) > MAX_DIGITS:
        return stand_in(key, DIGITS)
    return key


def _kind_of(value: str) -> str:
    kind = detect(_fold(value)) if len(value) <= MAX_PATH else None
    if kind is not None:
        return str(kind)
    return DIGITS if _digits(value) > MAX_DIGITS else TEXT


# -- names and free text from the other inflows (OpenLineage, posted evidence, S3 keys, deployment markers) --

#: Caps for a name (job, run id, dataset namespace or name, URN, S3 key) and a free text (an OpenLineage
#: facet string such as errorMessage, an evidence detail, a deployment description).
MAX_NAME = 256
MAX_TEXT = 1024
MAX_CODE = 300

# Digits that are not PII: ISO dates and times (a run id `spark-orders-silver-20240115-020005`, a DAG run
# `scheduled__2024-01-15T02:00:00+00:00`, a partition `bronze/orders/2024-01-14/` or `2024/01/15/`) and canonical UUIDs
# (OpenLineage run ids). They are masked before the digit runs are counted.
_DATE = r"(?:19|20)\d\d[-/]?(?:0[1-9]|1[0-2])[-/]?(?:0[1-9]|[12]\d|3[01])"
_TIME = r"(?:[01]\d|2[0-3]):?[0-5]\d(?::?[0-5]\d)?(?:[.,]\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?"
_NOT_PII = re.compile(
    rf"(?<!\d){_DATE}(?:[T_ -]?{_TIME})?(?!\d)"
    r"|(?<!\d)(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?:\.\d{1,9})?(?!\d)"
    r"|(?<![0-9A-Fa-f])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?![0-9A-Fa-f])")
# A run of digits as people write numbers: joined by at most two of ` ().-/_+` (`(415) 555-2671`,
# `4000.3167.8901.2343`, `DE89 3704 0044`, `108_18_1008`).
_DIGIT_RUN = re.compile(r"\d(?:[ ().\-/_+]{0,2}\d)*")
_EMAIL = re.compile(r"[^\s@]@[^\s@]+\.[A-Za-z]{2,}")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# An ISO-8601 event time as evidence carries it: masked whole by `_NOT_PII`, and a timestamp shape that
# `detect` skips (a year 19xx/20xx never starts with 0), so `_text_checks` always keeps it.
_EVENT_TIME = re.compile(r"(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
                         r"(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?", re.ASCII)
_texts: dict[str, str] = {}  # safe_text's memo: value -> what is shown
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def longest_digit_run(text: str) -> int:
    """The most digits in one written number of `text`, dates, times and UUIDs left out."""
    masked = _NOT_PII.sub("x", _fold(text))
    return max((_digits(m.group()) for m in _DIGIT_RUN.finditer(masked)), default=0)


def safe_text(value: str, *, limit: int = MAX_NAME) -> str:
    """A name or free text from another inflow: `value` if it holds no guarded value, else its stand-in.

    Looser than `safe_token` (any printable characters, dates and UUIDs, up to `limit` characters, so
    `s3://data-lake-prod/bronze/orders/2024-01-14/` and `Direct passthrough with enum validation` stay
    readable); stricter where it matters: no PII type found by the detectors, nothing shaped like an
    email, no written number of more than `MAX_DIGITS` digits, no control character but tab and newline.
    """
    if len(value) > limit:
        return stand_in(value, TEXT)
    shown = _texts.get(value)
    if shown is None:
        if _EVENT_TIME.fullmatch(value):
            return value  # every evidence has a new one: not memoised (the checks below would keep it too)
        shown = _classify_text(value)
        if len(_texts) >= MEMO_ENTRIES:
            _texts.clear()  # unique values (event times, run ids) fill it: start again, no LRU bookkeeping
        _texts[value] = shown
    return shown


def _classify_text(value: str) -> str:
    if value.startswith(PREFIX) and _TOKEN.fullmatch(value):
        return value  # already a stand-in
    if value[:1] in _HEX_DIGITS and value.isascii():
        # (ASCII only: `\d` also matches other scripts' digits, which the full checks fold first.)
        # A date, time or UUID alone (an event time, a run id): kept when the masking of
        # `longest_digit_run` covers all of it and the detectors find nothing -- the verdict of the checks
        # below (no control character, no `@`, no digit left), at half their cost.
        m = _NOT_PII.match(value)
        if m is not None and m.end() == len(value):
            kind = detect(value)
            return value if kind is None else stand_in(value, str(kind))
    return _text_checks(value)


def _text_checks(value: str) -> str:
    if _CONTROL.search(value):
        return stand_in(value, TEXT)
    probe = _fold(value)
    kind = detect(probe)
    if kind is not None:
        return stand_in(value, str(kind))
    if "@" in probe and _EMAIL.search(probe):
        return stand_in(value, "EMAIL")
    if longest_digit_run(probe) > MAX_DIGITS:
        return stand_in(value, DIGITS)
    return value


def safe_code(code: str) -> str:
    """A reason code or failure signature `KIND:field[:value...]` from another inflow, guarded like the
    enforcer's own: the kind and each value as a token, the field as a path, so a guarded code still
    names its kind and field (`UNKNOWN_ENUM:discount_type:redacted-SSN-...`) and groups stably."""
    if len(code) > MAX_CODE:
        return stand_in(code, TEXT)
    return _code(code)


@lru_cache(maxsize=MEMO_ENTRIES)
def _code(code: str) -> str:
    kind, sep, rest = code.partition(":")
    if safe_token(kind, colon=False) != kind:
        return stand_in(code, _kind_of(code))
    if not sep:
        return kind
    parts = rest.split(":")
    guarded = [safe_path(parts[0]) if parts[0] else ""] + [safe_token(p, colon=False) if p else p for p in parts[1:]]
    kept = ":".join(g for g in guarded if not g.startswith(PREFIX))
    if _digits(kept) > MAX_DIGITS or detect(_fold(kept)) is not None:  # digits or PII spread over the parts
        return f"{kind}:{stand_in(rest, _kind_of(rest))}"
    return ":".join([kind, *guarded])

"""Object bytes -> rows, by extension (then content type): JSON lines, CSV with a header, Parquet.

Pure: bytes in, rows out. A line that is not JSON is a `BadRow` (it counts as a failed row); a whole
object that cannot be read raises `UnreadableObject`, which the ingester turns into FAIL evidence.
CSV cells are text, so they are coerced to the contract's logical types first (an empty cell is a
missing field), else every numeric column would fail its type check.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from signal_factory.contracts.rules import CompiledContract
from signal_factory.model.nesting import MAX_DEPTH, may_be_too_deep, too_deep
from signal_factory.sources.lines import split_lines

JSONL = "jsonl"
CSV = "csv"
PARQUET = "parquet"

_BY_EXTENSION = {".jsonl": JSONL, ".ndjson": JSONL, ".json": JSONL, ".csv": CSV, ".parquet": PARQUET, ".pq": PARQUET}
_BY_CONTENT_TYPE = {"application/x-ndjson": JSONL, "application/jsonl": JSONL, "application/json": JSONL,
                    "text/csv": CSV, "application/vnd.apache.parquet": PARQUET, "application/x-parquet": PARQUET}
_INT = re.compile(r"^[+-]?\d+$")
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}
_TOO_DEEP: Any = object()


class UnreadableObject(Exception):  # noqa: N818 - a value-carrying signal inside this package, not an API error
    """The object's bytes could not be parsed at all. `reason` becomes `OBJECT_UNREADABLE:<reason>`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that could not be decoded (its line number is 1-based)."""

    reason_code: str
    line: int


def detect_format(key: str, content_type: str | None) -> str:
    lower = key.lower()
    for ext, fmt in _BY_EXTENSION.items():
        if lower.endswith(ext):
            return fmt
    base = (content_type or "").split(";")[0].strip().lower()
    found = _BY_CONTENT_TYPE.get(base)
    if found is None:
        raise UnreadableObject("format", f"cannot tell the format of {key!r} (content type {content_type!r}); "
                                         "expected .jsonl/.ndjson/.json, .csv or .parquet")
    return found


def read_rows(data: bytes, fmt: str, contract: CompiledContract | None) -> list[Any]:
    if fmt == JSONL:
        return _jsonl(data)
    if fmt == CSV:
        return _csv(data, contract)
    return _parquet(data)


def _jsonl(data: bytes) -> list[Any]:
    stripped = data.lstrip()
    if stripped.startswith(b"["):  # a .json file holding one array of rows
        try:
            rows = msgspec.json.decode(stripped)
        except msgspec.DecodeError as e:
            raise UnreadableObject("json", f"object is a JSON array that does not parse: {e}") from e
        except RecursionError:
            raise UnreadableObject("depth", f"object nests deeper than {MAX_DEPTH} levels") from None
        if not isinstance(rows, list):
            return [rows]
        return [BadRow("MALFORMED_ROW:depth", i + 1) if too_deep(row) else row
                for i, row in enumerate(rows)]
    out: list[Any] = []
    for number, line in split_lines(data):
        try:
            row = msgspec.json.decode(line)
        except msgspec.DecodeError:
            out.append(BadRow("MALFORMED_ROW:json", number))
            continue
        except RecursionError:
            row = _TOO_DEEP
        if row is _TOO_DEEP or (may_be_too_deep(line) and too_deep(row)):
            out.append(BadRow("MALFORMED_ROW:depth", number))
            continue
        out.append(row)
    return out


def _csv(data: bytes, contract: CompiledContract | None) -> list[Any]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UnreadableObject("encoding", f"CSV is not UTF-8: {e}") from e
    types = {r.name: r.logical_type for r in contract.rules} if contract is not None else {}
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        return []
    out: list[Any] = []
    try:
        for number, row in enumerate(reader, start=2):
            if None in row:  # more cells than header columns
                out.append(BadRow("MALFORMED_ROW:csv", number))
                continue
            out.append({k: _coerce(v, types.get(k)) for k, v in row.items() if v not in ("", None)})
    except csv.Error as e:
        raise UnreadableObject("csv", f"CSV does not parse: {e}") from e
    return out


def _coerce(value: str, logical_type: str | None) -> Any:
    try:
        if logical_type == "integer" and _INT.match(value):
            return int(value)
        if logical_type == "number":
            return int(value) if _INT.match(value) else float(value)
        if logical_type == "boolean" and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        if logical_type in ("object", "array"):
            return msgspec.json.decode(value)
    except (ValueError, msgspec.DecodeError, RecursionError):
        pass  # left as text: the contract's type check reports it
    return value


def _parquet(data: bytes) -> list[Any]:
    try:
        import pyarrow as pa  # noqa: PLC0415 - optional dependency, only for Parquet objects
        import pyarrow.parquet as pq  # noqa: PLC0415
    except ImportError as e:
        raise UnreadableObject("parquet-unsupported", "reading Parquet needs pyarrow: pip install pyarrow") from e
    try:
        rows: list[dict[str, Any]] = pq.read_table(pa.BufferReader(data)).to_pylist()
    except (pa.ArrowException, OSError, ValueError) as e:
        raise UnreadableObject("parquet", f"Parquet does not parse: {e}") from e
    return [{k: _plain(v) for k, v in row.items() if v is not None} for row in rows]  # null = missing, as CSV


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value

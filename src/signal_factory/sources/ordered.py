"""Record files merged in event-time order, in bounded memory (the input of `replay`).

Ordering guarantee. Each record is keyed by its event time (an untimed or malformed record takes the
time of the record before it in its file, so it keeps its place), then by file position (the order
the files were given, then the line). Each file is read line by line through a reorder buffer of
`window` records (a heap): a record is put in its place among the next `window` records of its file.
The files' streams are then merged (`heapq.merge`, one record per file in hand). So the output is
exactly the stable event-time sort of all records whenever no record of a file is more than `window`
records away from its sorted place - true of every file `kcat` writes from one partition, of
`benchmarks.gen_orders` and of every example file (all sorted: 0 records out of place). A record
further out of place is replayed where the window releases it, as a late record: the signal engines
then apply their own lateness rules (watermark and allowed lateness) to it, exactly as to late data
arriving from Kafka. The order is a pure function of the bytes and the `window`, so a checkpoint (a
count of records in this order) resumes the same stream.

Memory: at most `window` parsed records per file (split across the files: `window` is a total) plus
one line being read - independent of the input's length.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from signal_factory.model.records import MalformedInput, RawRecord
from signal_factory.sources.jsonlines import parse_line
from signal_factory.sources.lines import numbered_lines

#: Records held for reordering, over all files together (about 4 KB each in memory).
DEFAULT_WINDOW = 20_000
_MIN_WINDOW_PER_FILE = 1_000

Record = RawRecord | MalformedInput
_Keyed = tuple[int, int, int, Record]  # (event time, file index, record index in file, record)


@dataclass(frozen=True)
class InputScan:
    """What one cheap pass over the bytes (no parsing) tells: how many records, and the input's identity."""

    records: int
    source_key: str  # "replay:" + sha256 over each file's sha256, in order: the checkpoint's name


def scan_files(files: Sequence[Path]) -> InputScan:
    """Count the records (non-blank lines) and hash the bytes of `files`, reading line by line."""
    digest = hashlib.sha256()
    count = 0
    for path in files:
        file_hash = hashlib.sha256()
        with path.open("rb") as fh:
            for raw in fh:
                file_hash.update(raw)
                if not raw.isspace():  # bytes.isspace: the same ASCII whitespace as bytes.strip()
                    count += 1
        digest.update(file_hash.digest())
    return InputScan(count, "replay:" + digest.hexdigest())


def _file_stream(path: Path, index: int, window: int, default_topic: str | None) -> Iterator[_Keyed]:
    """One file's records through a reorder heap of `window` records, keyed as the module says."""
    heap: list[_Keyed] = []
    last_ts = 0
    position = 0
    push, pushpop = heapq.heappush, heapq.heappushpop
    with path.open("rb") as fh:
        for number, line in numbered_lines(fh):
            rec = parse_line(line, f"{path}:{number}", default_topic)
            if rec.timestamp_ms is not None:
                last_ts = rec.timestamp_ms
            item = (last_ts, index, position, rec)
            position += 1
            if len(heap) < window:
                push(heap, item)
            else:
                yield pushpop(heap, item)
    while heap:
        yield heapq.heappop(heap)


def ordered_records(files: Sequence[Path], default_topic: str | None = None, *,
                    window: int = DEFAULT_WINDOW) -> Iterator[Record]:
    """All records of `files` in event-time order (see the module docstring for the exact guarantee),
    streamed: memory is bounded by `window`, not by the input."""
    per_file = max(_MIN_WINDOW_PER_FILE, window // max(len(files), 1))
    streams = [_file_stream(path, i, per_file, default_topic) for i, path in enumerate(files)]
    # Keys are unique (file index, position), so tuples never compare the records themselves.
    for item in heapq.merge(*streams):
        yield item[3]

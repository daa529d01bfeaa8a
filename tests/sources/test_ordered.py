"""`ordered_records`: replay order streamed in bounded memory equals the stable event-time sort."""

from __future__ import annotations

import json
import random
from pathlib import Path

from signal_factory.model.records import MalformedInput, RawRecord
from signal_factory.sources.jsonlines import parse_line
from signal_factory.sources.ordered import ordered_records, scan_files


def _write(path: Path, stamps: list[int | None]) -> Path:
    lines = []
    for i, ts in enumerate(stamps):
        rec: dict[str, object] = {"topic": "t", "partition": 0, "offset": i, "value": {"n": i}}
        if ts is not None:
            rec["timestamp"] = ts
        lines.append(json.dumps(rec) if i % 50 != 7 else "not json")
    path.write_text("\n".join(lines) + "\n\n")
    return path


def _full_sort(files: list[Path]) -> list[RawRecord | MalformedInput]:
    """The previous implementation: load everything, stable sort on (carried event time, input position)."""
    keyed = []
    for path in files:
        last = 0
        for number, line in enumerate(path.read_bytes().split(b"\n"), start=1):
            if line.strip():
                rec = parse_line(line.strip(), f"{path}:{number}")
                last = rec.timestamp_ms if rec.timestamp_ms is not None else last
                keyed.append((last, len(keyed), rec))
    keyed.sort(key=lambda t: (t[0], t[1]))
    return [r for _, _, r in keyed]


def test_sorted_files_merge_exactly_like_the_full_sort(tmp_path: Path) -> None:
    """Three sorted files with interleaved times, untimed and malformed lines: the same order as a full sort."""
    rng = random.Random(3)
    files = [_write(tmp_path / f"f{k}.jsonl",
                    [*sorted(rng.randrange(1_000_000) for _ in range(700)), None, None])
             for k in range(3)]
    assert list(ordered_records(files, window=3000)) == _full_sort(files)


def test_disorder_within_the_window_is_sorted(tmp_path: Path) -> None:
    """A file whose records are at most a few hundred places out of order comes out fully sorted."""
    rng = random.Random(4)
    stamps: list[int | None] = [i * 10 + rng.randrange(3000) for i in range(3000)]
    path = _write(tmp_path / "jitter.jsonl", stamps)
    assert list(ordered_records([path], window=1000)) == _full_sort([path])


def test_disorder_beyond_the_window_is_late_but_nothing_is_lost(tmp_path: Path) -> None:
    """A record far out of place comes out late (not sorted), every record exactly once, same order each run."""
    stamps: list[int | None] = [*range(1000, 4000), 5]
    path = _write(tmp_path / "late.jsonl", stamps)
    got = list(ordered_records([path], window=1000))
    assert sorted(r.origin for r in got) == sorted(r.origin for r in _full_sort([path]))
    assert got != _full_sort([path])
    late = [i for i, r in enumerate(got) if r.timestamp_ms == 5]
    assert late == [len(got) - 1001]  # released as it entered the full window, ahead of the 1,000 held
    assert got == list(ordered_records([path], window=1000))


def test_scan_counts_records_and_names_the_input_by_its_bytes(tmp_path: Path) -> None:
    """The count skips blank lines; the key changes with the bytes and with the file order."""
    a = _write(tmp_path / "a.jsonl", [1, 2, 3])
    b = _write(tmp_path / "b.jsonl", [4])
    assert scan_files([a, b]).records == 4
    assert scan_files([a, b]).source_key != scan_files([b, a]).source_key
    key = scan_files([a]).source_key
    _write(a, [1, 2, 4])
    assert scan_files([a]).source_key != key

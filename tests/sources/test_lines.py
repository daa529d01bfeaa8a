"""The one line rule: split at \\n only, strip whitespace (so \\r\\n), skip blank lines but count them."""

from __future__ import annotations

import io
from pathlib import Path

from signal_factory.runtime.replay import load_records
from signal_factory.service import _batches
from signal_factory.sources.lines import numbered_lines, split_lines

DATA = (b'{"topic":"t","value":{"a":1}}\r\n\n  \n{"topic":"t",\r"value":{"b":2}}\n'
        b'{"topic":"t","value":{"c":3}}\r\r\n\x0b{"topic":"t","value":{"d":4}}')


def test_split_lines_numbers_every_line_and_skips_blanks() -> None:
    """A bare \\r stays inside its line; \\r\\n and other edge whitespace are stripped; numbering counts blanks."""
    got = list(split_lines(DATA))
    assert [n for n, _ in got] == [1, 4, 5, 6]
    assert got[1][1] == b'{"topic":"t",\r"value":{"b":2}}'
    assert got[2][1] == b'{"topic":"t","value":{"c":3}}'


def test_a_binary_stream_gives_the_same_lines_as_a_buffer() -> None:
    """Iterating a file (what `enforce` does) and splitting the bytes (replay, HTTP, S3) agree."""
    assert list(numbered_lines(io.BytesIO(DATA))) == list(split_lines(DATA))


def test_enforce_and_replay_read_the_same_records(tmp_path: Path) -> None:
    """The same file gives the same records, with the same origins, to `enforce` and to `replay`."""
    path = tmp_path / "in.jsonl"
    path.write_bytes(DATA)
    enforced = [r for batch in _batches(path, None, 100, None) for r in batch]
    replayed, _ = load_records([path])
    assert [r.origin for r in enforced] == [f"{path}:{n}" for n in (1, 4, 5, 6)]
    assert sorted(r.origin for r in replayed) == sorted(r.origin for r in enforced)
    assert len(enforced) == 4

"""The one line rule for every JSON-lines input: `enforce`, `replay`, HTTP ingest bodies, S3 objects.

A line ends at `\\n` and nowhere else; surrounding ASCII whitespace (so the `\\r` of `\\r\\n`) is stripped;
blank lines are skipped but still numbered. A bare `\\r` inside a line is part of the line (JSON treats
it as whitespace between tokens), so the same bytes give the same records - and the same evidence
ids, which the line number feeds - whichever path reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def numbered_lines(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, stripped line) for each non-blank line of `lines`, which must already be
    split at `\\n` only (iterating a file opened in binary mode does exactly that)."""
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if line:
            yield number, line


def split_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """`numbered_lines` of a whole buffer."""
    return numbered_lines(data.split(b"\n"))

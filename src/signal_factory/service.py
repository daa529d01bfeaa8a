"""Service facade: the one place CLI and HTTP API call to do work (no IO decisions in the core)."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from signal_factory.controlplane.loader import ControlPlane, load_control_plane
from signal_factory.enforcer.factory import build_enforcer
from signal_factory.enforcer.pipeline import EnforceBatch
from signal_factory.model.evidence import FAIL, PASS, WARN, encode_evidence_lines
from signal_factory.model.records import MalformedInput, RawRecord
from signal_factory.settings import Settings
from signal_factory.sources.jsonlines import parse_line
from signal_factory.sources.lines import numbered_lines

_PROGRESS_MIN_BYTES = 2_000_000


@dataclass
class DatasetTally:
    passed: int = 0
    warned: int = 0
    failed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return self.passed + self.warned + self.failed

    def top_reasons(self, n: int) -> list[tuple[str, int]]:
        return self.reasons.most_common(n)


@dataclass
class EnforceSummary:
    datasets: dict[str, DatasetTally] = field(default_factory=dict)
    records: int = 0
    sampled_out: int = 0
    seconds: float = 0.0

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def add(self, batch: EnforceBatch) -> None:
        for ev in batch.evidence:
            row = self.datasets.setdefault(ev.dataset_urn, DatasetTally())
            result = ev.validation.result
            if result == PASS:
                row.passed += 1
            elif result == WARN:
                row.warned += 1
            elif result == FAIL:
                row.failed += 1
            row.reasons.update(ev.validation.reason_codes)
        for t in batch.tallies:
            self.datasets.setdefault(t.dataset_urn, DatasetTally()).passed += t.count
            self.sampled_out += t.count
        self.records += batch.count()


class EnforceService:
    def __init__(self, control_plane: ControlPlane, settings: Settings | None = None) -> None:
        self.cp = control_plane
        self.settings = settings or Settings.from_env()
        self.enforcer = build_enforcer(control_plane, self.settings)

    @classmethod
    def from_config(cls, config_dir: Path) -> EnforceService:
        return cls(load_control_plane(config_dir))

    def enforce_files(self, files: list[Path], sink: BinaryIO, *, default_topic: str | None = None,
                      batch_size: int = 1000, console: Console | None = None) -> EnforceSummary:
        summary = EnforceSummary()
        started = time.perf_counter()
        total_bytes = sum(p.stat().st_size for p in files if str(p) != "-" and p.exists())
        show = console is not None and total_bytes >= _PROGRESS_MIN_BYTES
        with Progress(TextColumn("[bold]enforcing[/bold] {task.description}"), BarColumn(),
                      DownloadColumn(), TimeRemainingColumn(), console=console, disable=not show,
                      transient=True) as progress:
            task = progress.add_task("", total=total_bytes or None)
            for path in files:
                progress.update(task, description=str(path))
                for batch in _batches(path, default_topic, batch_size, lambda n: progress.advance(task, n)):
                    result = self.enforcer.process(batch)
                    sink.write(encode_evidence_lines(result.evidence))
                    summary.add(result)
        summary.seconds = time.perf_counter() - started
        return summary


def _batches(path: Path, default_topic: str | None, size: int,
             advance: object) -> Iterator[list[RawRecord | MalformedInput]]:
    name = "stdin" if str(path) == "-" else str(path)
    stream = sys.stdin.buffer if str(path) == "-" else path.open("rb")
    batch: list[RawRecord | MalformedInput] = []
    consumed = [0]

    def counted() -> Iterator[bytes]:
        for raw in stream:  # a binary stream yields lines split at b"\n" only: the `sources.lines` rule
            consumed[0] += len(raw)
            yield raw

    try:
        for number, line in numbered_lines(counted()):
            batch.append(parse_line(line, f"{name}:{number}", default_topic))
            if len(batch) >= size:
                yield batch
                batch = []
                if callable(advance):
                    advance(consumed[0])
                consumed[0] = 0
        if batch:
            yield batch
        if callable(advance):
            advance(consumed[0])
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()

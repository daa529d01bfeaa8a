"""PII detector precision, recall and speed, before vs after, in one run.

    python -m benchmarks.bench_pii                      # 1,000,000 non-PII values, 3,000 PII texts per type
    python -m benchmarks.bench_pii --count 100000 --before-ref none

Precision: `detect_all` on seeded realistic non-PII values (`pii_corpus.non_pii`); every type it reports
is a false positive. Recall: the share of labelled PII texts (`pii_corpus.labelled_pii`) in which
`detect_all` finds the labelled type. Speed: `detect` over every value and over the strings G5 scans in
`gen_orders` records (the enforcer's hot-path mix), CPU time, best of 5 with before/after interleaved.
"Before" is `src/signal_factory/privacy/pii_detectors.py` at --before-ref (default main), loaded from git.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import types
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.gen_orders import generate
from benchmarks.pii_corpus import BARE_DOTTED_QUAD, labelled_pii, non_pii
from signal_factory.privacy import pii_detectors
from signal_factory.privacy.pii_detectors import PiiType

_MODULE_PATH = "src/signal_factory/privacy/pii_detectors.py"
_ROOT = Path(__file__).resolve().parent.parent

Detector = Callable[[str], object]


def _load_before(ref: str) -> types.ModuleType | None:
    """The detector module at git ref, or None if it cannot be loaded or equals the current one."""
    try:
        source = subprocess.run(
            ["git", "show", f"{ref}:{_MODULE_PATH}"], cwd=_ROOT, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    if source == (_ROOT / _MODULE_PATH).read_text():
        return None
    module = types.ModuleType(f"pii_detectors_{ref}")
    sys.modules[module.__name__] = module
    exec(compile(source, f"{ref}:{_MODULE_PATH}", "exec"), module.__dict__)  # the project's own code at ref
    return module


def _false_positives(detect_all: Detector, values: list[tuple[str, str]]) -> tuple[Counter[str], Counter[str]]:
    """(FPs per PII type, FPs per (type, generator kind))."""
    per_type: Counter[str] = Counter()
    per_kind: Counter[str] = Counter()
    for kind, value in values:
        for found in detect_all(value):  # type: ignore[attr-defined]
            per_type[str(found)] += 1
            per_kind[f"{found} <- {kind}"] += 1
    return per_type, per_kind


def _recall(detect_all: Detector, corpus: list[tuple[PiiType, str]]) -> dict[str, tuple[int, int]]:
    """type -> (found, total); found means the labelled type is among detect_all's answers."""
    out: dict[str, list[int]] = {}
    for pii_type, text in corpus:
        cell = out.setdefault(str(pii_type), [0, 0])
        cell[0] += str(pii_type) in {str(t) for t in detect_all(text)}  # type: ignore[attr-defined]
        cell[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def _record_strings(count: int) -> list[str]:
    """The strings G5 scans in `gen_orders` records (payload and metadata leaves of >= 7 characters)."""
    out: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            if len(node) >= 7:
                out.append(node)
        elif isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for line in generate(count):
        event = json.loads(json.loads(line)["payload"])
        walk(event.get("payload"))
        walk(event.get("metadata"))
    return out


def _ns_per_value(sides: list[tuple[str, types.ModuleType]], texts: list[str]) -> dict[str, float]:
    """ns per detect() call for each side, best of 5, the sides interleaved (CPU time of this thread)."""
    best = {name: float("inf") for name, _ in sides}
    for _ in range(5):
        for name, module in sides:
            detect = module.detect
            t0 = time.thread_time()
            for text in texts:
                detect(text)
            best[name] = min(best[name], time.thread_time() - t0)
    return {name: t / len(texts) * 1e9 for name, t in best.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000, help="non-PII values (default 1,000,000)")
    parser.add_argument("--per-type", type=int, default=3000, help="labelled PII texts per type (default 3,000)")
    parser.add_argument("--records", type=int, default=20_000, help="gen_orders records for the hot-path mix")
    parser.add_argument("--seed", type=int, default=20240520)
    parser.add_argument("--before-ref", default="main", help="git ref for the 'before' column, or 'none'")
    args = parser.parse_args(argv)

    console = Console(width=120)
    values = list(non_pii(args.count, args.seed))
    corpus = list(labelled_pii(args.per_type, args.seed))
    before = None if args.before_ref == "none" else _load_before(args.before_ref)
    kinds = Counter(kind for kind, _ in values)
    console.print(
        f"{len(values):,} non-PII values ({len(kinds)} kinds, seed {args.seed}); "
        f"{len(corpus):,} labelled PII texts; before = "
        + (f"{args.before_ref}:{_MODULE_PATH}" if before else "not measured (same source or no git ref)")
    )

    sides: list[tuple[str, types.ModuleType]] = [("after", pii_detectors)]
    if before is not None:
        sides.insert(0, ("before", before))
    fps = {name: _false_positives(mod.detect_all, values) for name, mod in sides}
    recalls = {name: _recall(mod.detect_all, corpus) for name, mod in sides}
    record_strings = _record_strings(args.records)
    speeds = {
        "non-PII values": _ns_per_value(sides, [v for _, v in values]),
        f"strings of {args.records:,} gen_orders records ({len(record_strings):,})": _ns_per_value(
            sides, record_strings
        ),
        "labelled PII texts": _ns_per_value(sides, [t for _, t in corpus]),
    }

    table = Table(title="PII detectors: false positives on non-PII values, recall on labelled PII")
    table.add_column("type")
    for name, _ in sides:
        table.add_column(f"FP {name}", justify="right")
    for name, _ in sides:
        table.add_column(f"recall {name}", justify="right")
    for pii_type in PiiType:
        t = str(pii_type)
        row = [t, *(f"{fps[name][0][t]:,}" for name, _ in sides)]
        for name, _ in sides:
            found, total = recalls[name].get(t, (0, 0))
            row.append(f"{found / total:.4f} ({total - found:,} missed)" if total else "-")
        table.add_row(*row)
    console.print(table)

    speed = Table(title="detect() cost, ns per value (thread CPU time, best of 5, sides interleaved)")
    speed.add_column("input")
    for name, _ in sides:
        speed.add_column(name, justify="right")
    if before is not None:
        speed.add_column("after / before", justify="right")
    for label, per_side in speeds.items():
        ratio = [f"{per_side['after'] / per_side['before']:.2f}"] if before is not None else []
        speed.add_row(label, *(f"{per_side[name]:,.0f}" for name, _ in sides), *ratio)
    console.print(speed)

    kinds_table = Table(title="after: false positives by generator kind (type <- kind: count of values of that kind)")
    kinds_table.add_column("type <- kind")
    kinds_table.add_column("FPs", justify="right")
    kinds_table.add_column("values of the kind", justify="right")
    for key, n in sorted(fps["after"][1].items(), key=lambda kv: -kv[1]):
        kinds_table.add_row(key, f"{n:,}", f"{kinds[key.split(' <- ')[1]]:,}")
    if fps["after"][1]:
        console.print(kinds_table)
        if any(key.endswith(BARE_DOTTED_QUAD) for key in fps["after"][1]):
            console.print(f"({BARE_DOTTED_QUAD}: a bare '1.2.3.4' is a valid IPv4 address; no detector can tell.)")
    else:
        console.print("after: no false positives of any type")


if __name__ == "__main__":
    main()

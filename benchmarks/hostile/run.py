"""Run the hostile corpus through the real `signal-factory enforce` CLI and print what came out.

    python -m benchmarks.hostile.run                 # 10,000 lines (10 classes x 1,000) + the 1 MB line

Prints the corpus size and classes, crashes (a non-zero exit, a traceback, or a record without
evidence: target 0), evidence in = records in per class (line i of the corpus must be evidence i), the
verdicts and top reason codes per class, whether any evidence still holds a NUL, and the enforce
process's peak RSS for the whole corpus and for the 1 MB line alone (`os.wait4` rusage of the child).
PASS sampling is switched off in a copy of `examples/orders`, so every record has its own evidence.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import msgspec

from benchmarks.hostile.corpus import CLASSES, PER_CLASS, SEED, big_line, corpus, write

ROOT = Path(__file__).resolve().parents[2]
_CLI = "from signal_factory.cli.main import main; main()"


@dataclass
class Run:
    exit_code: int
    stderr: str
    seconds: float
    peak_rss_mb: float
    evidence: list[dict[str, object]]
    out_bytes: int
    longest_line: int


def _config(tmp: Path) -> Path:
    cfg = tmp / "config"
    shutil.copytree(ROOT / "examples" / "orders", cfg)
    settings = cfg / "signal-factory.yaml"
    text = re.sub(r"pass_sample_rates: \{[^}]*\}", "pass_sample_rates: {1: 1.0, 2: 1.0, 3: 1.0}",
                  settings.read_text())
    settings.write_text(text)
    return cfg


def enforce(path: Path, cfg: Path, out: Path) -> Run:
    """`signal-factory enforce PATH` in a child process; its exit code, stderr, time and peak RSS."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "SIGNAL_FACTORY_HOME": str(out.parent / "home")}
    started = time.perf_counter()
    with open(out.with_suffix(".stderr"), "wb") as err:
        child = subprocess.Popen([sys.executable, "-c", _CLI, "enforce", str(path), "-c", str(cfg), "-o", str(out),
                                  "-q"], stdout=subprocess.DEVNULL, stderr=err, cwd=out.parent, env=env)
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    data = out.read_bytes() if out.exists() else b""
    lines = data.splitlines()
    return Run(child.returncode, out.with_suffix(".stderr").read_text(errors="replace"), seconds,
               usage.ru_maxrss / 1024, [msgspec.json.decode(line) for line in lines], len(data),
               max((len(line) for line in lines), default=0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--per-class", type=int, default=PER_CLASS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--big-bytes", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sf-hostile-") as name:
        tmp = Path(name)
        cfg = _config(tmp)
        lines = corpus(args.per_class, args.seed)
        path = tmp / "hostile.jsonl"
        write(path, lines)
        big = tmp / "big.jsonl"
        big.write_bytes(big_line(args.big_bytes) + b"\n")
        main_run = enforce(path, cfg, tmp / "evidence.jsonl")
        if main_run.exit_code:
            print(main_run.stderr[-3000:], file=sys.stderr)
        big_run = enforce(big, cfg, tmp / "big-evidence.jsonl")
        return report(lines, path.stat().st_size, main_run, big_run, big.stat().st_size)


def report(lines: list[tuple[str, bytes]], size: int, run: Run, big: Run, big_size: int) -> int:
    print(f"corpus: {len(lines):,} lines, {size:,} bytes, {len(CLASSES)} classes "
          f"(seed {SEED}; python -m benchmarks.hostile.corpus writes the same bytes)")
    print(f"enforce: exit {run.exit_code}, {run.seconds:.2f}s, peak RSS {run.peak_rss_mb:.0f} MB, "
          f"evidence {run.out_bytes:,} bytes, longest evidence line {run.longest_line:,} bytes")
    per_class: dict[str, Counter[str]] = {}
    codes: dict[str, Counter[str]] = {}
    for i, (cls, _) in enumerate(lines):
        tally = per_class.setdefault(cls, Counter())
        tally["in"] += 1
        if i < len(run.evidence):
            validation = run.evidence[i]["validation"]
            assert isinstance(validation, dict)
            tally["out"] += 1
            tally[str(validation["result"])] += 1
            codes.setdefault(cls, Counter()).update(str(c).split(":", 2)[0] + ":" + str(c).split(":", 2)[1]
                                                    if ":" in str(c) else str(c)
                                                    for c in validation["reason_codes"])  # type: ignore[union-attr]
    print(f"\n{'class':<14} {'in':>6} {'out':>6} {'PASS':>6} {'WARN':>6} {'FAIL':>6}  top reason codes (kind:field)")
    for cls in CLASSES:
        t = per_class.get(cls, Counter())
        top = ", ".join(f"{c} x{n}" for c, n in codes.get(cls, Counter()).most_common(3))
        print(f"{cls:<14} {t['in']:>6} {t['out']:>6} {t['PASS']:>6} {t['WARN']:>6} {t['FAIL']:>6}  {top}")
    missing = len(lines) - len(run.evidence)
    traceback = "Traceback" in run.stderr or "Traceback" in big.stderr
    crashes = missing + (run.exit_code != 0) + (big.exit_code != 0) + (len(big.evidence) != 1) + traceback
    ids = {str(e["evidence_id"]) for e in run.evidence}
    nul = sum(b"\\u0000" in msgspec.json.encode(e) for e in run.evidence + big.evidence)
    print(f"\nrecords in {len(lines):,} = evidence out {len(run.evidence):,}: {missing == 0} "
          f"({len(ids):,} distinct ids)")
    print(f"crashes: {crashes} (exit codes {run.exit_code}/{big.exit_code}, records without evidence {missing}, "
          f"traceback on stderr: {traceback})")
    print(f"evidence holding a NUL: {nul}")
    print(f"1 MB line: input {big_size:,} bytes -> {len(big.evidence)} evidence "
          f"({big.evidence[0]['validation']['result'] if big.evidence else '-'}), "  # type: ignore[index]
          f"evidence {big.out_bytes:,} bytes, enforce peak RSS {big.peak_rss_mb:.0f} MB, {big.seconds:.2f}s")
    return 1 if crashes or nul else 0


if __name__ == "__main__":
    raise SystemExit(main())

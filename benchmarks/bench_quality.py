"""What ODCS aggregate quality rules cost on the stream: the enforcer with and without them, and the quality
engine folding the enforcer's minute counts into windows.

    .venv/bin/python -m benchmarks.bench_quality --count 50000

Same `gen_orders` records, the example control plane as shipped (no aggregate rule) and with four added
(schema rowCount, `unique: true` on order_id, invalidValues with a tolerance on currency, missingValues in
percent on discount_type). Prints records/s of `Enforcer.process` for both (best of 3), the added cost
per record, and the time `SignalEngineHost` takes for the batches' quality counts alone.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.gen_orders import generate
from signal_factory.contracts.aggregate import QualityTally
from signal_factory.controlplane.loader import ControlPlane, load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.records import MalformedInput, RawRecord
from signal_factory.signals.host import SignalEngineHost
from signal_factory.sources.jsonlines import parse_line

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "orders"
RULES = {
    "    properties:\n      - name: order_id\n": (
        "    quality:\n      - {metric: rowCount, mustBeGreaterOrEqualTo: 50}\n"
        "    properties:\n      - name: order_id\n        unique: true\n"),
    "        logicalTypeOptions: {pattern: \"^[A-Z]{3}$\"}\n": (
        "        logicalTypeOptions: {pattern: \"^[A-Z]{3}$\"}\n"
        "        quality:\n          - {metric: invalidValues, arguments: {validValues: [USD, EUR]}, "
        "mustBeLessThan: 5}\n"),
    "            mustBe: 0\n            severity: warning\n": (
        "            mustBe: 0\n            severity: warning\n"
        "          - {metric: missingValues, arguments: {missingValues: [null, '']}, mustBeLessThan: 10, "
        "unit: percent, severity: warning}\n"),
}


def _with_rules(root: Path) -> ControlPlane:
    shutil.copytree(EXAMPLE, root)
    path = root / "contracts" / "orders.created.odcs.yaml"
    text = path.read_text(encoding="utf-8")
    for anchor, replacement in RULES.items():
        text = text.replace(anchor, replacement)
    path.write_text(text, encoding="utf-8")
    return load_control_plane(root)


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50_000)
    args = parser.parse_args(argv)
    lines = generate(args.count)
    records: list[RawRecord | MalformedInput] = [parse_line(line, f"bench:{i}", None) for i, line in enumerate(lines)]
    batches = [records[i:i + 1000] for i in range(0, len(records), 1000)]
    with tempfile.TemporaryDirectory() as tmp:
        plain_cp, rules_cp = load_control_plane(EXAMPLE), _with_rules(Path(tmp) / "cp")
        rules = rules_cp.contracts["dc:orders.created:3"].aggregates
        plain, ruled = Enforcer(plain_cp), Enforcer(rules_cp)
        quality: list[list[QualityTally]] = [ruled.process(b).quality for b in batches]

        def run(enforcer: Enforcer) -> None:
            for b in batches:
                enforcer.process(b)

        def engine() -> None:
            host = SignalEngineHost(rules_cp)
            for q in quality:
                host.add_evidence([], [], q)
            host.flush()

        t_plain, t_rules, t_engine = _best(lambda: run(plain)), _best(lambda: run(ruled)), _best(engine)
    n = len(records)
    minutes = sum(len(q) for q in quality)
    print(f"{n:,} records, {len(rules)} aggregate rules ({', '.join(r.metric for r in rules)}), batches of 1,000")
    print(f"enforcer without aggregate rules: {n / t_plain:>9,.0f} rec/s  ({t_plain / n * 1e6:.1f} us/record)")
    print(f"enforcer with them:               {n / t_rules:>9,.0f} rec/s  ({t_rules / n * 1e6:.1f} us/record)")
    print(f"added by the rules:               {(t_rules - t_plain) / n * 1e6:.2f} us/record")
    print(f"quality engine ({minutes:,} minute tallies -> windows -> signals): {t_engine * 1e3:.1f} ms "
          f"({t_engine / n * 1e6:.2f} us/record)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Signal-engine throughput: evidence/s through `SignalEngineHost.add_evidence`, batches of 1,000.

    .venv/bin/python -m benchmarks.bench_signals                 # 500k evidence over 2 hours
    .venv/bin/python -m benchmarks.bench_signals --count 100000 --repeat 1
    .venv/bin/python -m benchmarks.bench_signals --fail-rate 0.5      # every window in breach

Evidence objects are generated in memory first (not timed): one dataset (`urn:dp:orders:created`,
which has contract, freshness and volume SLOs), event times spread evenly over 2 hours, 90% PASS,
10% FAIL (`--fail-rate`) over four signatures from two producer versions, shaped like the enforcer's (five gate
results, producer, source, otel). Three runs, each on a fresh host, best of `--repeat`:

* **grouping only**: `signals.intake.group` (the per-record pass every engine shares);
* **full, all evidence**: `add_evidence` with every PASS kept (tier 1), all engines, windows closing;
* **full, sampled tier**: 10% of PASS kept as evidence, the rest as per-minute `PassTally` counts per
  batch (as the enforcer emits them) - records/s counts the records the tallies stand for.

The issue's target is >= 1,000,000 evidence/s/core for aggregation. One thread, so per-core figures.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

from signal_factory.controlplane.loader import load_control_plane
from signal_factory.model.evidence import (
    FAIL,
    G1_RESOLUTION,
    G2_IDENTITY,
    G3_SCHEMA,
    G4_CONTRACT,
    G5_PII,
    PASS,
    Evidence,
    GateResult,
    Otel,
    Producer,
    Source,
    Validation,
)
from signal_factory.model.tally import PassTally
from signal_factory.model.timefmt import iso_ms
from signal_factory.signals.host import SignalEngineHost
from signal_factory.signals.intake import group

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "orders"
URN = "urn:dp:orders:created"
START_MS = 1_705_312_800_000  # 2024-01-15T10:00:00Z
SPAN_MS = 2 * 3_600_000
TARGET = 1_000_000
SIGNATURES = ("MISSING_FIELD:customer_id", "INVALID_FORMAT:currency", "UNKNOWN_ENUM:discount_type:FLASH_SALE",
              "TYPE_MISMATCH:total_amount")


def generate(count: int, fail_rate: float = 0.10, seed: int = 7) -> list[Evidence]:
    rnd = random.Random(seed)
    ok_gates = [GateResult(g, PASS) for g in (G1_RESOLUTION, G2_IDENTITY, G3_SCHEMA, G4_CONTRACT, G5_PII)]
    ok = Validation(PASS, ok_gates, [], [])
    bad = []
    for sig in SIGNATURES:
        gates = [*ok_gates[:3], GateResult(G4_CONTRACT, FAIL, sig, {"violated_rule": {"field": sig.split(":")[1]}}),
                 ok_gates[4]]
        bad.append(Validation(FAIL, gates, [G4_CONTRACT], [sig]))
    producers = [Producer("orders-svc", "HIGH", "v3.16"), Producer("orders-svc", "HIGH", "v3.17")]
    out = []
    for i in range(count):
        t = START_MS + i * SPAN_MS // count
        failing = rnd.random() < fail_rate
        out.append(Evidence(
            evidence_id=f"evd-{i:026d}", timestamp=iso_ms(t + 40), dataset_urn=URN,
            producer=producers[i & 1], validation=rnd.choice(bad) if failing else ok,
            source=Source("raw.orders.events", i % 12, i, "CREATE_TIME", iso_ms(t)),
            otel=Otel("ab91f3c2d4e5f6a7b8c9d0e1f2a3b4c5")))
    return out


def sampled(batch: list[Evidence], keep_every: int = 10) -> tuple[list[Evidence], list[PassTally]]:
    """Keep every 10th PASS as evidence; the other PASS records become per-minute tallies."""
    kept: list[Evidence] = []
    counts: dict[tuple[str, str, str | None, str | None], int] = {}
    for i, ev in enumerate(batch):
        if ev.validation.result != PASS or i % keep_every == 0:
            kept.append(ev)
            continue
        prod = ev.producer
        key = (ev.dataset_urn, ev.event_time()[:16] + ":00.000Z", prod.id if prod else None,
               prod.version if prod else None)
        counts[key] = counts.get(key, 0) + 1
    return kept, [PassTally(k[0], k[1], n, k[2], k[3]) for k, n in counts.items()]


def best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=500_000)
    ap.add_argument("--batch", type=int, default=1_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--fail-rate", type=float, default=0.10, help="share of FAIL evidence (0.5: an incident)")
    args = ap.parse_args(argv)
    cp = load_control_plane(EXAMPLE)
    print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {sys.version.split()[0]}")
    t0 = time.perf_counter()
    evidence = generate(args.count, args.fail_rate)
    batches = [evidence[i:i + args.batch] for i in range(0, len(evidence), args.batch)]
    tallied = [sampled(b) for b in batches]
    print(f"generated {len(evidence):,} evidence in {len(batches):,} batches ({time.perf_counter() - t0:.1f}s, "
          f"not timed); {sum(len(k) for k, _ in tallied):,} kept when sampled")

    signals: list[int] = []

    def run_full() -> None:
        host = SignalEngineHost(cp)
        n = sum(len(host.add_evidence(b)) for b in batches)
        signals.append(n + len(host.flush()))

    def run_sampled() -> None:
        host = SignalEngineHost(cp)
        for kept, tallies in tallied:
            host.add_evidence(kept, tallies)
        host.flush()

    def run_group() -> None:
        for b in batches:
            group(b)

    rows = [("grouping only (intake.group)", best_of(run_group, args.repeat)),
            ("full add_evidence, all PASS kept", best_of(run_full, args.repeat)),
            ("full add_evidence, sampled tier + tallies", best_of(run_sampled, args.repeat))]
    for name, seconds in rows:
        rate = len(evidence) / seconds
        verdict = "meets" if rate >= TARGET else "MISSES"
        print(f"{name:<44} {rate:>12,.0f} records/s  ({seconds:.3f}s)  {verdict} the 1,000,000/s target")
    print(f"signals per full run: {signals[-1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Early firing, Monte Carlo: false fires on clean traffic, and seconds from a bad deploy to provisional CRITICAL.

    .venv/bin/python -m benchmarks.bench_early_firing                 # full tables (about a minute)
    .venv/bin/python -m benchmarks.bench_early_firing --windows 300 --trials 200   # quicker

Both tables drive the contract engine's own sequential test (`signals.significance`: the same `passes`
and `failure` calls the engine makes) over simulated record streams; compliant records between two
FAILs are skipped in one step, as the engine does, so 500 records/s x thousands of windows stays cheap.
A cross-check then feeds explicit streams through `SignalEngineHost` and asserts the host fires its
first provisional CRITICAL on the very record the simulation predicts.

* **False fires**: a dataset's stream runs window after window (5 minutes each, Poisson arrivals at
  the given volume) with FAILs at a constant rate at or below the SLO's budget. A window "fires" if
  the test alarmed (WARNING or CRITICAL) on any of its records; "final" counts windows whose final
  state (statistically supported, `supported_state`) is not OK. The test's level: expected false
  alarms <= alpha (0.01) per 5 minutes at a failure rate equal to the budget, whatever the volume.
* **Time to provisional CRITICAL**: clean traffic (0.3% FAIL noise) for one window plus a random part
  of the next, then a deploy after which records fail at the given rate; seconds of event time from
  the deploy's first failing record to the first provisional CRITICAL, p50 / p95 / share <= 10 s.
  The headline cell (2 rec/s, 50% FAIL) is run again over 3 seeds x `--headline` breaches.
* **Frontier**: what no rule can beat. Take the records of the 10 s after a failing record (Poisson
  count at the volume, each FAIL with probability p): a rule that fires within 10 s on a share S of
  50%-failing bursts must fire, by the Neyman-Pearson lemma, on at least a computed probability of the
  same 10 s stretches of a stream failing at half the budget (or the budget, or 0.3%). Multiplied by the
  failing records a clean window holds, it says which S is compatible with 0 false fires.
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from signal_factory.controlplane.loader import load_control_plane
from signal_factory.controlplane.model import ThresholdSlo
from signal_factory.model.evidence import FAIL, G4_CONTRACT, PASS, Evidence, GateResult, Producer, Source, Validation
from signal_factory.model.timefmt import iso_ms
from signal_factory.signals import significance as stats
from signal_factory.signals.config import EngineConfig
from signal_factory.signals.host import SignalEngineHost
from signal_factory.signals.model import CONTRACT_BREACH, CRITICAL, OK

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "orders"
WINDOW_MS = stats.EPOCH_MS
START_MS = 1_705_312_800_000  # 2024-01-15T10:00:00Z, a window boundary
NOISE = 0.003
SLOS = {"0.95/0.80": ThresholdSlo(0.95, 0.80), "0.99/0.95": ThresholdSlo(0.99, 0.95)}
VOLUMES = (0.1, 2.0, 50.0, 500.0)
DEPLOY_VOLUMES = (2.0, 10.0, 100.0, 500.0)
DEPLOY_RATES = (0.3, 0.5, 0.9)


def engine_params(slo: ThresholdSlo, cfg: EngineConfig | None = None) -> stats.Params:
    cfg = cfg or EngineConfig()
    return stats.params_for(slo, cfg.early_alpha, cfg.min_failing, cfg.confidence_z)


def _skip(rng: random.Random, p: float) -> int:
    """Compliant records before the next FAIL (geometric)."""
    if p <= 0:
        return 1 << 60
    if p >= 1:
        return 0
    return int(math.log(1.0 - rng.random()) / math.log(1.0 - p))


class WindowOutcome(NamedTuple):
    fired: bool
    final: str


def clean_windows(rng: random.Random, p: stats.Params, slo: ThresholdSlo, volume: float, fail_rate: float,
                  windows: int) -> list[WindowOutcome]:
    """`windows` consecutive windows of one stream at a constant FAIL rate; per window: alarmed?, final state."""
    st = stats.EarlyStat()
    per_window = max(1, round(volume * WINDOW_MS / 1000))
    out = []
    carry = _skip(rng, fail_rate)  # compliant records before the next FAIL, across window edges
    for w in range(windows):
        epoch = START_MS + w * WINDOW_MS
        i = 0
        fired = False
        failed = 0
        while True:
            if i + carry >= per_window:
                stats.passes(st, per_window - i, p)
                carry -= per_window - i
                break
            stats.passes(st, carry, p)
            i += carry + 1
            failed += 1
            fired = stats.failure(st, p, epoch, "") is not None or fired
            carry = _skip(rng, fail_rate)
        out.append(WindowOutcome(fired, stats.supported_state(failed, per_window, slo, p)))
    return out


def deploy_events(rng: random.Random, volume: float, fail_rate: float, noise: float = NOISE
                  ) -> Iterator[tuple[int, int, bool]]:
    """FAIL records of a stream (compliant records before each, event time ms, after the deploy?), endless.

    Clean for one window plus a uniform part of the next, then `fail_rate`; Poisson arrivals at `volume`.
    """
    deploy = START_MS + WINDOW_MS + int(rng.random() * WINDOW_MS)
    scale = 1000.0 / volume
    t = float(START_MS)
    while True:
        g = _skip(rng, noise)
        t_next = t + rng.gammavariate(g + 1, scale)
        if t_next < deploy:
            t = t_next
            yield g, int(t), False
            continue
        # records up to the deploy instant stay clean; the first record after it starts the bad phase
        before = 0
        while True:
            t += rng.expovariate(1.0 / scale)
            if t >= deploy:
                break
            before += 1
        g = before
        while True:
            if rng.random() < fail_rate:
                yield g, int(t), True
                g = 0
            else:
                g += 1
            t += rng.expovariate(1.0 / scale)


def time_to_critical(events: Iterator[tuple[int, int, bool]], p: stats.Params, limit_ms: int = 600_000
                     ) -> float | None:
    """Seconds from the deploy's first FAIL to the first CRITICAL alarm (None: none within `limit_ms`)."""
    st = stats.EarlyStat()
    first: int | None = None
    for gap, t, bad in events:
        stats.passes(st, gap, p)
        if bad and first is None:
            first = t
        if first is not None and t - first > limit_ms:
            return None
        if stats.failure(st, p, t - t % WINDOW_MS, "") == CRITICAL and first is not None:
            return (t - first) / 1000
    return None


def _pmf_poisson(n: int, lam: float) -> float:
    return math.exp(n * math.log(lam) - lam - math.lgamma(n + 1))


def frontier(volume: float, rate: float, nulls: tuple[float, ...], shares: tuple[float, ...], horizon_s: float = 10.0
             ) -> list[tuple[float, list[float]]]:
    """Per share S of bursts to catch within `horizon_s`: the least probability, per failing record of a stream at
    each null rate, that a rule fires on the stretch after it (the likelihood-ratio set of H1 mass S)."""
    lam = volume * horizon_s
    cells = []
    for n in range(int(lam + 12 * math.sqrt(lam)) + 2):
        pn = _pmf_poisson(n, lam)
        for f in range(n + 1):
            comb = math.comb(n, f)
            h1 = pn * comb * rate ** f * (1 - rate) ** (n - f)
            h0 = [pn * comb * q ** f * (1 - q) ** (n - f) for q in nulls]
            cells.append((h1 / max(h0[0], 1e-300), h1, h0))
    cells.sort(key=lambda c: -c[0])
    out = []
    for share in shares:
        got = 0.0
        mass = [0.0] * len(nulls)
        for _, h1, h0 in cells:
            if got >= share:
                break
            got += h1
            mass = [m + x for m, x in zip(mass, h0, strict=True)]
        out.append((share, mass))
    return out


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def false_fire_table(windows: int, seed: int, max_steps: int = 2_000_000) -> list[tuple[str, float, float, int, int,
                                                                                        int, float]]:
    """Rows: SLO, volume, FAIL rate, windows run, windows fired, final non-OK, alpha."""
    rng = random.Random(seed)
    rows = []
    for name, slo in SLOS.items():
        p = engine_params(slo)
        for volume in VOLUMES:
            for rate in (NOISE, p.budget / 2, p.budget):
                per_window = volume * WINDOW_MS / 1000
                n = max(50, min(windows, int(max_steps / max(1.0, per_window * rate))))
                res = clean_windows(rng, p, slo, volume, rate, n)
                rows.append((name, volume, rate, n, sum(r.fired for r in res), sum(r.final != OK for r in res),
                             p.alpha))
    return rows


def delay_table(trials: int, seed: int) -> list[tuple[float, float, int, float, float, float, int]]:
    """Rows: volume, FAIL rate, trials, p50 s, p95 s, share <= 10 s, misses (no CRITICAL in 10 min)."""
    rng = random.Random(seed)
    p = engine_params(SLOS["0.95/0.80"])
    rows = []
    for volume in DEPLOY_VOLUMES:
        for rate in DEPLOY_RATES:
            got: list[float] = []
            misses = 0
            for _ in range(trials):
                d = time_to_critical(deploy_events(rng, volume, rate), p)
                if d is None:
                    misses += 1
                else:
                    got.append(d)
            within = sum(d <= 10 for d in got) / trials
            rows.append((volume, rate, trials, quantile(got, 0.5) if got else math.inf,
                         quantile(got, 0.95) if got else math.inf, within, misses))
    return rows


def host_cross_check(trials: int, seed: int, volume: float = 2.0, fail_rate: float = 0.5) -> tuple[int, int]:
    """Explicit streams through SignalEngineHost: (trials whose first provisional CRITICAL is on the record the
    simulation predicts, trials)."""
    cp = load_control_plane(EXAMPLE)
    rng = random.Random(seed)
    p = engine_params(cp.datasets["urn:dp:orders:created"].slo.contract_compliance)
    same = 0
    for _ in range(trials):
        records: list[tuple[int, bool]] = []
        for gap, t, _bad in deploy_events(rng, volume, fail_rate):
            records += [(t, False)] * gap + [(t, True)]
            if len(records) > 4 * volume * WINDOW_MS / 1000:
                break
        st = stats.EarlyStat()
        predicted = None
        for t, failed in records:
            if not failed:
                stats.passes(st, 1, p)
                continue
            if stats.failure(st, p, t - t % WINDOW_MS, "") == CRITICAL:
                predicted = t
                break
        host = SignalEngineHost(cp)
        items = [_evidence(i, t, failed) for i, (t, failed) in enumerate(records)]
        fired = None
        for i in range(0, len(items), 37):
            for s in host.add_evidence(items[i:i + 37]):
                if s.signal_type == CONTRACT_BREACH and s.provisional and s.state == CRITICAL and fired is None:
                    fired = s.timestamp
        same += predicted is not None and fired is not None and fired == iso_ms(predicted)
    return same, trials


def _evidence(n: int, t_ms: int, failed: bool) -> Evidence:
    """A minimal evidence record of `urn:dp:orders:created` at event time `t_ms`."""
    if failed:
        gate = GateResult(G4_CONTRACT, FAIL, "MISSING_FIELD:customer_id")
        validation = Validation(FAIL, [gate], [G4_CONTRACT], ["MISSING_FIELD:customer_id"])
    else:
        validation = Validation(PASS, [GateResult(G4_CONTRACT, PASS)], [], [])
    return Evidence(evidence_id=f"evd-{n:026d}", timestamp=iso_ms(t_ms + 50), dataset_urn="urn:dp:orders:created",
                    producer=Producer("orders-svc", "HIGH", "v3.17"), validation=validation,
                    source=Source("raw.orders.events", 0, n, "CREATE_TIME", iso_ms(t_ms)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=2000, help="clean windows per false-fire cell (capped by work)")
    ap.add_argument("--trials", type=int, default=500, help="deploys per time-to-CRITICAL cell")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--headline", type=int, default=2000, help="breaches per seed for the 2 rec/s, 50%% cell")
    args = ap.parse_args(argv)
    cfg = EngineConfig()
    print(f"early test: CUSUM H0 p = budget b vs H1 p = min(2c, (1 + c) / 2) (>= 2b), c = critical rate; "
          f"alpha = {cfg.early_alpha} per 5 min, min_failing = {cfg.min_failing}; CRITICAL when the Wilson "
          f"z = {cfg.confidence_z} lower bound > c")
    print("\nFalse fires on clean traffic (a window fires if the test alarmed on any of its records)")
    print(f"{'SLO':<10} {'rec/s':>6} {'FAIL rate':>9} {'windows':>8} {'fired':>6} {'rate':>8} {'final !OK':>9}"
          f" {'alpha':>6}")
    for name, volume, rate, n, fired, final, alpha in false_fire_table(args.windows, args.seed):
        print(f"{name:<10} {volume:>6g} {rate:>9.4f} {n:>8,} {fired:>6} {fired / n:>8.4%} {final:>9} {alpha:>6}")
    print("\nTime from the deploy's first failing record to provisional CRITICAL (event time, SLO 0.95/0.80)")
    print(f"{'rec/s':>6} {'FAIL rate':>9} {'trials':>7} {'p50 s':>7} {'p95 s':>7} {'<= 10 s':>8} {'none':>5}")
    for volume, rate, trials, p50, p95, within, misses in delay_table(args.trials, args.seed):
        print(f"{volume:>6g} {rate:>9.1f} {trials:>7} {p50:>7.2f} {p95:>7.2f} {within:>8.1%} {misses:>5}")
    p = engine_params(SLOS["0.95/0.80"])
    print(f"\nheadline, 2 rec/s, 50% FAIL, {args.headline:,} breaches per seed:")
    for seed in range(args.seed, args.seed + 3):
        rng = random.Random(seed)
        got = [time_to_critical(deploy_events(rng, 2.0, 0.5), p) for _ in range(args.headline)]
        done = [d for d in got if d is not None]
        print(f"  seed {seed}: p50 {quantile(done, 0.5):.2f} s, p95 {quantile(done, 0.95):.2f} s, "
              f"<= 10 s {sum(d <= 10 for d in done) / len(got):.2%}")
    nulls = (p.budget / 2, p.budget, NOISE)
    per_window = [2.0 * WINDOW_MS / 1000 * q for q in nulls]
    print("\nFrontier at 2 rec/s, 50% FAIL, 10 s (any rule): least firing probability per failing record of a "
          "clean stream, and x the failing records of one 5-min window")
    print(f"{'caught':>7} {'at b/2':>9} {'window':>8} {'at b':>9} {'window':>8} {'at 0.3%':>9} {'window':>8}")
    for share, mass in frontier(2.0, 0.5, nulls, (0.95, 0.96, 0.97, 0.98, 0.99, 0.995)):
        cols = " ".join(f"{m:>9.1e} {m * k:>8.1e}" for m, k in zip(mass, per_window, strict=True))
        print(f"{share:>7.1%} {cols}")
    same, n = host_cross_check(min(args.trials, 40), args.seed)
    print(f"\nhost cross-check (2 rec/s, 50% FAIL, batches of 37): {same}/{n} first provisional CRITICALs on the "
          "predicted record")
    return 0 if same == n else 1


if __name__ == "__main__":
    raise SystemExit(main())

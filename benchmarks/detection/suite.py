"""The scenario suite: which scenarios run at which size."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from benchmarks.detection import other_scenarios as other
from benchmarks.detection import stream_scenarios as stream
from benchmarks.detection.labels import Scenario

SIZES = ("small", "full")
Builder = Callable[[str, int], Scenario]


def _variant(rate: float, share: float, tag: str) -> Builder:
    def build(size: str, seed: int) -> Scenario:
        return stream.bad_deploy(size, seed, rate=rate, share=share, tag=tag)
    return build


#: (name, builder, sizes it runs at). The extra bad-deploy variants give the SEV-1 latency percentiles
#: more than one sample at the edges of the target (2 rec/s with 55% failing; 10 rec/s, all failing).
SUITE: list[tuple[str, Builder, tuple[str, ...]]] = [
    ("clean_24h", stream.clean, SIZES),
    ("bad_deploy", stream.bad_deploy, SIZES),
    ("bad_deploy@2rps", _variant(2.0, 0.55, "@2rps"), ("full",)),
    ("bad_deploy@10rps", _variant(10.0, 1.0, "@10rps"), ("full",)),
    ("noise_amplified", stream.amplified, SIZES),
    ("concurrent_deploys", stream.concurrent, SIZES),
    ("legacy_no_headers", stream.legacy, SIZES),
    ("deploy_rollback", stream.rollback, SIZES),
    ("innocent_deploy", stream.innocent, SIZES),
    ("shared_topic", stream.shared_topic, SIZES),
    ("sub_threshold", stream.sub_threshold, SIZES),
    ("late_out_of_order", stream.late, SIZES),
    ("batch_enum_drift", other.batch_drift, SIZES),
    ("volume_drop", other.volume_drop, SIZES),
    ("freshness_stall", other.freshness_stall, SIZES),
    ("world_40", other.world40, SIZES),
]


def scenarios(size: str, seed: int = 13, only: set[str] | None = None) -> Iterator[Scenario]:
    """Build the suite's scenarios for `size`, lazily (one at a time keeps memory flat)."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    for name, build, sizes in SUITE:
        if size in sizes and (only is None or name in only):
            yield build(size, seed)

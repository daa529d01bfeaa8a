"""The leak matrix: PII in every producer-controlled channel x every output, and how many leak.

    .venv/bin/python -m benchmarks.bench_leaks             # default config and `payload: all`, SQLite
    PYTHONPATH=/other/checkout/src .venv/bin/python -m benchmarks.bench_leaks   # the same for other code

Runs the corpus of tests/enforcer/leak_corpus.py (records) and leak_inflows.py (OpenLineage events, posted
evidence, S3 objects, deployment markers) and leak_otlp.py (OTLP trace exports to `POST /v1/traces`)
through tests/enforcer/leak_outputs.py (the `enforce` CLI, replay into SQLite, API + UI, RCA
text/JSON/Markdown, graph export, notification bodies, logs) and prints, per mode, the corpus size and a
channel x output table: the number of distinct written forms of that channel's PII values found in that
output (`.` = none). Target: 0 everywhere.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from tests.enforcer.leak_corpus import CHANNEL_NAMES, corpus, find_leaks, needles
from tests.enforcer.leak_inflows import deployment_markers, evidence_docs, lineage_events, s3_objects
from tests.enforcer.leak_otlp import export_request
from tests.enforcer.leak_outputs import OUTPUTS, collect

import signal_factory


def _spans() -> int:
    request = ExportTraceServiceRequest()
    request.ParseFromString(export_request(0))
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modes", default="none,all", help="evidence.payload modes, comma-separated")
    args = parser.parse_args()
    print(f"code: {Path(signal_factory.__file__).parent}")
    for mode in args.modes.split(","):
        records = list(corpus(payload_copies=mode != "none"))
        forms = sum(len(v) for v in needles().values())
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            out = collect(Path(tmp), f"sqlite:///{tmp}/leaks.db", payload=mode)
            seconds = time.perf_counter() - started
        leaks = find_leaks(out)
        cells = len(CHANNEL_NAMES) * len(OUTPUTS)
        size = sum(len(v) for v in out.values())
        inflows = (f"{len(lineage_events())} OpenLineage events, {len(evidence_docs())} posted evidence, "
                   f"{len(s3_objects()[1])} S3 objects, {len(deployment_markers())} deployment markers, "
                   f"{_spans()} OTLP spans per export")
        print(f"\npayload: {mode} - {len(records)} records + {inflows}, "
              f"{len(CHANNEL_NAMES)} channels x {len(OUTPUTS)} outputs "
              f"= {cells} cells, {forms} searched forms, {size / 1e6:.1f} MB of output, {seconds:.0f} s")
        print(f"leaking cells: {len(leaks)} of {cells}; leaked forms found: {sum(len(h) for h in leaks.values())}")
        short = [o.split(" (")[0][:12] for o in OUTPUTS]
        print(f"{'channel':32}" + "".join(f"{s:>13}" for s in short))
        for channel in CHANNEL_NAMES:
            row = [len(leaks.get((channel, o), [])) for o in OUTPUTS]
            print(f"{channel:32}" + "".join(f"{n or '.':>13}" for n in row))


if __name__ == "__main__":
    main()

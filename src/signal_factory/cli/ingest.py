"""`ingest s3`: drain S3 object notifications from an SQS queue into evidence, signals and incidents.

    signal-factory ingest s3 --queue https://sqs.eu-west-1.amazonaws.com/123456789012/landing-events \
        --config examples/orders --db postgresql://...

Objects go to datasets by the control plane's `s3.yaml`; every row is one evidence through the five gates.
A message is deleted only after its evidence is committed, so a crash or Ctrl-C re-delivers it and the
deterministic ids keep it from counting twice. Runs until SIGINT/SIGTERM (finishing the receive in hand),
or `--once` (one receive) or `--max-messages N`. Needs the `s3` extra: `pip install 'signal-factory[s3]'`.
"""

from __future__ import annotations

import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from signal_factory.cli.options import ConfigOpt, DbOpt, open_cli_store
from signal_factory.errors import SignalFactoryError

ingest_app = typer.Typer(no_args_is_help=True, help="Ingest from outside sources (S3 object notifications).")
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160, emoji=False, highlight=False)
_SQS_MAX_BATCH = 10  # SQS returns at most 10 messages per receive


@ingest_app.callback()
def _group() -> None:
    """Ingest from outside sources."""


@ingest_app.command("s3")
def ingest_s3(
    queue: Annotated[str, typer.Option("--queue", help="SQS queue URL receiving the bucket's notifications "
                                       "(direct, SNS-wrapped or EventBridge).")],
    config: ConfigOpt = Path("examples/orders"),
    db: DbOpt = None,
    once: Annotated[bool, typer.Option("--once", help="One receive, then exit.")] = False,
    max_messages: Annotated[int | None, typer.Option(
        "--max-messages", min=1, help="Exit after handling this many messages.")] = None,
    wait: Annotated[int, typer.Option(min=0, max=20, help="SQS long-poll wait per receive, seconds.")] = 20,
    endpoint_url: Annotated[str | None, typer.Option(
        help="S3 and SQS endpoint (MinIO, LocalStack); default: boto3's (AWS_ENDPOINT_URL_S3 / _SQS).")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region; default: boto3's (AWS_REGION).")] = None,
    send: Annotated[bool, typer.Option("--send/--no-send", help="Deliver notifications to configured routes.")] = True,
) -> None:
    """Poll SQS for S3 object notifications; each object's rows -> evidence -> signals -> incidents."""
    from signal_factory.alerting.dispatcher import OutboxDispatcher
    from signal_factory.alerting.mutes import MuteBook
    from signal_factory.aws import aws_client
    from signal_factory.controlplane.loader import load_control_plane
    from signal_factory.enforcer.factory import build_enforcer
    from signal_factory.ingest.s3.ingester import S3ObjectIngester
    from signal_factory.ingest.s3.poller import poll_sqs_once
    from signal_factory.model.evidence import Evidence
    from signal_factory.runtime.replay import ReplayService

    cp = load_control_plane(config)
    if not cp.objects:
        raise SignalFactoryError(f"{config}/s3.yaml maps no S3 locations to datasets; add one, e.g. "
                                 "`objects: [{location: s3://landing/orders/, dataset: urn:dp:orders:created}]`")
    s3 = aws_client("s3", endpoint_url=endpoint_url, region=region)
    sqs = aws_client("sqs", endpoint_url=endpoint_url, region=region)
    stop = _stop_on_signals()
    store = open_cli_store(db, create=True)  # a writer, like replay
    totals = _Totals()
    try:
        enforcer = build_enforcer(cp)
        service = ReplayService(cp, store, enforcer)
        if send:
            service.dispatcher = OutboxDispatcher(store.outbox, service.policy, mutes=MuteBook(store.checkpoints))
        ingester = S3ObjectIngester(cp, None, s3, enforcer=enforcer)

        def commit(evidence: list[Evidence]) -> None:
            report = service.ingest_evidence(evidence, quality=ingester.take_quality())
            totals.evidence += len(evidence)
            totals.new += report.new_evidence
            totals.signals += len(report.signals)
            totals.incidents |= {c.incident.incident_id for c in report.changes}

        err.print(f"polling {queue} (Ctrl-C stops after the receive in hand)")
        while not stop.is_set():
            room = _SQS_MAX_BATCH if max_messages is None else min(_SQS_MAX_BATCH, max_messages - totals.messages)
            totals.messages += poll_sqs_once(sqs, queue, ingester, commit, max_messages=room, wait_s=wait)
            if once or (max_messages is not None and totals.messages >= max_messages):
                break
        if service.dispatcher is not None:
            service.dispatcher.close()
    finally:
        store.close()
    incidents = sorted(totals.incidents)
    err.print(f"{totals.messages:,} messages, {totals.evidence:,} evidence ({totals.new:,} new), "
              f"{totals.signals:,} signals" + (f", incidents {', '.join(incidents)}" if incidents else ""))


@dataclass
class _Totals:
    messages: int = 0
    evidence: int = 0
    new: int = 0
    signals: int = 0
    incidents: set[str] = field(default_factory=set)


def _stop_on_signals() -> threading.Event:
    """Set by SIGTERM or SIGINT: the loop ends after the receive in hand (its messages committed, deleted)."""
    stop = threading.Event()

    def _stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop

"""`run enforcer`: a pipeline stage as a long-running Kafka consumer-group process.

Thin: flags -> `KafkaConfig` (flag > env `SIGNAL_FACTORY_KAFKA_*` > default) -> `EnforcerStage.run`.
SIGTERM or Ctrl-C finishes the batch in hand, commits it and leaves the group. SIGHUP (and, unless
`--no-watch`, any change to the control-plane files) reloads the control plane: the stage takes the new one
between batches; a change that does not load is logged with file, line and fix and the running config kept.
Logs are JSON lines on stderr. Needs the `kafka` extra: `pip install 'signal-factory[kafka]'`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from signal_factory.cli.options import ConfigOpt, DbOpt, open_cli_store
from signal_factory.errors import SignalFactoryError, StoreFailedError

if TYPE_CHECKING:
    from signal_factory.controlplane.loader import ControlPlane
    from signal_factory.runtime.reload import ConfigReloader
    from signal_factory.stores.sql.database import SqlStore

T = TypeVar("T")

run_app = typer.Typer(no_args_is_help=True, help="Run a pipeline stage as a Kafka consumer group.")



@run_app.callback()
def _group() -> None:
    """The pipeline's long-running stages: enforcer and signals (Kafka consumer groups), alerts."""


# Options every stage command shares.
BootstrapOpt = Annotated[str | None, typer.Option(
    help="Kafka bootstrap servers, host:port[,...] [env SIGNAL_FACTORY_KAFKA_BOOTSTRAP_SERVERS].")]
KafkaPropOpt = Annotated[list[str] | None, typer.Option(
    "--kafka-property", "-X", help="librdkafka property NAME=VALUE, repeatable (security.protocol, sasl.*, "
    "ssl.*, ...) [env SIGNAL_FACTORY_KAFKA_PROP_<NAME>]. Secret values are never logged.")]
LogLevelOpt = Annotated[str, typer.Option(help="debug, info, warning, error.")]
MetricsPortOpt = Annotated[int, typer.Option(
    envvar="SIGNAL_FACTORY_METRICS_PORT", min=0, max=65535,
    help="Serve Prometheus metrics on this port (0 = off) [env SIGNAL_FACTORY_METRICS_PORT].")]
MetricsAddrOpt = Annotated[str, typer.Option(
    envvar="SIGNAL_FACTORY_METRICS_ADDR", help="Address the metrics endpoint binds to.")]

WatchOpt = Annotated[bool, typer.Option(
    help="Reload the control plane when its files change (SIGHUP reloads either way); the stage takes it "
         "between batches.")]

_STD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    """One JSON object per log record: ts, level, logger, msg, and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                               + f".{int(record.msecs):03d}Z",
                               "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}
        out.update({k: v for k, v in vars(record).items() if k not in _STD_ATTRS})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def _setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger("signal_factory")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


@run_app.command("enforcer")
def enforcer(
    config: ConfigOpt = Path("examples/orders"),
    bootstrap_servers: BootstrapOpt = None,
    group_id: Annotated[str | None, typer.Option(
        help="Consumer group; instances with the same id share the partitions [env SIGNAL_FACTORY_KAFKA_GROUP_ID].")]
        = None,
    topics: Annotated[str | None, typer.Option(
        help="Raw topics to consume, comma-separated [env SIGNAL_FACTORY_KAFKA_TOPICS].")] = None,
    evidence_topic: Annotated[str | None, typer.Option(
        help="Where evidence goes, keyed by dataset URN (default signal_factory.evidence).")] = None,
    tally_topic: Annotated[str | None, typer.Option(
        help="Where counts of sampled-out PASS records go (default signal_factory.evidence.tallies).")] = None,
    delivery: Annotated[str | None, typer.Option(
        help="at-least-once (idempotent producer, flush then commit) or exactly-once (Kafka transactions).")]
        = None,
    transactional_id: Annotated[str | None, typer.Option(
        help="Transactional id for exactly-once; stable per instance across restarts.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Records per consume/commit cycle (default 500).")] = None,
    kafka_property: KafkaPropOpt = None,
    exit_when_idle: Annotated[float | None, typer.Option(
        help="Exit cleanly after this many seconds without records (batch jobs, tests).")] = None,
    log_level: LogLevelOpt = "info",
    metrics_port: MetricsPortOpt = 0,
    metrics_addr: MetricsAddrOpt = "127.0.0.1",
    watch: WatchOpt = True,
) -> None:
    """Consume raw topics, run the five gates, produce evidence; commit offsets only after it is durable."""
    from signal_factory.enforcer.factory import build_enforcer
    from signal_factory.settings import Settings
    from signal_factory.transports.kafka.config import KafkaConfig

    try:
        from signal_factory.transports.kafka.enforcer_stage import EnforcerStage
    except ImportError as e:
        raise _needs_kafka(e) from e
    _setup_logging(log_level)
    flags = {"bootstrap_servers": bootstrap_servers, "group_id": group_id, "topics": topics,
             "evidence_topic": evidence_topic, "tally_topic": tally_topic, "delivery": delivery,
             "transactional_id": transactional_id, "batch_size": batch_size, "properties": kafka_property}
    kafka = KafkaConfig.from_sources(flags)
    metrics, server = _metrics(metrics_port, metrics_addr)
    settings = Settings.from_env()
    stop = _stop_on_signals()
    try:
        with _reloading(config, lambda cp: build_enforcer(cp, settings), metrics, watch) as reloader, \
                _logged_failure():
            stage = EnforcerStage(reloader.current.cp, kafka, metrics=metrics, reloader=reloader)
            report = stage.run(stop, idle_exit_s=exit_when_idle)
    finally:
        if server is not None:
            server.close()
    logging.getLogger("signal_factory.cli.run").info(
        "done", extra={"records": report.records, "evidence": report.evidence, "batches": report.batches,
                       "internal_errors": report.internal_errors, "seconds": round(report.seconds, 3)})


@contextlib.contextmanager
def _logged_failure() -> Iterator[None]:
    """A stage that stops on an error says so in its JSON log too (then the CLI prints it and exits 1).
    A database failure becomes one line saying what happened to the work in hand, never a traceback."""
    from sqlalchemy.exc import DBAPIError

    from signal_factory.stores.sql.transactions import failure_reason

    log = logging.getLogger("signal_factory.cli.run")
    try:
        yield
    except StoreFailedError as e:
        raise _store_failure(log, e, type(e.__cause__ or e).__name__) from e
    except SignalFactoryError as e:
        log.error("stage failed", extra={"error": str(e), "type": type(e).__name__})
        raise
    except DBAPIError as e:  # raised outside a store transaction (e.g. on a lock's own connection)
        raise _store_failure(log, StoreFailedError(failure_reason(e)), type(e).__name__) from e


def _store_failure(log: logging.Logger, e: StoreFailedError, kind: str) -> SignalFactoryError:
    err = SignalFactoryError(f"{e}, so a restart resumes from the last commit (fix: check the database, then "
                             "restart this stage)")
    log.error("stage failed", extra={"error": str(err), "type": kind})
    return err


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the stage finishes the batch in hand, commits and returns."""
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        logging.getLogger("signal_factory.cli.run").info(
            "stopping after the batch in hand", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop


@contextlib.contextmanager
def _reloading(config: Path, build: Callable[[ControlPlane], T], metrics: Any, watch: bool
               ) -> Iterator[ConfigReloader[T]]:
    """The stage's config, reloaded on SIGHUP and (with `watch`) on file change; counted in `metrics`."""
    from signal_factory.runtime.reload import ConfigReloader, install_sighup

    reloader = ConfigReloader(config, build, on_result=None if metrics is None else metrics.config_reload)
    install_sighup(lambda: reloader)
    if watch:
        reloader.watch()
    try:
        yield reloader
    finally:
        reloader.close()


def _sql_store(db: str | None, stage: str) -> SqlStore:
    from signal_factory.stores.sql.database import SqlStore

    store = open_cli_store(db, create=True)
    if not isinstance(store, SqlStore):
        store.close()
        raise typer.BadParameter(f"the {stage} stage needs a SQL store (--db)")
    return store


def _needs_kafka(e: ImportError) -> typer.BadParameter:
    return typer.BadParameter(f"the Kafka transport needs confluent-kafka ({e}); fix: "
                              "pip install 'signal-factory[kafka]'")


def _metrics(port: int, addr: str, *, stage: str = "enforcer") -> tuple[Any, Any]:
    """(the stage's metrics, MetricsServer) when --metrics-port is set, else (None, None)."""
    if not port:
        return None, None
    try:
        from signal_factory.transports.kafka.metrics import (
            AlertsMetrics,
            SignalsMetrics,
            StageMetrics,
            start_metrics_server,
        )
    except ImportError as e:
        raise typer.BadParameter(f"--metrics-port needs prometheus-client ({e}); fix: pip install prometheus-client"
                                 ) from e
    metrics = {"signals": SignalsMetrics, "alerts": AlertsMetrics}.get(stage, StageMetrics)()
    server = start_metrics_server(port, metrics.registry, addr)
    logging.getLogger("signal_factory.cli.run").info("metrics endpoint up", extra={"url": server and server.url})
    return metrics, server


@run_app.command("signals")
def signals(
    config: ConfigOpt = Path("examples/orders"),
    db: DbOpt = None,
    bootstrap_servers: BootstrapOpt = None,
    group_id: Annotated[str | None, typer.Option(
        help="Consumer group [env SIGNAL_FACTORY_KAFKA_GROUP_ID]. With equal evidence and tally partition "
             "counts every instance is active and owns its partitions' windows; else one owner, others standby.")]
    = None,
    evidence_topic: Annotated[str | None, typer.Option(
        help="Evidence topic to consume (default signal_factory.evidence).")] = None,
    tally_topic: Annotated[str | None, typer.Option(
        help="Tally topic to consume (default signal_factory.evidence.tallies).")] = None,
    signals_topic: Annotated[str | None, typer.Option(
        help="Publish every committed signal here, keyed by dataset URN (default signal_factory.signals; "
             "'none' = nowhere) [env SIGNAL_FACTORY_KAFKA_SIGNALS_TOPIC].")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Messages per consume/store transaction (default 500).")]
        = None,
    kafka_property: KafkaPropOpt = None,
    flush_when_idle: Annotated[float | None, typer.Option(
        help="Close every open window once caught up and idle this many seconds (finite inputs, demos).")] = None,
    exit_when_idle: Annotated[float | None, typer.Option(
        help="Exit cleanly after this many seconds without messages (batch jobs, tests).")] = None,
    log_level: LogLevelOpt = "info",
    metrics_port: MetricsPortOpt = 0,
    metrics_addr: MetricsAddrOpt = "127.0.0.1",
    watch: WatchOpt = True,
) -> None:
    """Consume evidence; signals, incidents, graph and the consumed offsets commit in one store transaction."""
    from signal_factory.alerting.policy import load_alert_policy
    try:
        from signal_factory.transports.kafka.signals_stage import SignalsStage, stage_config
    except ImportError as e:
        raise _needs_kafka(e) from e
    _setup_logging(log_level)
    flags = {"bootstrap_servers": bootstrap_servers, "group_id": group_id, "evidence_topic": evidence_topic,
             "tally_topic": tally_topic, "signals_topic": signals_topic, "batch_size": batch_size,
             "properties": kafka_property}
    kafka = stage_config(flags)
    store = _sql_store(db, "signals")
    metrics, server = _metrics(metrics_port, metrics_addr, stage="signals")
    stop = _stop_on_signals()
    try:
        with _reloading(config, load_alert_policy, metrics, watch) as reloader, _logged_failure():
            stage = SignalsStage(reloader.current.cp, store, kafka, flush_when_idle_s=flush_when_idle,
                                 metrics=metrics, reloader=reloader)
            report = stage.run(stop, idle_exit_s=exit_when_idle)
    finally:
        store.close()
        if server is not None:
            server.close()
    logging.getLogger("signal_factory.cli.run").info(
        "done", extra={"evidence": report.evidence, "new_evidence": report.new_evidence, "batches": report.batches,
                       "skipped": report.skipped, "poison": report.poison, "seconds": round(report.seconds, 3)})


@run_app.command("alerts")
def alerts(
    config: ConfigOpt = Path("examples/orders"),
    db: DbOpt = None,
    interval: Annotated[float, typer.Option(min=0.05, help="Seconds between outbox scans when nothing is due.")]
        = 1.0,
    exit_when_idle: Annotated[float | None, typer.Option(
        help="Exit cleanly after this many seconds with nothing pending (batch jobs, tests).")] = None,
    log_level: LogLevelOpt = "info",
    metrics_port: MetricsPortOpt = 0,
    metrics_addr: MetricsAddrOpt = "127.0.0.1",
    watch: WatchOpt = True,
) -> None:
    """Deliver the outbox (PagerDuty, Slack, webhooks) with retries; one active dispatcher per store."""
    from signal_factory.alerting.policy import load_alert_policy
    from signal_factory.runtime.alerts import AlertsStage

    _setup_logging(log_level)
    store = _sql_store(db, "alerts")
    metrics, server = _metrics(metrics_port, metrics_addr, stage="alerts")
    on_round = None if metrics is None else (lambda r: metrics.observe_round(r.outcomes.values(), r.pending))
    stop = _stop_on_signals()
    try:
        with _reloading(config, load_alert_policy, metrics, watch) as reloader, _logged_failure():
            stage = AlertsStage(store, reloader.current.value, interval_s=interval, on_round=on_round,
                                reloader=reloader)
            report = stage.run(stop, idle_exit_s=exit_when_idle)
    finally:
        store.close()
        if server is not None:
            server.close()
    logging.getLogger("signal_factory.cli.run").info(
        "done", extra={"sent": report.sent, "retrying": report.retrying, "dead": report.dead,
                       "pending": report.pending, "seconds": round(report.seconds, 3)})


if __name__ == "__main__":
    run_app(prog_name="signal-factory run")

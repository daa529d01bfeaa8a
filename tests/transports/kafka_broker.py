"""A real Apache Kafka for tests and demos: one KRaft node (broker + controller) on 127.0.0.1.

`scripts/ensure-kafka.sh` fetches Apache Kafka's server jars (`org.apache.kafka:kafka_2.13`) and their
dependencies with Maven into `kafka_home()` (`$SIGNAL_FACTORY_KAFKA_HOME`, else
`~/.cache/signal-factory/kafka`), a flat directory of jars and a `VERSION` file. `KafkaBroker` then:

1. writes a `server.properties` (free ports, a temporary log dir, single-replica internal topics, no
   initial rebalance delay),
2. formats the log dir (`kafka.tools.StorageTool format`, what `kafka-storage.sh format` runs),
3. starts `kafka.Kafka server.properties` with a small heap, and waits until an AdminClient lists topics,
4. on `stop()`, SIGTERM to that PID (a controlled shutdown), SIGKILL if it has not exited in 20 s.

Run as a script (`python -m tests.transports.kafka_broker --topic raw.orders.events:8 ...`) it prints
`BOOTSTRAP <servers>` then `READY` once the topics exist, and serves until stdin closes or it gets
SIGTERM (as `kafka_mock.py` does), so a shell script can hold a broker for its own lifetime.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from types import TracebackType

HOME_ENV = "SIGNAL_FACTORY_KAFKA_HOME"
#: Set (to anything) to keep the broker's directory (server.log, stdout.log, data) after it stops.
KEEP_ENV = "SIGNAL_FACTORY_KAFKA_KEEP_DIR"
#: The JVM's heap: the machines this runs on have 2 cores and other work beside it.
HEAP = "-Xmx384m"

LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka.server.KafkaServer
logger.kafka.level = info
"""


def kafka_home() -> Path:
    """Where ensure-kafka.sh put the jars."""
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".cache" / "signal-factory" / "kafka")


def installed_version() -> str | None:
    """The Kafka version in `kafka_home()`, or None when the jars (or java) are not there."""
    home = kafka_home()
    version = home / "VERSION"
    if not version.is_file() or not any(home.glob("libs/kafka_2.13-*.jar")) or shutil.which("java") is None:
        return None
    return version.read_text().strip()


def free_ports(n: int) -> list[int]:
    """`n` distinct ports free on 127.0.0.1 now (all held open while choosing, so no two are the same)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


class KafkaBroker:
    """One KRaft node in a child JVM; `bootstrap` is `127.0.0.1:<port>`."""

    def __init__(self, workdir: Path | None = None) -> None:
        self._own_dir = workdir is None
        self.dir = Path(tempfile.mkdtemp(prefix="sf-kafka-")) if workdir is None else workdir
        self.bootstrap = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def _java(self, main: str, *args: str) -> list[str]:
        # A one-shot tool starts faster with the C1 compiler only; the server keeps C2 for throughput.
        quick = ["-XX:TieredStopAtLevel=1"] if main != "kafka.Kafka" else []
        return ["java", HEAP, "-Xms64m", "-XX:+UseSerialGC", *quick, "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.dir / 'log4j2.properties'}",
                "-cp", str(kafka_home() / "libs" / "*"), main, *args]

    def start(self, timeout_s: float = 90.0) -> KafkaBroker:
        if installed_version() is None:
            raise RuntimeError(f"no Apache Kafka jars in {kafka_home()} (or no java): run scripts/ensure-kafka.sh")
        port, cport = free_ports(2)
        logs = self.dir / "logs"
        props = self.dir / "server.properties"
        (self.dir / "log4j2.properties").write_text(LOG4J2.format(log=self.dir / "server.log"))
        props.write_text("\n".join([
            "process.roles=broker,controller", "node.id=1", f"controller.quorum.voters=1@127.0.0.1:{cport}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}", "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT", f"log.dirs={logs}",
            # Topics a test did not create come into being on first use, with 1 partition (as on the mock).
            "num.partitions=1", "auto.create.topics.enable=true",
            "offsets.topic.replication.factor=1", "offsets.topic.num.partitions=8",
            "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=4",
            "share.coordinator.state.topic.replication.factor=1", "share.coordinator.state.topic.min.isr=1",
            "share.coordinator.state.topic.num.partitions=1",
            "group.initial.rebalance.delay.ms=0", "num.network.threads=2", "num.io.threads=2",
            "background.threads=2", "log.cleaner.threads=1", "num.recovery.threads.per.data.dir=1",
            "log.index.size.max.bytes=1048576",
            # Scenario 1 replays records stamped 2024-01-15: under the default 7-day time retention the
            # broker deletes them at its first retention check (5 minutes in), mid-session.
            "log.retention.ms=-1",
            # Kafka 4 rejects CreateTimes more than an hour ahead by default (KIP-937); the hostile-input tests
            # send such times (a cluster with this setting, or Kafka 3, accepts them).
            "log.message.timestamp.after.max.ms=9223372036854775807", "",
        ]))
        formatted = subprocess.run(self._java("kafka.tools.StorageTool", "format", "--config", str(props),
                                              f"--cluster-id={_cluster_id()}"),  # "=": an id may begin with "-"
                                   capture_output=True, text=True, timeout=120, check=False)
        if formatted.returncode != 0:
            raise RuntimeError(f"kafka-storage format failed ({formatted.returncode}): {formatted.stderr[-2000:]}")
        out = (self.dir / "stdout.log").open("wb")
        self._proc = subprocess.Popen(self._java("kafka.Kafka", str(props)), stdout=out, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL)
        out.close()
        self.bootstrap = f"127.0.0.1:{port}"
        try:
            self._wait(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait(self, timeout_s: float) -> None:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": "0"})
        deadline = time.monotonic() + timeout_s
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"the Kafka broker exited ({self._proc.returncode}); see {self.dir}/stdout.log "
                                   f"and {self.dir}/server.log")
            try:
                meta = admin.list_topics(timeout=2)
                if meta.brokers:
                    break
            except Exception:  # KafkaException until the listener is up
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Kafka broker did not answer within {timeout_s:.0f} s; see {self.dir}")
            time.sleep(0.5)
        self._warm_up(deadline)

    def _warm_up(self, deadline: float) -> None:
        """Create the internal topics now (__consumer_offsets on the first group lookup, __transaction_state on
        the first init_transactions), so no test meets NOT_COORDINATOR or "coordinator load in progress"."""
        from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

        producer = Producer({"bootstrap.servers": self.bootstrap, "transactional.id": "sf-warm-up", "log_level": "0"})
        producer.init_transactions(max(deadline - time.monotonic(), 1.0))
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "sf-warm-up", "log_level": "0"})
        try:
            while True:
                try:
                    consumer.committed([TopicPartition("__consumer_offsets", 0)], timeout=5)
                    return
                except KafkaException:  # NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS while it is created
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        finally:
            consumer.close()

    def create_topics(self, topics: dict[str, int]) -> None:
        create_topics(self.bootstrap, topics)

    def stop(self) -> None:
        """SIGTERM to the JVM (SIGKILL after 20 s), then remove the temporary dir; a second call does nothing."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.send_signal(signal.SIGTERM)
                try:
                    self._proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            self._proc = None
        if self._own_dir and not os.environ.get(KEEP_ENV):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def _cluster_id() -> str:
    """A random 16-byte cluster id, base64url without padding (what `kafka-storage random-uuid` prints)."""
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def create_topics(bootstrap: str, topics: dict[str, int], *, recreate: bool = False) -> None:
    """Create `topics` (name -> partitions, replication 1); with `recreate`, delete existing ones first."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = set(admin.list_topics(timeout=10).topics)
    doomed = [t for t in topics if t in existing] if recreate else []
    if doomed:
        for f in admin.delete_topics(doomed, operation_timeout=30).values():
            f.result()
        deadline = time.monotonic() + 30
        while set(doomed) & set(admin.list_topics(timeout=10).topics) and time.monotonic() < deadline:
            time.sleep(0.2)
    new = [NewTopic(t, n, 1) for t, n in topics.items() if recreate or t not in existing]
    if new:
        for f in admin.create_topics(new, operation_timeout=30).values():
            f.result()
    # A created topic is served once its leaders are known to the broker's metadata cache.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        meta = admin.list_topics(timeout=10).topics
        if all(t in meta and len(meta[t].partitions) == n and all(p.leader >= 0 for p in meta[t].partitions.values())
               for t, n in topics.items()):
            return
        time.sleep(0.2)
    raise RuntimeError(f"topics {sorted(topics)} were created but have no leaders after 30 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--topic", action="append", default=[], help="NAME:PARTITIONS (repeatable)")
    ns = parser.parse_args()
    topics = {t.rpartition(":")[0]: int(t.rpartition(":")[2]) for t in ns.topic}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with KafkaBroker() as broker:
        print("BOOTSTRAP", broker.bootstrap, flush=True)
        broker.create_topics(topics)
        print("READY", flush=True)
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        stop.wait()


if __name__ == "__main__":
    main()

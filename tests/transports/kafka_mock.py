"""A Kafka test broker: librdkafka's built-in mock cluster, run in a process of its own.

No Kafka distribution can be installed here, but librdkafka (bundled in the confluent-kafka wheel,
`site-packages/confluent_kafka.libs/librdkafka-*.so*`) contains a mock cluster that speaks the real
Kafka protocol over TCP, with consumer groups, idempotence and the transaction APIs (but see
`test_kafka_broker.test_transactions`: its TxnOffsetCommit stores nothing). It is started through
ctypes:

    rk = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), errstr, sizeof errstr)
    mcluster = rd_kafka_mock_cluster_new(rk, broker_cnt)
    rd_kafka_mock_cluster_bootstraps(mcluster)  -> "127.0.0.1:port,..."
    rd_kafka_mock_topic_create(mcluster, topic, partitions, replication)   (no CreateTopics API)

Run as a script (`python kafka_mock.py --brokers 1 --topic raw.orders.events:8 ...`) it prints
`BOOTSTRAP <servers>` on stdout, then `READY` once the topics exist, and serves until stdin closes or
it gets SIGTERM. `MockKafka` drives that from the test process; the mock's threads then never share
an interpreter (or a GIL) with the clients under test.
"""

from __future__ import annotations

import argparse
import ctypes
import glob
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

RD_KAFKA_PRODUCER = 0


def librdkafka_path() -> str:
    """The librdkafka the installed confluent_kafka loads (the wheel bundles it next to the package)."""
    import confluent_kafka

    pkg = Path(confluent_kafka.__file__).resolve().parent
    patterns = [str(pkg.parent / "confluent_kafka.libs" / "librdkafka*.so*"), str(pkg / "librdkafka*.so*"),
                str(pkg / ".dylibs" / "librdkafka*.dylib")]
    for pattern in patterns:
        hits = sorted(glob.glob(pattern))
        if hits:
            return hits[0]
    raise RuntimeError(f"librdkafka not found next to confluent_kafka (looked in {patterns}); install the "
                       "confluent-kafka wheel (`pip install confluent-kafka`) rather than a source build")


def _serve(brokers: int, topics: list[tuple[str, int]]) -> None:
    lib = ctypes.CDLL(librdkafka_path())
    lib.rd_kafka_conf_new.restype = ctypes.c_void_p
    lib.rd_kafka_new.restype = ctypes.c_void_p
    lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
    lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
    lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_mock_topic_create.restype = ctypes.c_int
    lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    lib.rd_kafka_mock_cluster_destroy.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_destroy.argtypes = [ctypes.c_void_p]

    errstr = ctypes.create_string_buffer(512)
    rk = lib.rd_kafka_new(RD_KAFKA_PRODUCER, lib.rd_kafka_conf_new(), errstr, ctypes.sizeof(errstr))
    if not rk:
        raise RuntimeError(f"rd_kafka_new failed: {errstr.value.decode()}")
    mcluster = lib.rd_kafka_mock_cluster_new(rk, brokers)
    if not mcluster:
        raise RuntimeError("rd_kafka_mock_cluster_new failed")
    print("BOOTSTRAP", lib.rd_kafka_mock_cluster_bootstraps(mcluster).decode(), flush=True)
    for name, partitions in topics:
        err = lib.rd_kafka_mock_topic_create(mcluster, name.encode(), partitions, min(brokers, 3))
        if err:
            raise RuntimeError(f"rd_kafka_mock_topic_create({name}, {partitions}) failed: error {err}")
    print("READY", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    lib.rd_kafka_mock_cluster_destroy(mcluster)
    lib.rd_kafka_destroy(rk)


class MockKafka:
    """The mock cluster in a child process; `bootstrap` is its `host:port[,...]` list."""

    def __init__(self, topics: dict[str, int], brokers: int = 1) -> None:
        self.topics = topics
        self.brokers = brokers
        self.bootstrap = ""
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> MockKafka:
        args = [sys.executable, __file__, "--brokers", str(self.brokers)]
        for name, partitions in self.topics.items():
            args += ["--topic", f"{name}:{partitions}"]
        self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                      env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == "BOOTSTRAP":
                self.bootstrap = rest
            elif word == "READY":
                return self
        code = self._proc.wait(timeout=10)
        self._proc.stdout.close()
        raise RuntimeError(f"the librdkafka mock cluster exited ({code}) before it was ready; see stderr above")

    def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._proc = None

    def __enter__(self) -> MockKafka:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--brokers", type=int, default=1)
    parser.add_argument("--topic", action="append", default=[], help="NAME:PARTITIONS (repeatable)")
    ns = parser.parse_args()
    topics = [(t.rpartition(":")[0], int(t.rpartition(":")[2])) for t in ns.topic]
    _serve(ns.brokers, topics)


if __name__ == "__main__":
    main()

"""Where stream evidence goes: a list (tests), a JSON-lines file, the platform's HTTP API, or Kafka.

Every sink has `emit(evidence)` and `flush()`; sinks that batch (HTTP) send on `flush` or when the
batch is full. Delivery failures are infrastructure errors and raise `EvidenceSinkError`.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from signal_factory.errors import SignalFactoryError
from signal_factory.integrations.stream.model import StreamEvidence, encode_stream_evidence

if TYPE_CHECKING:
    from types import TracebackType

EVIDENCE_TOPIC = "signal_factory.evidence"
EVIDENCE_PATH = "/api/v1/evidence"


class EvidenceSinkError(SignalFactoryError):
    """Evidence could not be delivered (the endpoint refused it or could not be reached)."""


class EvidenceSink(Protocol):
    def emit(self, evidence: StreamEvidence) -> None: ...

    def flush(self) -> None: ...


class _Closing:
    def close(self) -> None:
        self.flush()

    def flush(self) -> None:  # pragma: no cover - overridden
        pass

    def __enter__(self) -> _Closing:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class ListSink:
    """Keeps evidence in memory (`items`), for tests and in-process wiring."""

    def __init__(self) -> None:
        self.items: list[StreamEvidence] = []

    def emit(self, evidence: StreamEvidence) -> None:
        self.items.append(evidence)

    def flush(self) -> None:
        pass


class JsonLinesSink(_Closing):
    """Appends one JSON line per evidence to `path` (created with its parent folders)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = self.path.open("ab")

    def emit(self, evidence: StreamEvidence) -> None:
        self._file.write(encode_stream_evidence(evidence) + b"\n")

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


class HttpSink(_Closing):
    """POSTs batches as JSON lines to `<url>/api/v1/evidence` with a bearer token."""

    def __init__(self, url: str, token: str | None = None, *, batch_size: int = 500, timeout: float = 10.0) -> None:
        self.endpoint = url.rstrip("/") + EVIDENCE_PATH if not url.rstrip("/").endswith(EVIDENCE_PATH) \
            else url.rstrip("/")
        self._token = token
        self._batch_size = batch_size
        self._timeout = timeout
        self._buffer: list[bytes] = []

    def __repr__(self) -> str:  # never print the token
        return f"HttpSink({self.endpoint!r}, token={'***' if self._token else None})"

    def emit(self, evidence: StreamEvidence) -> None:
        self._buffer.append(encode_stream_evidence(evidence))
        if len(self._buffer) >= self._batch_size:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        body = b"\n".join(self._buffer) + b"\n"
        headers = {"Content-Type": "application/x-ndjson"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                response.read()
        except urllib.error.HTTPError as e:
            detail = e.read()[:500].decode("utf-8", "replace")
            raise EvidenceSinkError(
                f"POST {self.endpoint} answered {e.code}: {detail} - check the token and that the server "
                f"accepts urn:schema:evidence:2 JSON lines") from e
        except (urllib.error.URLError, OSError) as e:
            raise EvidenceSinkError(f"POST {self.endpoint} failed: {e} - is the Signal Factory API running?") from e
        self._buffer.clear()


class KafkaSink(_Closing):
    """Produces evidence to `signal_factory.evidence`, keyed by dataset URN (so a dataset's evidence
    stays ordered in one partition). confluent-kafka is imported only when this sink is built."""

    def __init__(self, config: dict[str, Any] | str, topic: str = EVIDENCE_TOPIC, *, producer: Any = None) -> None:
        if producer is None:
            try:
                from confluent_kafka import Producer  # noqa: PLC0415 - lazy: confluent-kafka is optional
            except ImportError as e:
                raise EvidenceSinkError("KafkaSink needs confluent-kafka: pip install confluent-kafka") from e
            conf: dict[str, Any] = {"bootstrap.servers": config} if isinstance(config, str) else dict(config)
            conf.setdefault("enable.idempotence", True)
            producer = Producer(conf)
        self._producer = producer
        self.topic = topic

    def emit(self, evidence: StreamEvidence) -> None:
        self._producer.produce(self.topic, key=evidence.dataset_urn.encode(), value=encode_stream_evidence(evidence))
        self._producer.poll(0)

    def flush(self) -> None:
        left = self._producer.flush(30)
        if left:
            raise EvidenceSinkError(f"{left} evidence messages not delivered to {self.topic} within 30s")

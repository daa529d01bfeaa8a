"""OpenLineage events as received (spec 2-0-2, seed 2.2 and Scenario 2 Steps 2, 3 and 5): the three
event types the spec defines, told apart as the spec's `oneOf` does, by their required keys:

- `RunEvent` (`run` + `job`): a run's state transition, with its inputs and outputs;
- `DatasetEvent` (`dataset`, no `run`/`job`): static metadata about one dataset (schema, owner, ...);
- `JobEvent` (`job`, no `run`): static metadata about a job (its facets, declared inputs and outputs).

The field names and which are required mirror `openlineage.client.event_v2` (the reference library; a
test holds them together). Lenient by design: unknown keys and facets are kept as plain data
(`facets: dict`), so any producer's custom facets pass through. Strict only on what the pipeline keys on:
`eventTime`, `run.runId`, `job.namespace`/`job.name`, `dataset.namespace`/`dataset.name`, and `eventType`
when a RunEvent has one (the spec makes it optional; without it the event is `OTHER`). A malformed event
is an `OpenLineageEventError` whose message says what was expected and where. Every producer-controlled
string (names, ids, facets, key names) goes through the guard (`enforcer/inflows.guard_run_event_doc`) as
the event is read, before anything else sees it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from signal_factory.enforcer.inflows import guard_run_event_doc
from signal_factory.errors import SignalFactoryError
from signal_factory.model.timefmt import parse_iso_ms
from signal_factory.privacy.guard import safe_text

START = "START"
RUNNING = "RUNNING"
COMPLETE = "COMPLETE"
FAIL = "FAIL"
ABORT = "ABORT"
OTHER = "OTHER"
EVENT_TYPES = (START, RUNNING, COMPLETE, FAIL, ABORT, OTHER)
TERMINAL = (COMPLETE, FAIL, ABORT)


class OpenLineageEventError(SignalFactoryError):
    """A body that is not a usable OpenLineage RunEvent. `status` is the HTTP status it maps to:
    400 when the bytes are not JSON, 422 when JSON but not a valid RunEvent."""

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class JobRef(msgspec.Struct, omit_defaults=True):
    namespace: str
    name: str
    facets: dict[str, Any] = msgspec.field(default_factory=dict)


class RunRef(msgspec.Struct, omit_defaults=True):
    runId: str  # noqa: N815 - the spec's field name
    facets: dict[str, Any] = msgspec.field(default_factory=dict)


class DatasetRef(msgspec.Struct, omit_defaults=True):
    namespace: str
    name: str
    facets: dict[str, Any] = msgspec.field(default_factory=dict)
    inputFacets: dict[str, Any] = msgspec.field(default_factory=dict)  # noqa: N815
    outputFacets: dict[str, Any] = msgspec.field(default_factory=dict)  # noqa: N815

    def facet(self, name: str) -> Any:
        """A facet by name from `facets`, `outputFacets` or `inputFacets` (producers put some in either)."""
        for source in (self.facets, self.outputFacets, self.inputFacets):
            if name in source:
                return source[name]
        return None


class RunEvent(msgspec.Struct, omit_defaults=True, kw_only=True):
    eventTime: str  # noqa: N815
    run: RunRef
    job: JobRef
    eventType: str = OTHER  # noqa: N815 - optional in the spec
    inputs: list[DatasetRef] = msgspec.field(default_factory=list)
    outputs: list[DatasetRef] = msgspec.field(default_factory=list)
    producer: str | None = None
    schemaURL: str | None = None  # noqa: N815

    @property
    def run_id(self) -> str:
        return self.run.runId

    @property
    def time_ms(self) -> int:
        ms = parse_iso_ms(self.eventTime)
        assert ms is not None  # checked by parse_run_event
        return ms


class DatasetEvent(msgspec.Struct, omit_defaults=True, kw_only=True):
    """Static metadata about one dataset (`StaticDataset`: namespace, name, facets), no run."""

    eventTime: str  # noqa: N815
    dataset: DatasetRef
    producer: str | None = None
    schemaURL: str | None = None  # noqa: N815

    @property
    def time_ms(self) -> int:
        ms = parse_iso_ms(self.eventTime)
        assert ms is not None  # checked by event_from_obj
        return ms


class JobEvent(msgspec.Struct, omit_defaults=True, kw_only=True):
    """Static metadata about a job (facets, declared inputs and outputs), no run."""

    eventTime: str  # noqa: N815
    job: JobRef
    inputs: list[DatasetRef] = msgspec.field(default_factory=list)
    outputs: list[DatasetRef] = msgspec.field(default_factory=list)
    producer: str | None = None
    schemaURL: str | None = None  # noqa: N815

    @property
    def time_ms(self) -> int:
        ms = parse_iso_ms(self.eventTime)
        assert ms is not None  # checked by event_from_obj
        return ms


#: Any OpenLineage event (the spec's top-level `oneOf`).
Event = RunEvent | DatasetEvent | JobEvent
#: What each event type requires (spec 2-0-2 beyond BaseEvent's eventTime), for error messages.
_REQUIRED = {RunEvent: "eventTime, run.runId, job.namespace, job.name",
             DatasetEvent: "eventTime, dataset.namespace, dataset.name",
             JobEvent: "eventTime, job.namespace, job.name"}
_encoder = msgspec.json.Encoder()


def parse_event(data: bytes | str, where: str = "the event") -> Event:
    """Decode and check one event of any type; raise `OpenLineageEventError` naming what is wrong and where."""
    try:
        doc = msgspec.json.decode(data)
    except msgspec.DecodeError as e:
        raise OpenLineageEventError(f"{where} is not JSON: {e}", status=400) from e
    return event_from_obj(doc, where)


def parse_run_event(data: bytes | str, where: str = "the event") -> RunEvent:
    """`parse_event` for a caller that takes RunEvents only."""
    event = parse_event(data, where)
    if not isinstance(event, RunEvent):
        raise OpenLineageEventError(f"{where}: expected a RunEvent (with `run`), got a {type(event).__name__}")
    return event


def event_kind(doc: dict[str, Any]) -> type[RunEvent] | type[DatasetEvent] | type[JobEvent]:
    """Which event type a JSON object is, by the keys each type requires (as the spec's `oneOf` tells them)."""
    if "run" in doc:
        return RunEvent
    if "dataset" in doc and "job" not in doc:
        return DatasetEvent
    return JobEvent if "job" in doc else RunEvent


def event_from_obj(doc: Any, where: str = "the event") -> Event:
    if not isinstance(doc, dict):
        raise OpenLineageEventError(f"{where}: expected a RunEvent JSON object (or a DatasetEvent or JobEvent), "
                                    f"got {type(doc).__name__}")
    kind = event_kind(doc)
    doc = guard_run_event_doc(doc)  # the edge: no producer-controlled string goes further unguarded
    try:
        event = msgspec.convert(doc, kind)
    except msgspec.ValidationError as e:
        raise OpenLineageEventError(f"{where} is not an OpenLineage {kind.__name__}: {e} "
                                    f"(required: {_REQUIRED[kind]})") from e
    if isinstance(event, RunEvent) and event.eventType not in EVENT_TYPES:
        raise OpenLineageEventError(f"{where}: eventType {safe_text(event.eventType)!r} is not one of "
                                    f"{', '.join(EVENT_TYPES)}")
    if parse_iso_ms(event.eventTime) is None:
        raise OpenLineageEventError(f"{where}: eventTime {safe_text(event.eventTime)!r} is not an ISO-8601 time "
                                    "(e.g. 2024-01-15T02:08:45.000Z)")
    for value, name in _identity(event):
        if not value.strip():
            raise OpenLineageEventError(f"{where}: `{name}` is empty; it must identify the "
                                        f"{name.split('.')[0]}")
    return event


def _identity(event: Event) -> list[tuple[str, str]]:
    if isinstance(event, DatasetEvent):
        return [(event.dataset.namespace, "dataset.namespace"), (event.dataset.name, "dataset.name")]
    out = [(event.job.namespace, "job.namespace"), (event.job.name, "job.name")]
    return [(event.run.runId, "run.runId"), *out] if isinstance(event, RunEvent) else out


def encode_event(event: Event) -> bytes:
    return _encoder.encode(event)


def parse_body(body: bytes, where: str = "the body") -> list[Event]:
    """Events in a body that is one event, a JSON array of them, or JSON lines. All are checked
    before any is returned, so a bad event rejects the whole body."""
    text = body.strip()
    if not text:
        raise OpenLineageEventError(f"{where} is empty: send an OpenLineage RunEvent (JSON)", status=400)
    try:
        doc = msgspec.json.decode(text)
    except msgspec.DecodeError:
        doc = None
        if not text.startswith((b"{", b"[")) or b"\n" not in text:
            parse_event(text, where)  # raises with the decoder's reason
    if isinstance(doc, list):
        return [event_from_obj(item, f"{where}, item {i}") for i, item in enumerate(doc)]
    if doc is not None:
        return [event_from_obj(doc, where)]
    return [parse_event(line.strip(), f"{where}, line {n}")
            for n, line in enumerate(text.splitlines(), start=1) if line.strip()]

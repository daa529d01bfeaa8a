"""What the OpenLineage inflow keeps (jobs, datasets and runs with their facets as received): model types, so
the store that holds them depends on the model rather than on the OpenLineage adapter."""

from __future__ import annotations

from typing import Any

import msgspec


class Facets(msgspec.Struct, omit_defaults=True):
    """Facets by name as received, and the event time (ms) each kept one came with."""

    facets: dict[str, Any] = msgspec.field(default_factory=dict)
    ms: dict[str, int] = msgspec.field(default_factory=dict)

    def merge(self, incoming: dict[str, Any], at_ms: int) -> None:
        for name, facet in incoming.items():
            if self.ms.get(name, -1) > at_ms:
                continue  # a newer event already set this facet
            self.ms[name] = at_ms
            if isinstance(facet, dict) and facet.get("_deleted") is True:
                self.facets.pop(name, None)
            else:
                self.facets[name] = facet


class DatasetId(msgspec.Struct, frozen=True, array_like=True):
    namespace: str
    name: str


class JobEntry(msgspec.Struct, omit_defaults=True, kw_only=True):
    namespace: str
    name: str
    type: str = "BATCH"
    created_at: str
    updated_at: str
    updated_ms: int
    facets: Facets = msgspec.field(default_factory=Facets)
    inputs: list[DatasetId] = msgspec.field(default_factory=list)
    outputs: list[DatasetId] = msgspec.field(default_factory=list)
    io_ms: int = -1  # event time of the inputs/outputs kept
    latest_run_id: str | None = None
    latest_run_ms: int = -1
    parent_job: str | None = None


class DatasetEntry(msgspec.Struct, omit_defaults=True, kw_only=True):
    namespace: str
    name: str
    key: str  # the graph's Dataset key: the control-plane URN when lineage.yaml maps it
    created_at: str
    updated_at: str
    updated_ms: int
    facets: Facets = msgspec.field(default_factory=Facets)
    input_facets: Facets = msgspec.field(default_factory=Facets)
    output_facets: Facets = msgspec.field(default_factory=Facets)
    last_modified_at: str | None = None  # a COMPLETE run wrote it
    last_modified_ms: int = -1
    last_run_id: str | None = None


class EventEntry(msgspec.Struct, omit_defaults=True):
    event_type: str
    event_time: str
    event_ms: int


class RunDataset(msgspec.Struct, omit_defaults=True):
    """A dataset the run read or wrote, with the input (or output) facets its latest event gave it."""

    namespace: str
    name: str
    facets: dict[str, Any] = msgspec.field(default_factory=dict)


class RunRecord(msgspec.Struct, omit_defaults=True, kw_only=True):
    run_id: str
    job_namespace: str
    job_name: str
    state: str
    processing_type: str
    started_at: str | None = None
    ended_at: str | None = None
    updated_at: str
    updated_ms: int
    parent_run_id: str | None = None
    parent_job: str | None = None
    inputs: list[str] = msgspec.field(default_factory=list)
    outputs: list[str] = msgspec.field(default_factory=list)
    events: list[EventEntry] = msgspec.field(default_factory=list)
    schema_changes: list[dict[str, Any]] = msgspec.field(default_factory=list)
    totals: dict[str, Any] | None = None
    #: Every run facet as received (latest per name), custom ones included; the job's facets as of the run.
    facets: Facets = msgspec.field(default_factory=Facets)
    job_facets: dict[str, Any] = msgspec.field(default_factory=dict)
    #: The `errorMessage` run facet of a FAIL (message, programmingLanguage, stackTrace), as received.
    error: dict[str, Any] | None = None
    input_versions: list[RunDataset] = msgspec.field(default_factory=list)
    output_versions: list[RunDataset] = msgspec.field(default_factory=list)

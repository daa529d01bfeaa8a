"""Load and validate a control-plane directory. Every problem is a `ConfigError` naming file, line, fix.

Layout (see docs/control-plane.md):
    signal-factory.yaml     platform settings (optional)
    datasets.yaml           datasets: URN, tier, owner, SLOs, schema, contract, FEEDS edges
    topics.yaml             topic -> dataset (and the producer that owns the topic)
    producers.yaml          known producer services (optional)
    contracts/*.odcs.yaml   ODCS v3.0.x-v3.2.0 data contracts (checked against their version's JSON Schema)
    schemas/*.json|*.avsc   JSON Schema (`$id`) and Avro (`x-schema-id`) schemas
    s3.yaml                 S3 bucket/prefix -> dataset and format (optional; `controlplane/objects.py`)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import pydantic
from open_data_contract_standard.model import OpenDataContractStandard

from signal_factory.contracts.compile import ContractCompileError, compile_contract
from signal_factory.contracts.rules import CompiledContract
from signal_factory.contracts.standard import check_standard
from signal_factory.controlplane.model import (
    URN_PATTERN,
    WINDOW_KINDS,
    Dataset,
    DatasetsFile,
    PlatformSettings,
    ProducersFile,
    ProducerSpec,
    TopicMapping,
    TopicsFile,
)
from signal_factory.controlplane.objects import ObjectRoute, load_object_routes, route_for
from signal_factory.controlplane.yamlsrc import YamlDoc
from signal_factory.errors import ConfigError
from signal_factory.registry.local import LocalSchemaRegistry

T = TypeVar("T")
_MSGSPEC_AT = re.compile(r" - at `(\$[^`]*)`$")
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `([^`]+)`")
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class ConfigGap:
    """Something that loads but does nothing yet (e.g. a contract with no schema): file, line, fix."""

    file: str
    line: int | None
    message: str
    fix: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}\n  fix: {self.fix}"


@dataclass(frozen=True)
class ControlPlane:
    """Everything the pipeline needs to know about the data estate, validated."""

    root: Path
    settings: PlatformSettings
    datasets: dict[str, Dataset]
    topics: dict[str, TopicMapping]
    producers: dict[str, ProducerSpec]
    contracts: dict[str, CompiledContract]
    schemas: LocalSchemaRegistry
    contract_files: dict[str, Path] = field(default_factory=dict)
    # Contract clauses stated but not enforced at all ("file:line: message (at `key`)"), for `config check`
    # and the start of enforce/replay/serve to show: sql/custom rules, unknown metrics, options we do not check.
    notices: tuple[str, ...] = ()
    # Aggregate quality rules measured per window (informational, same form): rowCount, duplicates, ratios.
    window_rules: tuple[str, ...] = ()
    # Contracts that load but enforce nothing yet (`datacontract init` output no dataset uses).
    gaps: tuple[ConfigGap, ...] = ()
    # S3 locations -> datasets (`s3.yaml`), most specific first.
    objects: tuple[ObjectRoute, ...] = ()

    def dataset_for_topic(self, topic: str) -> Dataset | None:
        mapping = self.topics.get(topic)
        return self.datasets.get(mapping.dataset) if mapping else None

    def object_route(self, bucket: str, key: str) -> ObjectRoute | None:
        return route_for(self.objects, bucket, key)

    def contract_for(self, dataset: Dataset) -> CompiledContract | None:
        return self.contracts.get(dataset.contract) if dataset.contract else None

    def downstream(self, urn: str) -> list[str]:
        ds = self.datasets.get(urn)
        return [e.to for e in ds.feeds] if ds else []


def parse_duration(text: str) -> float:
    """'90s', '5m', '1h', '2d', '250ms' -> seconds."""
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h or 2d")
    return int(m.group(1)) * _UNITS[m.group(2)]


def _decode(doc: YamlDoc, kind: type[T], example: str) -> T:
    try:
        return msgspec.convert(doc.data if doc.data is not None else {}, kind, strict=False)
    except msgspec.ValidationError as e:
        text = str(e)
        m = _MSGSPEC_AT.search(text)
        key = m.group(1) if m else "$"
        message = _MSGSPEC_AT.sub("", text)
        unknown = _UNKNOWN_FIELD.match(message)
        if unknown:
            key = f"{key}.{unknown.group(1)}"  # point at the offending key's own line
            fix = f"remove or rename that key; see {example} for the keys this file takes"
        elif message.startswith("Object missing required field"):
            fix = f"add the missing key; see {example}"
        else:
            fix = f"give it a value of the expected type; see {example}"
        raise doc.error(message, key, fix) from e


def _load_optional(root: Path, name: str) -> YamlDoc | None:
    path = root / name
    return YamlDoc.load(path) if path.exists() else None


def _check_settings(doc: YamlDoc, settings: PlatformSettings) -> None:
    """Values the types cannot check: durations written as text."""
    try:
        parse_duration(settings.evidence.retention)
    except ValueError as e:
        raise doc.error(str(e), ("evidence", "retention"),
                        "write a number and a unit: 7d, 30d, 12h") from e
    try:
        parse_duration(settings.event_time.max_future_skew)
    except ValueError as e:
        raise doc.error(str(e), ("event_time", "max_future_skew"),
                        "write a number and a unit: 5m, 30s, 1h") from e


def load_control_plane(root: Path | str) -> ControlPlane:
    """Load `root`, check every cross-reference, compile contracts. Raises `ConfigError`."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(str(root), "config directory does not exist",
                          fix="pass --config DIR (or set SIGNAL_FACTORY_CONFIG) naming a folder with "
                              "datasets.yaml and topics.yaml; the default, examples/orders, exists only "
                              "in a source checkout")
    settings_doc = _load_optional(root, "signal-factory.yaml")
    settings = _decode(settings_doc, PlatformSettings, "docs/control-plane.md") if settings_doc \
        else PlatformSettings()

    if settings_doc is not None:
        _check_settings(settings_doc, settings)
    ds_doc = _load_optional(root, "datasets.yaml")
    if ds_doc is None:
        raise ConfigError(str(root / "datasets.yaml"), "file is missing",
                          fix="create datasets.yaml with a `datasets:` list (see examples/orders)")
    datasets_file = _decode(ds_doc, DatasetsFile, "examples/orders/datasets.yaml")
    topics_doc = _load_optional(root, "topics.yaml")
    topics_file = _decode(topics_doc, TopicsFile, "examples/orders/topics.yaml") if topics_doc \
        else TopicsFile(topics=[])
    producers_doc = _load_optional(root, "producers.yaml")
    producers_file = _decode(producers_doc, ProducersFile, "examples/orders/producers.yaml") \
        if producers_doc else ProducersFile()

    schemas = LocalSchemaRegistry.from_dir(root / "schemas")
    contracts, contract_docs = _load_contracts(root / "contracts")

    datasets: dict[str, Dataset] = {}
    for i, ds in enumerate(datasets_file.datasets):
        _check_dataset(ds_doc, i, ds, datasets)
        datasets[ds.urn] = ds
    for i, ds in enumerate(datasets_file.datasets):
        _check_references(ds_doc, i, ds, datasets, contracts, schemas, settings)

    topics: dict[str, TopicMapping] = {}
    assert topics_doc is not None or not topics_file.topics
    for i, t in enumerate(topics_file.topics):
        if t.dataset not in datasets:
            assert topics_doc is not None
            raise topics_doc.error(f"topic {t.topic!r} maps to unknown dataset {t.dataset!r}",
                                   ("topics", i, "dataset"),
                                   f"use one of: {', '.join(sorted(datasets))}")
        if t.topic in topics:
            assert topics_doc is not None
            raise topics_doc.error(f"topic {t.topic!r} is mapped twice", ("topics", i, "topic"),
                                   "map each topic to exactly one dataset")
        topics[t.topic] = t

    objects = load_object_routes(root, datasets)
    compiled, notices, gaps, window_rules = _compile_contracts(ds_doc, datasets_file.datasets, contracts,
                                                               contract_docs)
    return ControlPlane(root=root, settings=settings, datasets=datasets, topics=topics,
                        producers={p.id: p for p in producers_file.producers}, contracts=compiled,
                        schemas=schemas, contract_files={cid: d.path for cid, d in contract_docs.items()},
                        notices=notices, gaps=gaps, window_rules=window_rules, objects=objects)


def _compile_contracts(ds_doc: YamlDoc, datasets: list[Dataset], contracts: dict[str, OpenDataContractStandard],
                       docs: dict[str, YamlDoc]
                       ) -> tuple[dict[str, CompiledContract], tuple[str, ...], tuple[ConfigGap, ...], tuple[str, ...]]:
    """Compile every contract: (compiled, clauses not enforced, gaps, rules measured per window). A contract no dataset
    uses may have no schema yet (`datacontract init` makes such files): that is a gap, not an error;
    any other problem is a `ConfigError` at its line."""
    compiled: dict[str, CompiledContract] = {}
    notices: list[str] = []
    window_rules: list[str] = []
    gaps: list[ConfigGap] = []
    wanted: list[tuple[str, str | None, int | None]] = [
        (ds.contract, ds.contract_object, i) for i, ds in enumerate(datasets) if ds.contract]
    used = {w[0] for w in wanted}
    for cid, contract in contracts.items():
        if cid in used:
            continue
        if contract.schema_:
            wanted.append((cid, None, None))
            continue
        doc = docs[cid]
        gaps.append(ConfigGap(str(doc.path), doc.line_of(("schema",)),
                              f"contract {cid!r} has no `schema` objects, so it enforces nothing "
                              "(and no dataset uses it)",
                              "add a `schema:` list whose `properties` are the record's fields, "
                              "then set `contract:` on a dataset in datasets.yaml"))
    for cid, object_name, i in wanted:  # a contract two datasets share: the last one's object (as before)
        doc = docs[cid]
        names = [o.name for o in contracts[cid].schema_ or []]
        if i is not None and object_name is not None and names and object_name not in names:
            raise ds_doc.error(f"contract {cid!r} has no schema object named {object_name!r}",
                               ("datasets", i, "contract_object"), f"use one of: {', '.join(map(str, names))}")
        try:  # the raw YAML keeps clauses the ODCS model drops (v3.0's top-level `validValues`)
            compiled[cid] = compile_contract(contracts[cid], object_name,
                                             raw=doc.data if isinstance(doc.data, dict) else None)
        except ContractCompileError as e:
            raise _compile_error(doc, e) from e
        notices += [str(ConfigError(str(doc.path), n.message, line=doc.line_of(f"$.{n.key}"), key=n.key))
                    for n in compiled[cid].notices]
        window_rules += [str(ConfigError(str(doc.path), f"{a.signature} {a.metric} {a.threshold()} "
                                         f"(unit {a.unit}, {a.severity})", line=doc.line_of(f"$.{a.key}"), key=a.key))
                         for a in compiled[cid].aggregates]
    return compiled, tuple(dict.fromkeys(notices)), tuple(gaps), tuple(dict.fromkeys(window_rules))


def _compile_error(doc: YamlDoc, e: ContractCompileError) -> ConfigError:
    fix = e.fix or (f"correct `{e.key}`; docs/control-plane.md lists what each ODCS clause takes "
                    "and enforces")
    return doc.error(str(e), f"$.{e.key}", fix)


def _check_dataset(doc: YamlDoc, i: int, ds: Dataset, seen: dict[str, Dataset]) -> None:
    at: tuple[str | int, ...] = ("datasets", i)
    if not URN_PATTERN.match(ds.urn):
        raise doc.error(f"dataset URN {ds.urn!r} is not of the form urn:dp:<domain>:<name>", (*at, "urn"),
                        "use lowercase letters and underscores, e.g. urn:dp:orders:created")
    if ds.urn in seen:
        raise doc.error(f"dataset {ds.urn!r} is defined twice", (*at, "urn"), "keep one definition")
    if ds.tier not in (1, 2, 3):
        raise doc.error(f"tier must be 1, 2 or 3, got {ds.tier}", (*at, "tier"),
                        "1 = revenue-critical, 2 = important, 3 = best effort")
    slos: list[tuple[str, Any]] = [("contract_compliance", ds.slo.contract_compliance)]
    if ds.slo.data_quality is not None:
        slos.append(("data_quality", ds.slo.data_quality))
    for name, slo in slos:
        if not 0 <= slo.warning_threshold <= slo.threshold <= 1:
            raise doc.error(
                f"{name}: need 0 <= warning_threshold ({slo.warning_threshold}) <= threshold "
                f"({slo.threshold}) <= 1", (*at, "slo", name),
                "thresholds are ratios; e.g. threshold: 0.95, warning_threshold: 0.80")
    if ds.slo.freshness is not None:
        try:
            parse_duration(ds.slo.freshness.expected_interval)
        except ValueError as e:
            raise doc.error(str(e), (*at, "slo", "freshness", "expected_interval"),
                            "write a number and a unit: 30s, 5m, 1h, 1d") from e
    if ds.window is not None and ds.window not in WINDOW_KINDS:
        raise doc.error(f"window {ds.window!r} is not a window kind", (*at, "window"),
                        f"use one of: {', '.join(WINDOW_KINDS)} (or leave `window` out for the default, "
                        "TUMBLING_5MIN)")
    if ds.pass_sample_rate is not None and not 0 <= ds.pass_sample_rate <= 1:
        raise doc.error("pass_sample_rate must be between 0 and 1", (*at, "pass_sample_rate"),
                        "e.g. 0.1 keeps one PASS evidence in ten")


def _check_references(doc: YamlDoc, i: int, ds: Dataset, datasets: dict[str, Dataset],
                      contracts: dict[str, OpenDataContractStandard], schemas: LocalSchemaRegistry,
                      settings: PlatformSettings) -> None:
    at: tuple[str | int, ...] = ("datasets", i)
    for j, edge in enumerate(ds.feeds):
        if edge.to not in datasets:
            raise doc.error(f"{ds.urn} feeds unknown dataset {edge.to!r}", (*at, "feeds", j, "to"),
                            "declare that dataset in datasets.yaml, or fix the URN; known: "
                            + ", ".join(sorted(datasets)))
    if ds.contract and ds.contract not in contracts:
        raise doc.error(f"contract {ds.contract!r} not found in contracts/", (*at, "contract"),
                        "add contracts/<name>.odcs.yaml with that `id`; available: "
                        + (", ".join(sorted(contracts)) or "none"))
    if ds.schema and ds.schema not in schemas.ids() and not settings.schema_registry.url:
        raise doc.error(f"schema {ds.schema!r} not found in schemas/ and no schema_registry.url set",
                        (*at, "schema"),
                        "add the schema file (JSON Schema `$id` or Avro `x-schema-id`), or configure "
                        "schema_registry.url in signal-factory.yaml; available: "
                        + (", ".join(schemas.ids()) or "none"))


def _load_contracts(folder: Path) -> tuple[dict[str, OpenDataContractStandard], dict[str, YamlDoc]]:
    contracts: dict[str, OpenDataContractStandard] = {}
    docs: dict[str, YamlDoc] = {}
    if not folder.is_dir():
        return contracts, docs
    for path in sorted(folder.glob("*.odcs.yaml")):
        doc = YamlDoc.load(path)
        if not isinstance(doc.data, dict):
            raise ConfigError(str(path), "an ODCS contract must be a YAML mapping", line=1,
                              fix="start from examples/orders/contracts/orders.created.odcs.yaml")
        violation = check_standard(doc.data)
        if violation is not None:
            raise doc.error(violation.message, violation.path, violation.fix)
        try:
            contract = OpenDataContractStandard.model_validate(doc.data)
        except pydantic.ValidationError as e:  # valid per its JSON Schema, yet the v3.2 model disagrees
            err = e.errors()[0]
            loc = tuple(err["loc"])
            raise doc.error(f"valid ODCS {doc.data['apiVersion']}, but the ODCS model cannot read it: "
                            f"{err['msg']}", loc,
                            "write this clause as ODCS v3.2.0 does (see its JSON Schema) and set "
                            "`apiVersion: v3.2.0`") from e
        cid = contract.id
        if not cid:
            raise doc.error("contract has no `id`", ("id",), "add `id: dc:<domain>.<name>:<version>`")
        if cid in contracts:
            raise doc.error(f"contract id {cid!r} is also used by {docs[cid].path}", ("id",),
                            "give each contract a unique id")
        contracts[cid] = contract
        docs[cid] = doc
    return contracts, docs

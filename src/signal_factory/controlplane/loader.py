"""Load and validate a control-plane directory. Every problem is a `ConfigError` naming file, line, fix.

Layout (see docs/control-plane.md):
    signal-factory.yaml     platform settings (optional)
    datasets.yaml           datasets: URN, tier, owner, SLOs, schema, contract, FEEDS edges
    topics.yaml             topic -> dataset (and the producer that owns the topic)
    producers.yaml          known producer services (optional)
    contracts/*.odcs.yaml   ODCS v3 data contracts
    schemas/*.json|*.avsc   JSON Schema (`$id`) and Avro (`x-schema-id`) schemas
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
from signal_factory.controlplane.model import (
    URN_PATTERN,
    Dataset,
    DatasetsFile,
    PlatformSettings,
    ProducersFile,
    ProducerSpec,
    TopicMapping,
    TopicsFile,
)
from signal_factory.controlplane.yamlsrc import YamlDoc
from signal_factory.errors import ConfigError
from signal_factory.registry.local import LocalSchemaRegistry

T = TypeVar("T")
_MSGSPEC_AT = re.compile(r" - at `(\$[^`]*)`$")
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `([^`]+)`")
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


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
    # Contract clauses stated but not evaluated per record ("file:line: message (at `key`)"), for
    # `config check` to show: aggregate quality rules, sql/custom rules, options we do not check.
    notices: tuple[str, ...] = ()

    def dataset_for_topic(self, topic: str) -> Dataset | None:
        mapping = self.topics.get(topic)
        return self.datasets.get(mapping.dataset) if mapping else None

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
                          fix="pass --config pointing at a folder with datasets.yaml and topics.yaml "
                              "(e.g. examples/orders)")
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
    contracts, contract_files = _load_contracts(root / "contracts")

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

    compiled: dict[str, CompiledContract] = {}
    notices: list[str] = []
    wanted = [(ds.contract, ds.contract_object) for ds in datasets_file.datasets if ds.contract]
    wanted += [(cid, None) for cid in contracts if cid not in {w[0] for w in wanted}]
    for cid, object_name in wanted:  # a contract two datasets share: the last one's object (as before)
        doc = YamlDoc.load(contract_files[cid])  # again, for the raw clauses the ODCS model drops
        try:
            compiled[cid] = compile_contract(contracts[cid], object_name,
                                             raw=doc.data if isinstance(doc.data, dict) else None)
        except ContractCompileError as e:
            raise ConfigError(str(contract_files[cid]), str(e), line=doc.line_of(f"$.{e.key}"), key=e.key,
                              fix="correct the contract clause named") from e
        notices += [str(ConfigError(str(doc.path), n.message, line=doc.line_of(f"$.{n.key}"), key=n.key))
                    for n in compiled[cid].notices]
    return ControlPlane(root=root, settings=settings, datasets=datasets, topics=topics,
                        producers={p.id: p for p in producers_file.producers}, contracts=compiled,
                        schemas=schemas, contract_files=contract_files, notices=tuple(dict.fromkeys(notices)))


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


def _load_contracts(folder: Path) -> tuple[dict[str, OpenDataContractStandard], dict[str, Path]]:
    contracts: dict[str, OpenDataContractStandard] = {}
    files: dict[str, Path] = {}
    if not folder.is_dir():
        return contracts, files
    for path in sorted(folder.glob("*.odcs.yaml")):
        doc = YamlDoc.load(path)
        if not isinstance(doc.data, dict):
            raise ConfigError(str(path), "an ODCS contract must be a YAML mapping", line=1,
                              fix="start from examples/orders/contracts/orders.created.odcs.yaml")
        try:
            contract = OpenDataContractStandard.model_validate(doc.data)
        except pydantic.ValidationError as e:
            err = e.errors()[0]
            loc = tuple(err["loc"])
            hint = ("this key is not part of ODCS v3; check its spelling"
                    if err["type"] == "extra_forbidden" else "fix the value to match ODCS v3")
            raise doc.error(f"not a valid ODCS v3 contract: {err['msg']}", loc, hint) from e
        cid = contract.id
        if not cid:
            raise doc.error("contract has no `id`", ("id",), "add `id: dc:<domain>.<name>:<version>`")
        if cid in contracts:
            raise doc.error(f"contract id {cid!r} is also used by {files[cid]}", ("id",),
                            "give each contract a unique id")
        contracts[cid] = contract
        files[cid] = path
    return contracts, files

"""`s3.yaml` (optional): which S3 objects belong to which dataset, in which format.

    objects:
      - {location: s3://landing/orders/, dataset: urn:dp:orders:created, format: jsonl, producer: orders-export}
      - {location: "s3://landing/*/silver/", dataset: urn:dp:orders:silver}

`location` is `s3://<bucket>/<key prefix>`; `*` matches within one path segment (no `/`). An object
belongs to the most specific location that matches it (the longest pattern). `format` (jsonl | csv |
parquet) overrides what the key's extension and the object's content type say. `producer` is the
service that writes there: G2 identity uses it (MEDIUM) when the object's metadata names none, as a
topic's owner in `topics.yaml`.

Each location is also the route key the enforcer resolves an object's rows by (`ObjectRoute.route_key`):
G1 and G2 see it where a Kafka record has its topic. Kafka topic names cannot hold `:` or `/`, so the
two never collide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import msgspec

from signal_factory.controlplane.model import Dataset
from signal_factory.controlplane.yamlsrc import YamlDoc
from signal_factory.errors import ConfigError

S3_FILE = "s3.yaml"
ObjectFormat = Literal["jsonl", "csv", "parquet"]
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")  # S3's bucket naming rules (the `*` aside)
_EXAMPLE = "docs/control-plane.md (`s3.yaml`)"


class ObjectMapping(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One entry of `s3.yaml` as written."""

    location: str
    dataset: str
    format: ObjectFormat | None = None
    producer: str | None = None


class ObjectsFile(msgspec.Struct, forbid_unknown_fields=True):
    objects: list[ObjectMapping] = []


@dataclass(frozen=True)
class ObjectRoute:
    """A validated location -> dataset (and format, producer)."""

    bucket: str
    prefix: str
    dataset: str
    format: str | None = None
    producer: str | None = None

    @property
    def route_key(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        parts = [re.escape(p) for p in f"{self.bucket}/{self.prefix}".split("*")]
        return re.compile("[^/]*".join(parts))

    def matches(self, bucket: str, key: str) -> bool:
        if "*" not in self.bucket and "*" not in self.prefix:
            return bucket == self.bucket and key.startswith(self.prefix)
        return self._pattern.match(f"{bucket}/{key}") is not None


def route_for(routes: tuple[ObjectRoute, ...], bucket: str, key: str) -> ObjectRoute | None:
    """The most specific route for an object (`routes` are kept longest pattern first)."""
    return next((r for r in routes if r.matches(bucket, key)), None)


def parse_location(text: str) -> tuple[str, str]:
    """`s3://bucket/prefix` (or `bucket/prefix`) -> (bucket, prefix); ValueError saying what is wrong."""
    rest = text.strip().removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ValueError(f"{text!r} names no bucket")
    if "*" not in bucket and not _BUCKET.match(bucket):
        raise ValueError(f"{bucket!r} is not an S3 bucket name (3-63 lowercase letters, digits, `.` and `-`)")
    return bucket, prefix


def sorted_routes(routes: list[ObjectRoute]) -> tuple[ObjectRoute, ...]:
    return tuple(sorted(routes, key=lambda r: len(r.bucket) + len(r.prefix), reverse=True))


def load_object_routes(root: Path, datasets: dict[str, Dataset]) -> tuple[ObjectRoute, ...]:
    """Read `<root>/s3.yaml` (absent: no routes). Raises `ConfigError` with file, line and fix."""
    path = root / S3_FILE
    if not path.exists():
        return ()
    doc = YamlDoc.load(path)
    try:
        parsed = msgspec.convert(doc.data if doc.data is not None else {}, ObjectsFile, strict=False)
    except msgspec.ValidationError as e:
        message, _, at = str(e).partition(" - at `")
        raise doc.error(message, at.rstrip("`") or "$",
                        f"each entry takes location, dataset, and optionally format (jsonl, csv, parquet) and "
                        f"producer; see {_EXAMPLE}") from e
    routes: list[ObjectRoute] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(parsed.objects):
        try:
            bucket, prefix = parse_location(entry.location)
        except ValueError as e:
            raise doc.error(str(e), ("objects", i, "location"),
                            "write s3://<bucket>/<key prefix>, e.g. s3://landing/orders/") from e
        if entry.dataset not in datasets:
            raise doc.error(f"location {entry.location!r} maps to unknown dataset {entry.dataset!r}",
                            ("objects", i, "dataset"), f"use one of: {', '.join(sorted(datasets))}")
        route = ObjectRoute(bucket, prefix, entry.dataset, entry.format, entry.producer)
        if route.route_key in seen:
            raise doc.error(f"location {route.route_key!r} is mapped twice (first at objects[{seen[route.route_key]}])",
                            ("objects", i, "location"), "map each location to exactly one dataset")
        seen[route.route_key] = i
        routes.append(route)
    return sorted_routes(routes)


def routes_from_mapping(mapping: dict[str, str], datasets: dict[str, Dataset]) -> tuple[ObjectRoute, ...]:
    """Routes from a Python `{"s3://bucket/prefix": urn}` (library callers and tests)."""
    unknown = sorted(urn for urn in mapping.values() if urn not in datasets)
    if unknown:
        raise ConfigError("S3 mapping", f"names datasets the control plane does not define: {unknown}",
                          fix=f"known datasets: {sorted(datasets)}")
    routes = []
    for location, urn in mapping.items():
        try:
            bucket, prefix = parse_location(location)
        except ValueError as e:
            raise ConfigError("S3 mapping", str(e), fix="write s3://<bucket>/<key prefix>") from e
        routes.append(ObjectRoute(bucket, prefix, urn))
    return sorted_routes(routes)

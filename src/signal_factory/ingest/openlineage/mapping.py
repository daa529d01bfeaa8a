"""OpenLineage dataset (namespace, name) -> control-plane dataset URN, from `lineage.yaml`.

    # <config dir>/lineage.yaml (optional)
    datasets:
      - {namespace: "s3://data-lake-prod", name: "bronze/orders/*", urn: "urn:dp:orders:bronze"}
      - {namespace: "delta://unity-catalog", name: "sales.orders_silver", urn: "urn:dp:orders:silver"}

Rules are tried in file order; `name` (and `namespace`) match exactly or as a shell glob (`*`, `?`,
`[..]`; `*` also spans `/`). A name's trailing `/` is ignored. A dataset no rule maps keeps a derived
key `ol:<namespace>/<name>` and is still a Dataset node in the graph.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path

import msgspec
import yaml

from signal_factory.errors import ConfigError

LINEAGE_FILE = "lineage.yaml"


class DatasetRule(msgspec.Struct, frozen=True):
    namespace: str
    name: str
    urn: str


class LineageConfig(msgspec.Struct, frozen=True):
    datasets: list[DatasetRule] = msgspec.field(default_factory=list)


class DatasetMapping:
    def __init__(self, rules: list[DatasetRule] | None = None) -> None:
        self.rules = list(rules or [])

    def resolve(self, namespace: str, name: str) -> str | None:
        """The control-plane URN of this dataset, or None when no rule maps it."""
        bare = name.rstrip("/") or name
        for rule in self.rules:
            if _match(namespace, rule.namespace) and (_match(name, rule.name) or _match(bare, rule.name.rstrip("/"))):
                return rule.urn
        return None

    def key(self, namespace: str, name: str) -> str:
        """The Dataset node key: the URN when mapped, else `ol:<namespace>/<name>`."""
        return self.resolve(namespace, name) or derived_key(namespace, name)


def derived_key(namespace: str, name: str) -> str:
    return f"ol:{namespace.rstrip('/')}/{name.lstrip('/')}"


def _match(value: str, pattern: str) -> bool:
    return value == pattern or fnmatchcase(value, pattern)


def load_mapping(config_dir: Path) -> DatasetMapping:
    """The rules in `config_dir/lineage.yaml`; no file means no rules (every dataset gets a derived key)."""
    path = config_dir / LINEAGE_FILE
    if not path.is_file():
        return DatasetMapping()
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        return DatasetMapping(msgspec.convert(raw, LineageConfig).datasets)
    except (yaml.YAMLError, msgspec.ValidationError) as e:
        raise ConfigError(str(path), str(e), fix="write `datasets: [{namespace, name, urn}, ...]`") from e

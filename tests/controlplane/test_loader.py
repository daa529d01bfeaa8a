"""A bad control-plane file gets an error naming the file, the line or key, and the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from signal_factory.controlplane.loader import load_control_plane, parse_duration
from signal_factory.errors import ConfigError
from tests.conftest import EXAMPLE


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    target = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture text not found: {old!r}"
    path.write_text(text.replace(old, new, 1))


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_example_config_loads(cfg: Path) -> None:
    """The shipped example recreates the seed's world: topics, tiers, SLOs, contract and schema."""
    cp = load_control_plane(cfg)
    created = cp.datasets["urn:dp:orders:created"]
    assert (created.tier, created.slo.contract_compliance.threshold,
            created.slo.contract_compliance.warning_threshold) == (1, 0.95, 0.80)
    assert cp.datasets["urn:dp:orders:silver"].slo.contract_compliance.threshold == 0.99
    assert cp.topics["raw.orders.events"].dataset == "urn:dp:orders:created"
    assert "dc:orders.created:3" in cp.contracts
    assert "glue:orders.created:17" in cp.schemas.ids()
    assert cp.downstream("urn:dp:orders:silver") == ["urn:dp:orders:gold_daily", "urn:dp:finance:revenue_pipeline"]


@pytest.mark.parametrize(("file", "old", "new", "needle", "says", "fix"), [
    ("datasets.yaml", "    tier: 2\n", "    tier: two\n", "tier: two", "Expected `int`", "expected type"),
    ("datasets.yaml", "    tier: 2\n", "    tier: 7\n", "tier: 7", "tier must be 1, 2 or 3", "revenue-critical"),
    ("datasets.yaml", "    owner: bi-team\n", "    owner: bi-team\n    ownr: x\n", "ownr", "unknown field `ownr`",
     "remove or rename"),
    ("datasets.yaml", "threshold: 0.99, warning_threshold: 0.95", "threshold: 0.90, warning_threshold: 0.95",
     "threshold: 0.90", "warning_threshold", "ratios"),
    ("datasets.yaml", "contract: dc:orders.created:3\n    slo", "contract: dc:orders.created:9\n    slo",
     "dc:orders.created:9", "not found in contracts/", "available: dc:orders.created:3"),
    ("datasets.yaml", "{to: urn:dp:orders:bronze,", "{to: urn:dp:orders:brnze,", "brnze", "unknown dataset",
     "urn:dp:orders:bronze"),
    ("datasets.yaml", "expected_interval: 5m", "expected_interval: soon", "soon", "not a duration", "30s"),
    ("topics.yaml", "dataset: urn:dp:orders:created,", "dataset: urn:dp:orders:create,",
     "urn:dp:orders:create,", "unknown dataset", "urn:dp:orders:created"),
    ("datasets.yaml", "  - urn: urn:dp:orders:bronze\n", "  - urn: urn:dp:Orders:bronze\n", "urn:dp:Orders",
     "not of the form", "lowercase"),
])
def test_bad_values_name_file_line_and_fix(cfg: Path, file: str, old: str, new: str, needle: str, says: str,
                                           fix: str) -> None:
    """Each mistake is reported at its own line with a fix, not as a traceback."""
    _edit(cfg / file, old, new)
    with pytest.raises(ConfigError) as info:
        load_control_plane(cfg)
    err = info.value
    assert err.file == str(cfg / file)
    assert says in str(err)
    assert err.fix is not None
    assert fix in err.fix
    assert err.line == _line_of(cfg / file, needle)


def test_yaml_syntax_error_names_the_line(cfg: Path) -> None:
    """Broken YAML is reported with the file and the line of the problem."""
    _edit(cfg / "topics.yaml", "topics:\n", "topics:\n  - {topic: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_control_plane(cfg)
    assert info.value.file.endswith("topics.yaml")
    assert info.value.line is not None
    assert "invalid YAML" in str(info.value)


def test_contract_that_is_not_odcs_names_the_key(cfg: Path) -> None:
    """An unknown ODCS key in a contract is named with its line."""
    path = cfg / "contracts/orders.created.odcs.yaml"
    _edit(path, "status: active\n", "status: active\nowner_team: x\n")
    with pytest.raises(ConfigError) as info:
        load_control_plane(cfg)
    assert info.value.file == str(path)
    assert info.value.line == _line_of(path, "owner_team")
    assert "ODCS" in str(info.value)


def test_contract_with_bad_regex_names_the_clause(cfg: Path) -> None:
    """An uncompilable pattern in a contract is reported with the property path."""
    path = cfg / "contracts/orders.created.odcs.yaml"
    _edit(path, 'pattern: "^[A-Z]{3}$"', 'pattern: "^[A-Z{3}$"')
    with pytest.raises(ConfigError) as info:
        load_control_plane(cfg)
    assert info.value.key is not None
    assert "logicalTypeOptions.pattern" in info.value.key
    assert "invalid regex" in str(info.value)


def test_schema_file_without_id_is_rejected(cfg: Path) -> None:
    """A JSON Schema with no `$id` cannot be referenced, so loading says how to name it."""
    path = cfg / "schemas/orders.created.17.schema.json"
    _edit(path, '"$id": "glue:orders.created:17",', "")
    with pytest.raises(ConfigError) as info:
        load_control_plane(cfg)
    assert "$id" in str(info.value)


def test_missing_directory_says_what_to_pass(tmp_path: Path) -> None:
    """Pointing --config at nothing explains what a config directory is."""
    with pytest.raises(ConfigError) as info:
        load_control_plane(tmp_path / "nope")
    assert "examples/orders" in str(info.value)


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("2d", 172800),
                                               ("250ms", 0.25)])
def test_durations(text: str, seconds: float) -> None:
    """SLO durations accept a number and a unit."""
    assert parse_duration(text) == seconds

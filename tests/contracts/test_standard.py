"""A contract is read as the ODCS version it declares: checked against that version's JSON Schema."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import pytest

from signal_factory.contracts.standard import ACCEPTED_VERSIONS, check_standard
from signal_factory.controlplane.loader import load_control_plane
from signal_factory.errors import ConfigError
from tests.conftest import EXAMPLE

CONTRACT = "contracts/orders.created.odcs.yaml"

# A contract in the grammar every v3.0.x shares: `date` (v3.0 has no `timestamp`) and the v3.0 quality
# form (`rule:`), beside the fields a dataset of the example needs.
V30_CONTRACT = """\
apiVersion: {version}
kind: DataContract
id: dc:orders.created:3
name: orders.created
version: 3.0.0
status: active
schema:
  - name: orders_created
    logicalType: object
    properties:
      - name: order_id
        logicalType: string
        required: true
      - name: created_at
        logicalType: date
      - name: discount_type
        logicalType: string
        quality:
          - type: library
            rule: validValues
            validValues: [NONE, COUPON]
            severity: warning
"""


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    target = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, target)
    return target


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _set_version(path: Path, version: str) -> None:
    text = path.read_text()
    assert "apiVersion: v3.1.0\n" in text
    path.write_text(text.replace("apiVersion: v3.1.0\n", f"apiVersion: {version}\n", 1))


@pytest.mark.parametrize("version", ACCEPTED_VERSIONS)
def test_each_shipped_schema_is_the_version_it_is_named(version: str) -> None:
    """The JSON Schema we ship for a version defaults `apiVersion` to that same version."""
    text = resources.files("signal_factory.contracts").joinpath(
        f"odcs_schemas/odcs-json-schema-{version}.json").read_text()
    assert json.loads(text)["properties"]["apiVersion"]["default"] == version


@pytest.mark.parametrize("version", ["v3.0.0", "v3.0.1", "v3.0.2"])
def test_a_v30_contract_loads_under_each_v30_version(cfg: Path, version: str) -> None:
    """A contract in v3.0 grammar loads when it declares v3.0.0, v3.0.1 or v3.0.2."""
    (cfg / CONTRACT).write_text(V30_CONTRACT.format(version=version))
    cp = load_control_plane(cfg)
    names = {r.name for r in cp.contracts["dc:orders.created:3"].rules}
    assert names == {"order_id", "created_at", "discount_type"}


@pytest.mark.parametrize("version", ["v3.1.0", "v3.2.0"])
def test_the_example_loads_as_v31_and_v32(cfg: Path, version: str) -> None:
    """The example (timestamp, `metric:` quality) is valid v3.1.0 and v3.2.0."""
    _set_version(cfg / CONTRACT, version)
    assert "dc:orders.created:3" in load_control_plane(cfg).contracts


@pytest.mark.parametrize("version", ["v3.0.0", "v3.0.1", "v3.0.2"])
def test_v31_type_under_v30_names_the_line_and_the_version_that_has_it(cfg: Path, version: str) -> None:
    """`logicalType: timestamp` under a v3.0.x apiVersion is refused at its line; the fix names v3.1.0."""
    path = cfg / CONTRACT
    _set_version(path, version)
    with pytest.raises(ConfigError) as info:
        load_control_plane(cfg)
    assert info.value.file == str(path)
    assert info.value.line == _line_of(path, "logicalType: timestamp")
    assert f"not valid ODCS {version}" in str(info.value)
    assert info.value.fix is not None
    assert "date" in info.value.fix
    assert "apiVersion: v3.1.0" in info.value.fix


def test_v31_quality_form_under_v30_names_the_missing_rule(cfg: Path) -> None:
    """The v3.1 `metric:` quality form under v3.0.2 is refused at the rule, with `rule` named as missing."""
    path = cfg / CONTRACT
    path.write_text(path.read_text().replace("logicalType: timestamp", "logicalType: date")
                    .replace("apiVersion: v3.1.0", "apiVersion: v3.0.2"))
    with pytest.raises(ConfigError) as info:
        load_control_plane(cfg)
    assert info.value.key is not None
    assert info.value.key.endswith("quality[0]")
    assert info.value.line == _line_of(path, "- metric: invalidValues")
    assert info.value.fix is not None
    assert "`rule`" in info.value.fix
    assert "apiVersion: v3.1.0" in info.value.fix


@pytest.mark.parametrize("version", ["v3.3.0", "v2.2.2", "3.1.0"])
def test_unsupported_api_version_names_what_we_accept(cfg: Path, version: str) -> None:
    """An apiVersion we do not read is refused at its line, naming every version we accept."""
    path = cfg / CONTRACT
    _set_version(path, version)
    with pytest.raises(ConfigError) as info:
        load_control_plane(cfg)
    assert info.value.line == _line_of(path, "apiVersion:")
    for accepted in ACCEPTED_VERSIONS:
        assert accepted in str(info.value)


def test_missing_api_version_is_named(cfg: Path) -> None:
    """A contract without apiVersion is refused with the versions we accept and how to add it."""
    path = cfg / CONTRACT
    path.write_text(path.read_text().replace("apiVersion: v3.1.0\n", ""))
    with pytest.raises(ConfigError) as info:
        load_control_plane(cfg)
    assert info.value.file == str(path)
    assert info.value.line is not None
    assert "no `apiVersion`" in str(info.value)
    assert "v3.0.0, v3.0.1, v3.0.2, v3.1.0, v3.2.0" in str(info.value)
    assert info.value.fix is not None
    assert "add `apiVersion:" in info.value.fix


def test_unquoted_yaml_dates_are_strings_to_the_standard() -> None:
    """A YAML date (contractCreatedTs written unquoted) is checked as the string the standard expects."""
    import yaml

    data = yaml.safe_load(V30_CONTRACT.format(version="v3.0.2") + "contractCreatedTs: 2024-05-01T10:00:00Z\n")
    assert check_standard(data) is None
    data["contractCreatedTs"] = 7
    violation = check_standard(data)
    assert violation is not None
    assert violation.path == ("contractCreatedTs",)


def test_contract_object_not_in_the_contract_points_at_datasets_yaml(cfg: Path) -> None:
    """A dataset naming a schema object the contract lacks is reported in datasets.yaml with the choices."""
    ds = cfg / "datasets.yaml"
    text = ds.read_text()
    assert "    contract: dc:orders.created:3\n" in text
    ds.write_text(text.replace("    contract: dc:orders.created:3\n",
                               "    contract: dc:orders.created:3\n    contract_object: orders_placed\n", 1))
    with pytest.raises(ConfigError) as info:
        load_control_plane(cfg)
    assert info.value.file == str(ds)
    assert info.value.line == _line_of(ds, "contract_object: orders_placed")
    assert info.value.fix == "use one of: orders_created"


def test_each_v30_patch_is_checked_by_its_own_schema() -> None:
    """A property `physicalName` (added in v3.0.2) is refused under v3.0.0 and v3.0.1, accepted under v3.0.2."""
    import yaml

    data = yaml.safe_load(V30_CONTRACT.format(version="v3.0.0"))
    data["schema"][0]["properties"][0]["physicalName"] = "oid"
    violation = check_standard(data)
    assert violation is not None
    assert violation.path == ("schema", 0, "properties", 0, "physicalName")
    assert "declare `apiVersion: v3.0.2`" in violation.fix
    assert check_standard({**data, "apiVersion": "v3.0.1"}) is not None
    assert check_standard({**data, "apiVersion": "v3.0.2"}) is None

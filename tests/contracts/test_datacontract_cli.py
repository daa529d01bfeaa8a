"""Contracts round-trip with the reference tool: the real datacontract-cli (a subprocess) lints ours, and
what its `init` and `import` write loads here, or `signal-factory config check` says what is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from signal_factory.controlplane.loader import load_control_plane
from signal_factory.errors import ConfigError
from tests.conftest import EXAMPLE, ROOT

pytestmark = pytest.mark.slow  # each datacontract-cli run starts a Python process (~1 s)

DATACONTRACT = Path(sys.executable).parent / "datacontract"  # the dev extra's datacontract-cli[avro]
SF = [sys.executable, "-c", "from signal_factory.cli.main import main; main()"]
ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}


def _dc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert DATACONTRACT.exists(), "datacontract-cli is missing: pip install -e '.[dev]'"
    return subprocess.run([str(DATACONTRACT), *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=ENV, check=False)


def _config_check(cfg: Path) -> tuple[int, str]:
    """Exit code and stderr of `signal-factory config check`, with the console's line wrapping undone."""
    proc = subprocess.run([*SF, "config", "check", str(cfg)], capture_output=True, text=True, timeout=120,
                          env=ENV, check=False)
    return proc.returncode, " ".join(proc.stderr.split())


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    target = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, target)
    return target


@pytest.mark.parametrize("contract", sorted(ROOT.glob("examples/**/*.odcs.yaml")), ids=lambda p: p.name)
def test_example_contracts_pass_datacontract_lint(contract: Path) -> None:
    """Every contract we ship is valid for the ODCS version it declares, by the reference linter."""
    proc = _dc("lint", str(contract), cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Data contract is valid" in proc.stdout


def test_lint_and_we_refuse_the_same_v30_misuse(cfg: Path) -> None:
    """A v3.1 type under apiVersion v3.0.2 fails datacontract lint, and our loader refuses it too."""
    path = cfg / "contracts/orders.created.odcs.yaml"
    path.write_text(path.read_text().replace("apiVersion: v3.1.0", "apiVersion: v3.0.2"))
    proc = _dc("lint", str(path), cwd=cfg)
    assert proc.returncode != 0
    assert "timestamp" in proc.stdout
    with pytest.raises(ConfigError) as info:
        load_control_plane(cfg)
    assert "'timestamp' is not one of" in str(info.value)


def test_init_contract_is_a_gap_with_file_line_and_fix(cfg: Path) -> None:
    """`datacontract init` output loads; config check names it as a gap (no schema yet) with its fix."""
    target = cfg / "contracts/new.odcs.yaml"
    assert _dc("init", str(target), cwd=cfg).returncode == 0
    code, err = _config_check(cfg)
    assert code == 0, err
    assert f"gap {target}:1: contract 'my-data-contract-id' has no `schema` objects" in err
    assert "fix: add a `schema:` list whose `properties` are the record's fields" in err


def test_init_contract_used_by_a_dataset_is_refused_with_a_specific_fix(cfg: Path) -> None:
    """A dataset that points at the schema-less `init` contract gets the contract's file, line and fix."""
    target = cfg / "contracts/new.odcs.yaml"
    assert _dc("init", str(target), cwd=cfg).returncode == 0
    ds = cfg / "datasets.yaml"
    ds.write_text(ds.read_text().replace("contract: dc:orders.created:3", "contract: my-data-contract-id", 1))
    code, err = _config_check(cfg)
    assert code == 2
    assert f"{target}:1: contract has no `schema` objects to enforce" in err
    assert "fix: add a `schema:` list with one object" in err


@pytest.mark.parametrize(("fmt", "source", "required"), [
    ("jsonschema", "orders.created.17.schema.json", {"order_id", "total_amount", "currency"}),
    ("avro", "inventory.updated.2.avsc", {"sku", "warehouse", "on_hand"}),
])
def test_imported_contract_loads_with_its_required_fields(cfg: Path, fmt: str, source: str,
                                                          required: set[str]) -> None:
    """`datacontract import jsonschema|avro` of our own schemas gives a contract we compile as written."""
    target = cfg / f"contracts/imported.{fmt}.odcs.yaml"
    proc = _dc("import", fmt, "--source", str(cfg / "schemas" / source), "--output", str(target), cwd=cfg)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "apiVersion: v3.2.0" in target.read_text()
    compiled = load_control_plane(cfg).contracts["my-data-contract"]
    assert {r.name for r in compiled.rules if r.required} == required


def test_two_imports_keep_the_tool_default_id_and_config_check_says_which(cfg: Path) -> None:
    """Two imports both carry the tool's default id; config check names the second file, its line and fix."""
    for fmt, source in (("jsonschema", "orders.created.17.schema.json"), ("avro", "inventory.updated.2.avsc")):
        out = cfg / f"contracts/imported.{fmt}.odcs.yaml"
        assert _dc("import", fmt, "--source", str(cfg / "schemas" / source), "--output", str(out),
                   cwd=cfg).returncode == 0
    code, err = _config_check(cfg)
    assert code == 2
    assert "contract id 'my-data-contract' is also used by" in err
    assert "fix: give each contract a unique id" in err

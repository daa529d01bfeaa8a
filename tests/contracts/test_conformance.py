"""Differential test against the reference tool: `datacontract test` (local JSON file, its DuckDB engine)
and our enforcer agree, record by record and rule by rule, on seeded records with known violations, for our
contracts, two of datacontract-cli's own and two that cover every per-record rule of ODCS v3.0 and v3.1.
Where they differ, the difference is named and explained (tests/contracts/conformance_diff.py)."""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from signal_factory.contracts.standard import check_standard
from tests.contracts.conformance_cases import CASES, DATA, Case
from tests.contracts.conformance_diff import DIFFERENCES, Report, compare, run_ours

pytestmark = [
    pytest.mark.slow,  # datacontract-cli's DuckDB run is ~1 s a contract
    # ibis (under datacontract-cli) sets a pandas option that pandas 3 deprecates: their warning, not ours
    pytest.mark.filterwarnings("ignore:The 'future.infer_string' option is deprecated"),
]

if importlib.util.find_spec("ibis") is None:  # CI installs it: a missing engine is a failure, not a skip
    pytest.fail("datacontract-cli's DuckDB engine is missing: pip install -e '.[dev]' "
                "(datacontract-cli[avro,duckdb])", pytrace=False)

from datacontract.engines.ibis import ibis_check_execute as dc_engine  # noqa: E402 - after the check above


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Report]]:
    """Every case compared once (200 seeded records each)."""
    with pytest.MonkeyPatch.context() as mp:
        # datacontract-cli lists at most 5 failing rows per check; every failing row is wanted here. The
        # attribute must exist (raising=True), so a datacontract-cli that renames it fails this loudly.
        mp.setattr(dc_engine, "_FAILED_SAMPLE_LIMIT", 1_000_000, raising=True)
        yield {case.name: compare(case, tmp_path_factory.mktemp("conformance")) for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_datacontract_cli_and_we_fail_the_same_records_on_the_same_rules(reports: dict[str, Report],
                                                                          case: Case) -> None:
    """Per record and rule, datacontract-cli's verdicts equal ours, except for named, explained differences."""
    report = reports[case.name]
    assert report.unexplained == []
    ours, theirs = report.failing
    assert 0 < ours < report.records  # the data really has violations, and conforming records
    assert 0 < theirs < report.records
    assert report.rules >= 2  # at least the `_row` key and the JSON Schema verdict


def test_every_named_difference_is_seen(reports: dict[str, Report]) -> None:
    """Each expected difference explains at least one row (none is stale), and the orders contract
    differs only where a timestamp's form or a wrongly typed value is concerned."""
    seen = {name for report in reports.values() for name in report.explained}
    assert seen == {d.name for d in DIFFERENCES}
    assert set(reports[CASES[0].name].explained) <= {"TYPE_MISMATCH_FIRST", "TIMESTAMP_LEXICAL_FORM"}


def test_v30_exclusive_minimum_flag_is_refused_by_datacontract_cli_not_by_us(tmp_path: Path) -> None:
    """ODCS v3.0.2 writes `exclusiveMinimum: true` (a flag on `minimum`): valid by its JSON Schema and
    enforced strictly by us; datacontract-cli 1.2.8 refuses the contract ("not of type 'number'")."""
    from datacontract.data_contract import DataContract

    contract = copy.deepcopy(yaml.safe_load((DATA / "conformance/every-rule.v30.odcs.yaml").read_text()))
    amount = next(p for p in contract["schema"][0]["properties"] if p["name"] == "amount")
    amount["logicalTypeOptions"] = {"minimum": 0, "exclusiveMinimum": True}
    contract["servers"][0]["path"] = str(tmp_path / "records.jsonl")
    (tmp_path / "records.jsonl").write_text('{"id": "ID1", "count": 1, "amount": 0}\n')
    assert check_standard(contract) is None
    rows = [{"id": "ID1", "count": 1, "owner": "t", "amount": 0}, {"id": "ID2", "count": 1, "owner": "t",
                                                                  "amount": 0.5}]
    _, verdicts = run_ours(contract, rows)
    assert [[v.reason_code for v in vs] for vs in verdicts] == [["OUT_OF_RANGE:amount"], []]
    run = DataContract(data_contract_str=yaml.safe_dump(contract)).test()
    assert any("exclusiveMinimum" in (c.reason or "") and "not of type 'number'" in (c.reason or "")
               for c in run.checks)

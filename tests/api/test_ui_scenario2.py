"""The web UI on the Scenario 2 store (day-1 FLASH_SALE records, then the Spark run's OpenLineage events):
every tile's measure reads in its own unit, downstream of the drift is "at risk", the timeline says its
time base."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.browser import Console, expect, shot
from tests.api.conftest import start_server, stop_server
from tests.conftest import EXAMPLE

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-c", "from signal_factory.cli.main import main; main()"]


@pytest.fixture(scope="module")
def scenario2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Read-only server over the README's Scenario 2 steps, run with the CLI as a user would."""
    home = tmp_path_factory.mktemp("s2-ui")
    db = f"sqlite:///{home / 's2.db'}"
    for argv in (["replay", "--config", str(EXAMPLE), "--db", db, "--no-send",
                  str(EXAMPLE / "records/scenario2-flash-sale.jsonl")],
                 ["lineage", "ingest", "--config", str(EXAMPLE), "--db", db,
                  str(EXAMPLE / "scenario2/openlineage.jsonl")]):
        done = subprocess.run([*CLI, *argv], capture_output=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr.decode()
    server, thread, url = start_server(home / "s2.db", home)
    try:
        yield url
    finally:
        stop_server(server, thread)


def test_scenario2_tiles_measures_and_at_risk(scenario2_server: str, ui: tuple[Any, Console]) -> None:
    """silver's drift tile counts records with a new signature; lags and run times are durations, never
    percentages; gold_daily and the dashboard are at risk through silver."""
    page, console = ui
    page.goto(scenario2_server + "/")
    silver = page.get_by_test_id("tile-urn:dp:orders:silver")
    expect(silver).to_have_attribute("data-state", "WARNING")
    expect(silver.get_by_test_id("tile-measure")).to_contain_text("380 records with a new signature")
    for text in page.get_by_test_id("tile-measure").all_inner_texts():
        if "behind" in text or "run time" in text:
            assert "%" not in text, text
        pct = re.search(r"([\d,.]+)%", text)
        assert pct is None or float(pct.group(1).replace(",", "")) <= 100, text
    gold = page.get_by_test_id("tile-urn:dp:orders:gold_daily")
    expect(gold).to_have_attribute("data-at-risk", "true")
    expect(gold.get_by_test_id("tile-at-risk")).to_contain_text("orders:silver → orders:gold_daily")
    expect(page.get_by_test_id("tile-urn:dp:dashboards:executive_revenue")).to_have_attribute("data-at-risk", "true")
    shot(page, "health-scenario2")
    console.check()


def test_scenario2_incident_timeline_is_labelled_event_time(scenario2_server: str, ui: tuple[Any, Console]) -> None:
    """The incident page's timeline column names its clock (event time, UTC), and its rows are 2024's."""
    page, console = ui
    page.goto(scenario2_server + "/incidents/INC-1")
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator("th").first).to_have_text("event time (UTC)")
    for cell in timeline.locator("tbody tr td:first-child").all_inner_texts():
        assert "Jan 1" in cell, cell  # the data's own days (Jan 14/15), never today's wall clock
    console.check()

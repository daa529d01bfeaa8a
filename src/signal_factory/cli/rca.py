"""`rca`: the root cause of an incident or a failure signature, from the causal graph in the store.

    signal-factory rca INC-7721                                        # Scenario 1: which deploy broke it
    signal-factory rca --signature UNKNOWN_ENUM:discount_type:FLASH_SALE  # Scenario 2: where a drift came from
    signal-factory rca INC-7721 --format json | md

Set SIGNAL_FACTORY_LLM_URL and SIGNAL_FACTORY_LLM_MODEL (and SIGNAL_FACTORY_LLM_API_KEY) to have an
OpenAI-compatible model polish the explanation; without them, or if it fails, the template text is used.
"""

from __future__ import annotations

import os
import shutil
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from signal_factory.cli.options import ConfigOpt, DbOpt, open_cli_store
from signal_factory.errors import SignalFactoryError


class RcaFormat(StrEnum):
    rich = "rich"
    json = "json"
    md = "md"


def rca(
    incident_id: Annotated[str | None, typer.Argument(help="Incident id, e.g. INC-7721.")] = None,
    signature: Annotated[str | None, typer.Option(
        "--signature", "-s", help="Explain a failure signature (reason code) instead, e.g. "
                                  "UNKNOWN_ENUM:discount_type:FLASH_SALE.")] = None,
    dataset: Annotated[str | None, typer.Option(
        help="With --signature: the dataset URN whose failures to explain (default: the one batch runs hit).")] = None,
    fmt: Annotated[RcaFormat, typer.Option("--format", "-f", help="rich (boxes), json or md.")] = RcaFormat.rich,
    db: DbOpt = None,
    config: ConfigOpt = Path("examples/orders"),
) -> None:
    """Root cause, confidence and why, timeline, blast radius and actions for an incident or a signature."""
    from signal_factory.rca.analyze import analyze
    from signal_factory.rca.explain import LlmConfig, polish
    from signal_factory.rca.render import render_rich, to_json, to_markdown

    if (incident_id is None) == (signature is None):
        raise SignalFactoryError("give an incident id (`signal-factory rca INC-7721`) or a failure signature "
                                 "(`signal-factory rca --signature MISSING_FIELD:customer_id`), one of the two")
    if dataset is not None and signature is None:
        raise SignalFactoryError("--dataset narrows --signature; an incident already names its dataset")
    catalog = None
    if not config.is_dir() and config != Path("examples/orders"):
        raise SignalFactoryError(f"--config {config} is not a directory (it names dataset tiers and types)")
    if config.is_dir():
        from signal_factory.controlplane.loader import load_control_plane

        catalog = load_control_plane(config).datasets
    store = open_cli_store(db)
    try:
        report = analyze(store, incident_id=incident_id, signature=signature, dataset=dataset, catalog=catalog)
    finally:
        store.close()
    report = polish(report, LlmConfig.from_env(os.environ))
    if fmt is RcaFormat.json:
        sys.stdout.write(to_json(report).decode() + "\n")
    elif fmt is RcaFormat.md:
        sys.stdout.write(to_markdown(report))
    else:
        width = min(shutil.get_terminal_size().columns, 120) if sys.stdout.isatty() else 100
        Console(width=width, emoji=False, highlight=False).print(render_rich(report))

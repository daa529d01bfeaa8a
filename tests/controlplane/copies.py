"""Writable copies of the example control plane, and the edits the reload tests make to them."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import EXAMPLE

NEW_TOPIC = "raw.orders.replica"


def copy_example(dst: Path) -> Path:
    """The example control plane (config files only, no sample data) copied to `dst/cp`."""
    root = dst / "cp"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("scenario*", "records"))
    return root


def add_topic(root: Path, topic: str = NEW_TOPIC, dataset: str = "urn:dp:orders:created") -> None:
    """Map one more topic in topics.yaml (written whole, as an editor saves)."""
    path = root / "topics.yaml"
    path.write_text(path.read_text() + f"  - {{topic: {topic}, dataset: {dataset}, producer: orders-svc}}\n")


def break_topics(root: Path) -> int:
    """Append a mapping to a dataset that does not exist; returns the line it is on."""
    path = root / "topics.yaml"
    text = path.read_text()
    path.write_text(text + "  - {topic: raw.typo.events, dataset: urn:dp:orders:craeted}\n")
    return text.count("\n") + 1

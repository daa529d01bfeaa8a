"""`ConfigReloader`: a valid edit swaps the whole config, an invalid one is rejected and the old one kept."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from signal_factory.controlplane.changes import describe_changes
from signal_factory.controlplane.loader import ControlPlane, load_control_plane
from signal_factory.enforcer.factory import build_enforcer
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.runtime.reload import ConfigReloader, config_files
from tests.controlplane.copies import NEW_TOPIC, add_topic, break_topics, copy_example


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_example(tmp_path)


def test_a_topic_added_is_in_the_next_snapshot_and_logged(root: Path, caplog: pytest.LogCaptureFixture) -> None:
    """After an edit, `reload` swaps in a new generation whose enforcer knows the topic; one line says what changed."""
    results: list[str] = []
    reloader = ConfigReloader(root, build_enforcer, on_result=results.append)
    before = reloader.current
    add_topic(root)
    with caplog.at_level(logging.INFO, logger="signal_factory.config"):
        assert reloader.reload("test") == "ok"
    after = reloader.current
    assert (before.generation, after.generation) == (0, 1)
    assert NEW_TOPIC not in before.cp.topics
    assert after.cp.topics[NEW_TOPIC].dataset == "urn:dp:orders:created"
    assert after.value is not before.value
    assert results == ["ok"]
    [line] = [r.getMessage() for r in caplog.records if r.name == "signal_factory.config"]
    assert f"topics added: {NEW_TOPIC}" in line
    assert "files: topics.yaml" in line


def test_an_invalid_edit_is_rejected_with_file_line_fix_and_the_old_config_kept(
        root: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A topic mapped to an unknown dataset: rejected, logged at its line with the fix; generation 0 keeps running."""
    results: list[str] = []
    reloader = ConfigReloader(root, build_enforcer, on_result=results.append)
    before = reloader.current
    line = break_topics(root)
    with caplog.at_level(logging.INFO, logger="signal_factory.config"):
        assert reloader.reload("test") == "rejected"
    assert reloader.current is before
    assert results == ["rejected"]
    [record] = [r for r in caplog.records if r.name == "signal_factory.config"]
    assert record.levelno == logging.ERROR
    message = record.getMessage()
    assert f"topics.yaml:{line}" in message
    assert "urn:dp:orders:craeted" in message
    assert "fix: use one of:" in message
    assert "still running generation 0" in message
    assert record.__dict__["line"] == line


def test_a_failing_build_is_rejected_too(root: Path) -> None:
    """Whatever the process builds from the config (policy, enforcer) can refuse it: the old snapshot stays."""
    calls: list[ControlPlane] = []

    def build(cp: ControlPlane) -> int:
        calls.append(cp)
        if len(calls) > 1:
            raise ValueError("the alert policy does not like this")
        return 1

    reloader = ConfigReloader(root, build)
    add_topic(root)
    assert reloader.reload() == "rejected"
    assert reloader.current.generation == 0
    assert reloader.last_error == "ValueError: the alert policy does not like this"


def test_files_as_at_the_last_attempt_are_not_reloaded_again(root: Path) -> None:
    """A file event that leaves the content as it was (a touch) does nothing; SIGHUP (force) always reloads."""
    reloader = ConfigReloader(root, build_enforcer)
    (root / "topics.yaml").touch()
    assert reloader.reload("file change", force=False) is None
    line = break_topics(root)
    assert line > 0
    assert reloader.reload("file change", force=False) == "rejected"
    assert reloader.reload("file change", force=False) is None  # not rejected again for the same content
    assert reloader.reload("SIGHUP") == "rejected"
    assert dict(reloader.counts) == {"rejected": 2}


def test_the_file_watch_reloads_after_an_edit(root: Path) -> None:
    """With `watch()` running, saving topics.yaml is enough: the new generation appears within seconds."""
    reloader: ConfigReloader[Enforcer] = ConfigReloader(root, build_enforcer)
    reloader.watch()
    try:
        time.sleep(0.2)  # the watcher is set up
        add_topic(root)
        deadline = time.monotonic() + 10
        while reloader.current.generation == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reloader.current.generation == 1
        assert NEW_TOPIC in reloader.current.cp.topics
    finally:
        reloader.close()


def test_sample_data_beside_the_config_is_not_watched(root: Path) -> None:
    """Only root YAML, contracts/ and schemas/ count: records and notes beside them are not config."""
    (root / "records").mkdir()
    (root / "records" / "x.jsonl").write_text("{}\n")
    (root / "notes.txt").write_text("hello")
    files = config_files(root)
    assert "topics.yaml" in files
    assert any(f.startswith("contracts/") for f in files)
    assert not any(f.startswith("records/") or f == "notes.txt" for f in files)


def test_describe_changes_names_what_was_added_removed_and_changed(root: Path) -> None:
    """The log line's vocabulary: topics added/removed, datasets changed, settings changed."""
    old = load_control_plane(root)
    add_topic(root)
    path = root / "topics.yaml"
    path.write_text(path.read_text().replace("  - {topic: raw.inventory.events", "  # - {topic: raw.inventory.events"))
    ds = root / "datasets.yaml"
    ds.write_text(ds.read_text().replace("threshold: 0.95, warning_threshold: 0.80}", "threshold: 0.9, "
                                         "warning_threshold: 0.80}", 1))
    new = load_control_plane(root)
    assert describe_changes(old, new) == [f"topics added: {NEW_TOPIC}", "topics removed: raw.inventory.events",
                                          "datasets changed: urn:dp:orders:created"]
    assert describe_changes(new, new) == []

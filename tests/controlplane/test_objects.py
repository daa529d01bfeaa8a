"""`s3.yaml`: S3 locations -> datasets, checked with file, line and fix like every control-plane file, and
matched most-specific first (with `*` inside one path segment)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from signal_factory.controlplane.loader import load_control_plane
from signal_factory.controlplane.objects import ObjectRoute, route_for, sorted_routes
from signal_factory.errors import ConfigError
from tests.conftest import EXAMPLE


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    target = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, target)
    return target


def test_example_s3_yaml_loads_most_specific_first(cfg: Path) -> None:
    """The example maps landing/orders/ and landing/orders/silver/; an object takes the longer one."""
    cp = load_control_plane(cfg)
    assert [r.route_key for r in cp.objects] == ["s3://landing/orders/silver/", "s3://landing/orders/"]
    silver = cp.object_route("landing", "orders/silver/part-0.parquet")
    assert silver is not None
    assert silver.dataset == "urn:dp:orders:silver"
    created = cp.object_route("landing", "orders/2024/x.jsonl")
    assert created is not None
    assert (created.dataset, created.producer) == ("urn:dp:orders:created", "orders-svc")
    assert cp.object_route("landing", "inventory/x.jsonl") is None
    assert cp.object_route("elsewhere", "orders/x.jsonl") is None


def test_a_star_matches_within_one_segment() -> None:
    """`s3://lake/*/orders/` matches lake/eu/orders/... but not lake/eu/x/orders/...; an exact prefix wins."""
    routes = sorted_routes([ObjectRoute("lake", "*/orders/", "urn:dp:a:b"),
                            ObjectRoute("lake", "eu/orders/", "urn:dp:c:d")])
    assert [route_for(routes, "lake", k).dataset for k in ("us/orders/1.csv", "eu/orders/1.csv")] == \
        ["urn:dp:a:b", "urn:dp:c:d"]  # type: ignore[union-attr]
    assert route_for(routes, "lake", "eu/x/orders/1.csv") is None


@pytest.mark.parametrize(("text", "needle", "says", "fix"), [
    ("objects:\n  - {location: s3://landing/x/, dataset: urn:dp:orders:nope}\n", "urn:dp:orders:nope",
     "maps to unknown dataset", "use one of: urn:dp:"),
    ("objects:\n  - {location: 's3://Bad_Bucket/x/', dataset: urn:dp:orders:created}\n", "Bad_Bucket",
     "is not an S3 bucket name", "write s3://<bucket>/<key prefix>"),
    ("objects:\n  - {location: s3://landing/a/, dataset: urn:dp:orders:created}\n"
     "  - {location: s3://landing/a/, dataset: urn:dp:orders:silver}\n", "orders:silver",
     "is mapped twice", "exactly one dataset"),
    ("objects:\n  - {location: s3://landing/a/, dataset: urn:dp:orders:created, format: xml}\n", "format: xml",
     "Invalid enum value 'xml'", "format (jsonl, csv, parquet)"),
    ("objects:\n  - {location: s3://landing/a/, dataset: urn:dp:orders:created, prefix: a}\n", "prefix: a",
     "unknown field `prefix`", "each entry takes location, dataset"),
])
def test_bad_s3_yaml_names_file_line_and_fix(cfg: Path, text: str, needle: str, says: str, fix: str) -> None:
    """Unknown dataset, bad bucket, a location mapped twice, a bad format, an unknown key: file:line + fix."""
    (cfg / "s3.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_control_plane(cfg)
    e = info.value
    assert e.file.endswith("s3.yaml")
    assert e.line == next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)
    assert says in e.reason
    assert fix in (e.fix or "")


def test_config_check_lists_s3_locations_and_refuses_a_bad_one(cfg: Path) -> None:
    """`config check` shows each dataset's S3 locations; a bad s3.yaml exits 2 with file:line and the fix."""
    from tests.cli.test_cli import _run

    ok = _run(["config", "check", str(cfg)])
    assert ok.returncode == 0, ok.stderr.decode()
    assert "s3://landing" in ok.stderr.decode()  # the column may be cut short to fit
    (cfg / "s3.yaml").write_text("objects:\n  - {location: s3://landing/x/, dataset: urn:dp:orders:nope}\n")
    bad = _run(["config", "check", str(cfg)])
    assert bad.returncode == 2
    assert "s3.yaml:2" in bad.stderr.decode()
    assert "fix:" in bad.stderr.decode()

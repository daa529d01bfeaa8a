"""One local SparkSession for every Spark test (starting a JVM costs seconds); the API server fixtures."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import api_server_token, scenario1_db  # noqa: F401  (API server fixtures, re-exported)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if importlib.util.find_spec("pyspark") is None:  # CI installs it: missing pyspark is a failure, not a skip
        pytest.fail("pyspark is not installed: pip install -e '.[dev]' (or signal-factory[spark])")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[1]").appName("signal-factory-tests")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.default.parallelism", "2")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


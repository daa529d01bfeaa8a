"""Contract enforcement inside Spark jobs (seed 2.3, Scenario 2 Step 4-5).

`validate_dataframe` applies a `CompiledContract` with native Spark column expressions (no Python
UDF), splits the rows into the ones to write and the evidence to emit, and counts the run for the
OpenLineage `observability_evidence` facet. `emit_evidence_http` / `emit_evidence_kafka` ship the
evidence; `observability_facet` wraps the summary.

pyspark is an optional dependency: ``pip install 'signal-factory[spark]'``.
"""

from __future__ import annotations

from signal_factory.integrations.spark.requirement import require_pyspark

require_pyspark()

from signal_factory.integrations.spark.emit import (  # noqa: E402 - after the requirement check on purpose
    emit_evidence_http,
    emit_evidence_kafka,
    observability_facet,
)
from signal_factory.integrations.spark.validate import (  # noqa: E402
    SparkValidation,
    validate_dataframe,
    with_verdict,
)

__all__ = [
    "SparkValidation",
    "emit_evidence_http",
    "emit_evidence_kafka",
    "observability_facet",
    "validate_dataframe",
    "with_verdict",
]

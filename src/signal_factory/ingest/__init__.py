"""Adapters that bring outside run and lineage reports into the pipeline (OpenLineage first)."""

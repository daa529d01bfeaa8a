"""Persistence adapters (payload blobs now; evidence, signals and graph stores build on SQLAlchemy)."""

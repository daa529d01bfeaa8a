"""OTLP/HTTP traces: decode (`decode.py`), keep what joins and explains (`spans.py`), store (`repo.py`)."""

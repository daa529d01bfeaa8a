"""Detection-quality benchmark (issue 13): labelled, generated scenarios scored against the real pipeline.

Run `python -m benchmarks.detection --size small|full`; see `__main__.py`, and benchmarks/README.md.
"""

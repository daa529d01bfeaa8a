"""Signal Factory: data observability from per-record evidence to root cause."""

__version__ = "0.1.0"

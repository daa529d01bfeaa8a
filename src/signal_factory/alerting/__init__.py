"""Alerting: signals -> incidents (severity = state x tier, dedup, lifecycle) -> notifications."""

"""Adapters between transports (Kafka, ...) and the pure stages; each optional, each in its own package."""

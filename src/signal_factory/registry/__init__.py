"""Schema registries (IO adapters): local files, Confluent-compatible HTTP, last-known-good cache."""

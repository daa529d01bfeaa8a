"""Runtimes that wire the stages together: the embedded replay now, Kafka consumer groups later."""

"""The Policy Enforcer: records in, evidence out, in batches (same code for files and Kafka)."""

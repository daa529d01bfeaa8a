"""The seed's scenarios as reproducible traffic (for the demo, tests and benchmarks)."""

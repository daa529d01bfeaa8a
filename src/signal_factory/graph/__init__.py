"""The causal graph: deployments, producers, datasets, failure signatures, signals, incidents, runs."""

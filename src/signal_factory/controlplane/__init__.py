"""Control plane: datasets, topics, producers, contracts and schemas, kept as files in a repo."""

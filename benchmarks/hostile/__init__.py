"""Hostile-input corpus and the command that runs it through `signal-factory enforce`."""

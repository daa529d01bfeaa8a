"""Thin command-line entry points over the service facade (`signal_factory.service`)."""

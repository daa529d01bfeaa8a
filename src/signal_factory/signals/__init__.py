"""Signal engines: evidence -> windowed dataset health against SLOs (pure; state is data)."""

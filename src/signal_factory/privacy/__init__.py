"""What we guard and how: PII detectors and the guard every inflow applies before anything is stored."""

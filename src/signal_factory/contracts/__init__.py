"""ODCS v3 data contracts compiled once into fast per-field checks (the spec); G4 runs them."""

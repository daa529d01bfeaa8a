"""Wire and domain models: raw records in, evidence out. Pure data, no IO."""

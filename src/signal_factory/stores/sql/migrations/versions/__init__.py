"""Schema revisions, oldest first by `down_revision`. Never edit one that has shipped: add the next."""

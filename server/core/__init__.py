"""The change feed phones pull from: one row per record, each stamped with a per-organisation version."""

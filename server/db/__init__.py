"""Persistence: engine set-up, column types that keep money and time exact, tables, migrations."""

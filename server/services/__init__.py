"""Use cases, free of HTTP: the admin API, the mobile API and the CLI call these."""

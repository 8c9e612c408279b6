"""The admin JSON API (``/admin/api``): thin handlers over ``server.services``."""

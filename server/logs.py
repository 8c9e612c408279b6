"""Structured logging: one JSON object per line on stderr."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

# Keys whose values must never reach a log line, whatever logs them.
REDACTED_KEYS = frozenset(
    {"access_token", "refresh_token", "authorization", "client_secret", "token", "password"}
)


class RedactingJsonFormatter(JsonFormatter):
    def process_log_record(self, log_data: dict[str, object]) -> dict[str, object]:
        log_data.pop("color_message", None)  # uvicorn's ANSI copy of the message
        for key in list(log_data):
            if key.lower() in REDACTED_KEYS:
                log_data[key] = "[redacted]"
        return super().process_log_record(log_data)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "httpx", "httpcore", "aiosqlite", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    logging.getLogger("uvicorn.error").handlers[:] = []
    logging.getLogger("uvicorn").handlers[:] = []
    logging.getLogger("uvicorn").propagate = True

"""One logging set-up for every process (API, watcher and its workers, realtime, CLI) and every library in
them, uvicorn included: one line per record on stderr, a timestamp on each, never wrapped.

`LOG_FORMAT=text` (the default) reads well in a terminal; `LOG_FORMAT=json` writes one JSON object per line
for log shippers, with whatever a record carries in `extra=` (e.g. the watcher's `invoice_id`, `attempt`,
`duration_ms`, `error_code`) as fields of its own.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import datetime, timezone
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# The attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message", "taskName"}
# Libraries that are chatty at INFO: the driver's heartbeats, Socket.IO's per-packet lines.
_QUIET = ("pymongo", "socketio", "engineio", "httpx", "httpcore", "multipart")


class TextFormatter(logging.Formatter):
    """ISO 8601 timestamps in UTC with milliseconds, the same on every machine."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        return datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds").replace(
            "+00:00", "Z")


class JsonFormatter(TextFormatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record), "level": record.levelname, "logger": record.name,
            "message": record.getMessage(), "pid": record.process,
        }
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def log_config(level: str = "INFO", log_format: str = "text") -> dict[str, Any]:
    """The `logging.config.dictConfig` of every process; uvicorn is given it too (`uvicorn.run(log_config=…)`),
    so its records go through the same handler in the same format."""
    formatter = (
        {"()": JsonFormatter} if log_format == "json" else {"()": TextFormatter, "format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            # uvicorn's own loggers carry their own handlers and formats unless told otherwise.
            **{name: {"handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.error")},
            "uvicorn.access": {"handlers": [], "propagate": False},  # the API writes its own access line
            **{name: {"level": "WARNING"} for name in _QUIET},
        },
    }


def configure_logging(level: str = "INFO", log_format: str = "text") -> None:
    logging.config.dictConfig(log_config(level, log_format))

"""One logging set-up for every process."""

from __future__ import annotations

import logging


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # The driver's heartbeats and uvicorn's access log drown everything else at INFO.
    logging.getLogger("pymongo").setLevel(logging.WARNING)

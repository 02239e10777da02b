"""Placeholder until the realtime issue lands: serve the API without Socket.IO."""

from __future__ import annotations

from fastapi import FastAPI

from core.config import Settings


def mount(app: FastAPI, settings: Settings):  # noqa: ANN201 - replaced by the realtime issue
    return app

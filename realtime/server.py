"""Putting the realtime server on a port: beside the API (`mount`) or on its own (`create_standalone_app`).

The public face of the package: `mount` (Socket.IO and SSE beside an app, run for the app's life), and the
`Hub` it returns at `app.state.realtime`, whose `status()` a health check may show.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import socketio
from fastapi import FastAPI

from core.config import Settings, get_settings
from core.logging import configure_logging
from realtime.hub import Hub
from realtime.sse import events_router

SOCKETIO_PATH = "socket.io"


def mount(app: FastAPI, settings: Settings) -> socketio.ASGIApp:
    """`app` with Socket.IO at /socket.io and SSE at /api/v1/events, sharing one port.

    The hub runs inside `app`'s lifespan, after the app's own start-up and stopped before its shutdown.
    socketio.ASGIApp forwards lifespan events to `app` because it is given no on_startup/on_shutdown of its
    own; passing one would silently skip FastAPI's lifespan.
    """
    hub = Hub(settings)
    app.state.realtime = hub  # its `status()` is what a health check may read
    app.include_router(events_router(hub))
    app_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with app_lifespan(application) as state, hub.lifespan():
            yield state

    app.router.lifespan_context = lifespan
    return socketio.ASGIApp(hub.sio, other_asgi_app=app, socketio_path=SOCKETIO_PATH)


def create_standalone_app() -> socketio.ASGIApp:
    """What `invoicer realtime` serves: Socket.IO, SSE and a health check, without the rest of the API."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    app = FastAPI(title="Invoicer realtime", docs_url="/docs", redoc_url=None)

    @app.get("/health", tags=["health"])
    async def health() -> dict[str, str]:
        return {"status": "ok", "change_stream": app.state.realtime.status()["change_stream"]}

    return mount(app, settings)

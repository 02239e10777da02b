"""Putting the realtime server on a port: beside the API (`mount`) or on its own (`create_standalone_app`)."""

from __future__ import annotations

import socketio
from fastapi import FastAPI

from core.config import Settings, get_settings
from core.logging import configure_logging
from realtime.hub import Hub
from realtime.sse import events_router

SOCKETIO_PATH = "socket.io"


def mount(app: FastAPI, settings: Settings) -> socketio.ASGIApp:
    """`app` with Socket.IO at /socket.io and SSE at /api/v1/events, sharing one port.

    The hub runs inside `app`'s lifespan (merged by `include_router`), after the app's own
    start-up. socketio.ASGIApp forwards lifespan events to `app` because it is given no
    on_startup/on_shutdown of its own; passing one would silently skip FastAPI's lifespan.
    """
    hub = Hub(settings)
    app.state.realtime = hub  # for health checks: app.state.realtime.tailer.open.is_set()
    app.include_router(events_router(hub))
    return socketio.ASGIApp(hub.sio, other_asgi_app=app, socketio_path=SOCKETIO_PATH)


def create_standalone_app() -> socketio.ASGIApp:
    """What `invoicer realtime` serves: Socket.IO, SSE and a health check, without the rest of the API."""
    settings = get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(title="Invoicer realtime", docs_url="/docs", redoc_url=None)

    @app.get("/health", tags=["health"])
    async def health() -> dict[str, str]:
        tailer = app.state.realtime.tailer
        return {"status": "ok", "change_stream": "open" if tailer and tailer.open.is_set() else "reconnecting"}

    return mount(app, settings)

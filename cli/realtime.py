"""`invoicer realtime`: the Socket.IO + SSE server on its own port (`invoicer api` already serves it beside the API)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from cli.stack import ensure_database
from core.config import get_settings

DEFAULT_PORT = 8001


def realtime(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default API_HOST).")] = None,
    port: Annotated[int, typer.Option(help="Port to bind.")] = DEFAULT_PORT,
) -> None:
    """Run only the real-time server: Socket.IO at /socket.io, Server-Sent Events at /api/v1/events."""
    import uvicorn

    settings = get_settings()
    uri, server = ensure_database(settings)
    os.environ["MONGODB_URI"] = uri
    os.environ.setdefault("JWT_SECRET", settings.resolved_jwt_secret())  # the API's tokens must verify here
    get_settings.cache_clear()
    try:
        uvicorn.run(
            "realtime.server:create_standalone_app",
            factory=True,
            host=host or settings.api_host,
            port=port,
            log_level=settings.log_level.lower(),
            access_log=False,
            # Open SSE streams never finish on their own; without a bound, SIGTERM would wait forever.
            timeout_graceful_shutdown=5,
        )
    finally:
        if server:
            server.stop()


def register(app: typer.Typer) -> None:
    app.command()(realtime)

"""`invoicer realtime`: the Socket.IO + SSE server on its own port (`invoicer api` already serves it beside the API)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.stack import serve

DEFAULT_PORT = 8001


def realtime(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default API_HOST).")] = None,
    port: Annotated[int, typer.Option(help="Port to bind.")] = DEFAULT_PORT,
) -> None:
    """Run only the real-time server: Socket.IO at /socket.io, Server-Sent Events at /api/v1/events."""
    serve("realtime.server:create_standalone_app", host, port)


def register(app: typer.Typer) -> None:
    app.command()(realtime)

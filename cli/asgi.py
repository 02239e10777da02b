"""The ASGI application `invoicer api` serves: the FastAPI app with the Socket.IO server on the same port."""

from __future__ import annotations

from api.main import create_app
from core.config import get_settings
from realtime.server import mount


def create_asgi_app():  # noqa: ANN201 - an ASGI callable
    settings = get_settings()
    return mount(create_app(settings), settings)

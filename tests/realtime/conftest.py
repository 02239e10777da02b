"""One real `invoicer api` process (Socket.IO mounted beside the API) for this folder, and real Socket.IO clients."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from core.db import make_client
from core.embedded import free_port
from tests.realtime.support import Listener, Stack
from tests.support import Process, base_env, wait_http


@pytest.fixture(scope="package")
async def stack(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    tmp = tmp_path_factory.mktemp("realtime")
    db_name = f"rt_{uuid.uuid4().hex[:10]}"
    port = free_port()
    env = base_env(mongo_uri, db_name, tmp / "data")
    process = Process(["api", "--port", str(port)], env, tmp / "api.log").start()
    client = make_client(mongo_uri)
    try:
        url = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_http, f"{url}/health", 30.0, process)
        yield Stack(url, client[db_name], env["JWT_SECRET"], process)
    finally:
        process.stop()
        await client.drop_database(db_name)
        await client.close()
    log = process.log()
    assert "Traceback" not in log, f"the API logged an exception:\n{log[-5000:]}"


@pytest.fixture
async def listen(stack: Stack) -> AsyncIterator[Callable[..., Any]]:
    """`await listen(token, since=...)` -> a connected Listener; all are disconnected at teardown."""
    listeners: list[Listener] = []

    async def connect(token: str | None, transports: list[str] | None = None, **auth: Any) -> Listener:
        listener = Listener(stack.url)
        listeners.append(listener)
        await listener.connect({"token": token, **auth} if token is not None else None, transports)
        return listener

    yield connect
    await asyncio.gather(*(listener.close() for listener in listeners))



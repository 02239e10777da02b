"""One real `invoicer api` process (Socket.IO mounted beside the API) for this folder, and real Socket.IO clients."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
from bson import ObjectId
from PIL import Image
from pymongo.asynchronous.database import AsyncDatabase

from core.db import make_client
from core.embedded import free_port
from core.models import Role
from core.security import DUMMY_PASSWORD_HASH, create_token
from tests.support import Process, base_env, wait_http

PASSWORD = "correct horse battery"


@dataclass
class Stack:
    """The API process, its database (for the writes a watcher would make) and the secret its tokens use."""

    url: str
    database: AsyncDatabase
    jwt_secret: str
    process: Process

    async def seed_user(self, org_id: ObjectId | None = None, role: Role = Role.employee, **extra: Any) -> SeededUser:
        """A user written straight to the database (no bcrypt per user) with a token minted like the API's."""
        org_id = org_id or ObjectId()
        now = datetime.now(timezone.utc)
        user = {"_id": ObjectId(), "email": f"u-{uuid.uuid4().hex[:10]}@example.com", "name": "Seeded",
                "password_hash": DUMMY_PASSWORD_HASH, "role": role.value, "org_id": org_id, "disabled": False,
                "created_at": now, "updated_at": now, **extra}
        await self.database["users"].insert_one(user)
        return SeededUser(str(user["_id"]), str(org_id), role, self.token(str(user["_id"]), str(org_id), role))

    def token(self, user_id: str, org_id: str, role: Role, *, token_type: str = "access",
              lifetime: timedelta = timedelta(minutes=15)) -> str:
        token, _ = create_token(secret=self.jwt_secret, algorithm="HS256", subject=user_id, org_id=org_id,
                                role=role.value, token_type=token_type, lifetime=lifetime)  # type: ignore[arg-type]
        return token


@dataclass
class SeededUser:
    id: str
    org_id: str
    role: Role
    token: str


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


@dataclass
class Listener:
    """A real socketio.AsyncClient that records every event it receives, in order."""

    url: str
    events: list[tuple[str, Any]] = field(default_factory=list)
    refusal: Any = None

    def __post_init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.client.on("*", self._record)
        self.client.on("connect_error", self._refused)

    async def _record(self, name: str, data: Any) -> None:
        self.events.append((name, data))

    async def _refused(self, data: Any) -> None:
        self.refusal = data

    async def connect(self, auth: dict[str, Any] | None, transports: list[str] | None = None) -> None:
        await self.client.connect(self.url, auth=auth, transports=transports, wait_timeout=10)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [data for event, data in self.events if event == name]

    async def wait_for(self, predicate: Callable[[list[tuple[str, Any]]], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate(self.events):
                await asyncio.sleep(0.01)

    async def close(self) -> None:
        if self.client.connected:
            await self.client.disconnect()


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


def png(seed: str) -> bytes:
    """A small, valid, distinct image: enough for the API to accept an upload."""
    image = Image.new("RGB", (64, 48), (hash(seed) % 256, 200, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def api_client(stack: Stack, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"{stack.url}/api/v1", headers={"Authorization": f"Bearer {token}"},
                             timeout=30)

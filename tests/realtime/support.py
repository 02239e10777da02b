"""What the realtime tests share: the API process they talk to, real Socket.IO and SSE clients, accounts, uploads
and the status writes a watcher would make. Imported by `conftest.py` and the test modules alike."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import socketio
from bson import ObjectId
from PIL import Image
from pymongo.asynchronous.database import AsyncDatabase

from core.models import InvoiceError, Role
from core.models import InvoiceStatus as S
from core.security import DUMMY_PASSWORD_HASH, create_token
from core.transitions import status_change
from tests.support import Process

PASSWORD = "correct horse battery"


SILENCE_SECONDS = 1.0  # after the last expected event, how long the others must stay quiet


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


def png(seed: str) -> bytes:
    """A small, valid, distinct image: enough for the API to accept an upload."""
    image = Image.new("RGB", (64, 48), (hash(seed) % 256, 200, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def api_client(stack: Stack, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"{stack.url}/api/v1", headers={"Authorization": f"Bearer {token}"},
                             timeout=30)


async def register(stack: Stack, name: str) -> dict:
    email = f"{name}-{ObjectId()}@example.com"
    async with httpx.AsyncClient(base_url=f"{stack.url}/api/v1", timeout=30) as http:
        response = await http.post("/auth/register", json={
            "email": email, "password": PASSWORD, "name": name, "organization": f"Org of {name}"})
        assert response.status_code == 201, response.text
        return {**response.json(), **await login(http, email)}


async def login(http: httpx.AsyncClient, email: str) -> dict:
    response = await http.post("/auth/login", data={"username": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


async def add_employee(stack: Stack, admin: dict, name: str) -> dict:
    email = f"{name}-{ObjectId()}@example.com"
    async with api_client(stack, admin["access_token"]) as http:
        response = await http.post("/users", json={"email": email, "password": PASSWORD, "name": name})
        assert response.status_code == 201, response.text
        return {**response.json(), **await login(http, email)}


async def upload(stack: Stack, token: str, seed: str) -> dict:
    async with api_client(stack, token) as http:
        response = await http.post("/invoices", json={
            "filename": f"{seed}.png", "content_base64": base64.b64encode(png(seed)).decode()})
        assert response.status_code == 202, response.text
        return response.json()


async def advance(stack: Stack, invoice_id: str, new: S, previous: S, **extra_sets: object) -> None:
    """What a watcher writes for one transition."""
    update = status_change(new, previous, datetime.now(timezone.utc),
                           error=InvoiceError(code="ocr_failed", message="no text found") if new == S.failed else None)
    update["$set"].update(extra_sets)
    result = await stack.database["invoices"].update_one({"_id": ObjectId(invoice_id)}, update)
    assert result.modified_count == 1


def statuses(listener: Listener, invoice_id: str | None = None) -> list[tuple[str | None, str]]:
    return [(e["previous_status"], e["status"]) for e in listener.named("invoice.status")
            if invoice_id is None or e["id"] == invoice_id]


class EventStream:
    """Reads `event:`/`id:`/`data:` frames off an open SSE response."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self, timeout: float = 10.0) -> dict:
        frame: dict = {}
        async with asyncio.timeout(timeout):
            async for line in self._lines:
                if not line:
                    if "event" in frame:
                        return frame
                    frame = {}
                    continue
                key, _, value = line.partition(": ")
                frame[key] = json.loads(value) if key == "data" else value
        raise EOFError("the stream ended")


@asynccontextmanager
async def events(stack: Stack, token: str | None, **headers: str) -> AsyncIterator[EventStream]:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(base_url=stack.url, timeout=httpx.Timeout(30, read=60)) as http:
        async with http.stream("GET", "/api/v1/events", headers=headers) as response:
            yield EventStream(response)

"""A database outage under a running `invoicer realtime`: connects are refused with a reason, open
connections stay, and notifications resume from the stream's token once the database is back."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
import socketio
from bson import ObjectId

from core.db import make_client
from core.embedded import free_port, start_embedded
from core.models import InvoiceStatus as S
from tests.realtime.support import Listener, Stack, advance
from tests.support import Process, base_env, wait_http

pytestmark = pytest.mark.slow


async def wait_for_stream(url: str, state: str, timeout: float = 30.0) -> None:
    async with httpx.AsyncClient() as http, asyncio.timeout(timeout):
        while (await http.get(f"{url}/health")).json()["change_stream"] != state:
            await asyncio.sleep(0.2)


async def test_a_database_outage_is_survived(tmp_path: Path):
    server = start_embedded(tmp_path / "db", durable=True)
    port = free_port()
    env = base_env(server.uri, "outage", tmp_path / "data")
    process = Process(["realtime", "--port", str(port)], env, tmp_path / "realtime.log").start()
    client = make_client(server.uri, serverSelectionTimeoutMS=2000)
    url = f"http://127.0.0.1:{port}"
    listener = Listener(url)
    try:
        await asyncio.to_thread(wait_http, f"{url}/health", 30.0, process)
        outage = Stack(url, client["outage"], env["JWT_SECRET"], process)
        user = await outage.seed_user()
        await listener.connect({"token": user.token})
        now = datetime.now(timezone.utc)
        invoice_id = ObjectId()
        await outage.database["invoices"].insert_one({
            "_id": invoice_id, "owner_id": ObjectId(user.id), "org_id": ObjectId(user.org_id), "status": "pending",
            "status_history": [], "created_at": now, "updated_at": now})
        await listener.wait_for(lambda ev: len(ev) == 1)

        server.stop()
        await wait_for_stream(url, "reconnecting")
        latecomer = Listener(url)
        async with httpx.AsyncClient(timeout=30) as http:
            refused, sse = await asyncio.gather(
                latecomer.connect({"token": user.token}),
                http.get(f"{url}/api/v1/events", headers={"Authorization": f"Bearer {user.token}"}),
                return_exceptions=True)
        assert isinstance(refused, socketio.exceptions.ConnectionError)
        assert "retry shortly" in latecomer.refusal["message"]
        assert sse.status_code == 503 and sse.headers["retry-after"]
        assert listener.client.connected

        server = start_embedded(tmp_path / "db", server.port, durable=True)
        await wait_for_stream(url, "open")
        await advance(outage, str(invoice_id), S.processing, S.pending)
        await listener.wait_for(lambda ev: len(ev) == 2)
        assert listener.named("invoice.status")[-1]["status"] == "processing"
    finally:
        await listener.close()
        process.stop()
        await client.close()
        server.stop()
    assert "Traceback" not in process.log(), process.log()[-5000:]

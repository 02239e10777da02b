"""GET /api/v1/events (Server-Sent Events) on the real API process, and `invoicer realtime` on its own."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from bson import ObjectId

from core.embedded import free_port
from core.models import InvoiceStatus as S
from core.models import Role
from tests.realtime.support import Listener, advance, events, upload
from tests.support import Process, base_env, wait_http

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer garbage", "Basic dXNlcjpwYXNz"])
async def test_without_a_valid_bearer_token_the_answer_is_401(stack, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(f"{stack.url}/api/v1/events", headers=headers)
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"]


async def test_a_bad_since_is_a_400_with_a_message(stack):
    user = await stack.seed_user()
    response = httpx.get(f"{stack.url}/api/v1/events", params={"since": "soon"},
                         headers={"Authorization": f"Bearer {user.token}"})
    assert response.status_code == 400 and "since" in response.json()["detail"]


async def test_owner_and_admin_streams_carry_the_same_events_as_socketio(stack):
    admin = await stack.seed_user(role=Role.admin)
    owner = await stack.seed_user(ObjectId(admin.org_id))
    outsider = await stack.seed_user()
    async with events(stack, owner.token) as mine, events(stack, admin.token) as theirs, \
            events(stack, outsider.token) as nobody:
        assert mine.response.headers["content-type"].startswith("text/event-stream")
        invoice = await upload(stack, owner.token, "sse")
        await advance(stack, invoice["id"], S.processing, S.pending)
        for stream in (mine, theirs):
            first, second = await stream.next(), await stream.next()
            assert [(f["event"], f["data"]["status"]) for f in (first, second)] == [
                ("invoice.status", "pending"), ("invoice.status", "processing")]
            assert first["id"] == first["data"]["event_id"]
        with pytest.raises(TimeoutError):
            await nobody.next(timeout=1.0)


async def test_last_event_id_replays_what_was_missed(stack):
    owner = await stack.seed_user()
    async with events(stack, owner.token) as stream:
        invoice = await upload(stack, owner.token, "sse-resume")
        last_id = (await stream.next())["id"]
    await advance(stack, invoice["id"], S.processing, S.pending)
    async with events(stack, owner.token, **{"Last-Event-ID": last_id}) as stream:
        replayed = await stream.next()
        assert replayed["data"]["status"] == "processing" and replayed["data"]["replayed"] is True
        done = await stream.next()
        assert done["event"] == "catchup.complete" and done["data"]["count"] == 1


async def test_the_stream_ends_when_the_token_expires(stack):
    user = await stack.seed_user()
    short = stack.token(user.id, user.org_id, Role.employee, lifetime=timedelta(seconds=2))
    async with events(stack, short) as stream:
        frame = await stream.next()
        assert frame["event"] == "session.expired"
        with pytest.raises(EOFError):
            await stream.next()


async def test_invoicer_realtime_serves_socketio_on_its_own(stack, tmp_path: Path, mongo_uri: str):
    """The standalone server, next to the API process on the same database, sees the API's writes."""
    port = free_port()
    env = base_env(mongo_uri, stack.database.name, tmp_path / "data")
    process = Process(["realtime", "--port", str(port)], env, tmp_path / "realtime.log").start()
    try:
        url = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_http, f"{url}/health", 30.0, process)
        assert httpx.get(f"{url}/health").json() == {"status": "ok", "change_stream": "open"}
        user = await stack.seed_user()
        listener = Listener(url)
        await listener.connect({"token": user.token})
        invoice = await upload(stack, user.token, "standalone")
        await listener.wait_for(lambda ev: len(ev) == 1)
        assert listener.named("invoice.status")[0]["id"] == invoice["id"]
        await listener.close()
    finally:
        process.stop()
    log = process.log()
    assert "Application shutdown complete" in log and "Traceback" not in log

"""Socket.IO beside the API, against a real `invoicer api` process and real socketio.AsyncClients.

Status transitions a watcher makes are written here through `core.transitions.status_change`, exactly as
the watcher writes them; uploads, corrections and deletes go through the real API.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import socketio
from bson import ObjectId

from core.bson_codec import to_bson
from core.models import Role
from core.models import InvoiceStatus as S
from tests.realtime.support import (
    Listener, SILENCE_SECONDS, add_employee, advance, api_client, register, statuses, upload,
)

pytestmark = pytest.mark.slow

async def test_owner_and_org_admin_see_the_whole_flow_in_order_and_nobody_else_sees_anything(stack, listen):
    admin = await register(stack, "ada")
    a, b = await add_employee(stack, admin, "alice"), await add_employee(stack, admin, "bob")
    other_admin = await register(stack, "olga")
    other_employee = await add_employee(stack, other_admin, "oscar")
    watching = {name: await listen(user["access_token"]) for name, user in [
        ("a", a), ("admin", admin), ("b", b), ("other_admin", other_admin), ("other_employee", other_employee)]}

    invoice = await upload(stack, a["access_token"], "flow")
    await watching["a"].wait_for(lambda ev: len(ev) == 1)
    await advance(stack, invoice["id"], S.processing, S.pending)
    extraction = to_bson({"fields": {"vendor_name": {"value": "ACME GmbH", "confidence": 0.9},
                                     "invoice_number": {"value": "R-2024-001", "confidence": 0.9},
                                     "total": {"value": Decimal("118.00"), "confidence": 0.9},
                                     "currency": {"value": "EUR", "confidence": 0.9}},
                          "text": "the whole OCR text, never sent"})
    await advance(stack, invoice["id"], S.processed, S.processing, extraction=extraction)

    expected = [(None, "pending"), ("pending", "processing"), ("processing", "processed")]
    for name in ("a", "admin"):
        await watching[name].wait_for(lambda ev: len(ev) >= 3)
    await asyncio.sleep(SILENCE_SECONDS)
    for name in ("a", "admin"):
        assert statuses(watching[name]) == expected, name
        assert [name for name, _ in watching[name].events] == ["invoice.status"] * 3
        processed = watching[name].named("invoice.status")[-1]
        assert processed["summary"] == {"vendor_name": "ACME GmbH", "invoice_number": "R-2024-001",
                                        "total": "118.00", "currency": "EUR"}
        assert processed["id"] == invoice["id"] and processed["event_id"].endswith(f"-{invoice['id']}-processed")
        assert "text" not in repr(processed)
    for name in ("b", "other_admin", "other_employee"):
        assert watching[name].events == [], name


async def test_corrections_delete_and_failure_reach_owner_and_admin(stack, listen):
    admin = await stack.seed_user(role=Role.admin)
    owner = await stack.seed_user(ObjectId(admin.org_id))
    owner_events, admin_events = await listen(owner.token), await listen(admin.token)
    invoice = await upload(stack, owner.token, "corrections")
    await advance(stack, invoice["id"], S.processing, S.pending)
    await advance(stack, invoice["id"], S.failed, S.processing)
    async with api_client(stack, owner.token) as http:
        response = await http.patch(f"/invoices/{invoice['id']}", json={"fields": {"total": "12.30", "vendor_name": "Kiosk"}})
        assert response.status_code == 200, response.text
        assert (await http.delete(f"/invoices/{invoice['id']}")).status_code == 204

    for listener in (owner_events, admin_events):
        await listener.wait_for(lambda ev: ev and ev[-1][0] == "invoice.deleted")
        assert [name for name, _ in listener.events] == ["invoice.status"] * 3 + ["invoice.updated", "invoice.deleted"]
        failed = listener.named("invoice.status")[-1]
        assert failed["status"] == "failed" and failed["error"] == {"code": "ocr_failed", "message": "no text found"}
        [updated] = listener.named("invoice.updated")
        assert updated["id"] == invoice["id"] and updated["fields_changed"] == ["total", "vendor_name"]
        assert listener.named("invoice.deleted")[0]["id"] == invoice["id"]


async def test_a_client_cannot_talk_its_way_into_another_room(stack, listen):
    victim_admin = await stack.seed_user(role=Role.admin)
    victim = await stack.seed_user(ObjectId(victim_admin.org_id))
    intruder = await listen((await stack.seed_user()).token)
    for event in ("join", "enter_room", "subscribe"):
        for room in (f"org:{victim.org_id}:admins", f"user:{victim.id}"):
            await intruder.client.emit(event, {"room": room})
            await intruder.client.emit(event, room)
    admin_events = await listen(victim_admin.token)
    await upload(stack, victim.token, "private")
    await admin_events.wait_for(lambda ev: len(ev) == 1)
    await asyncio.sleep(SILENCE_SECONDS)
    assert intruder.events == [] and intruder.client.connected


@pytest.mark.parametrize("auth, message", [
    (None, "authentication required"),
    ({}, "authentication required"),
    ({"token": "garbage"}, "invalid token"),
    ({"token": 12345}, "authentication required"),
])
async def test_connects_without_a_usable_token_are_refused_with_a_message(stack, auth, message):
    listener = Listener(stack.url)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await listener.connect(auth)
    assert message in listener.refusal["message"]


async def test_expired_refresh_tampered_and_disabled_are_refused(stack):
    user = await stack.seed_user()
    role, org = Role.employee, user.org_id
    disabled = await stack.seed_user(disabled=True)
    head, payload, signature = user.token.split(".")
    cases = {
        "expired": (stack.token(user.id, org, role, lifetime=timedelta(seconds=-5)), "expired"),
        "refresh": (stack.token(user.id, org, role, token_type="refresh"), "expected an access token"),
        "tampered": (f"{head}.{payload}.{signature[:-4]}AAAA", "invalid token"),
        "wrong secret": (f"{head}.{payload}.{base64.urlsafe_b64encode(b'x' * 32).decode().rstrip('=')}",
                         "invalid token"),
        "disabled": (disabled.token, "disabled"),
        "unknown user": (stack.token(str(ObjectId()), org, role), "disabled"),
        "bad since": (user.token, "since"),
    }
    for name, (token, message) in cases.items():
        listener = Listener(stack.url)
        auth = {"token": token, **({"since": "last tuesday"} if name == "bad since" else {})}
        with pytest.raises(socketio.exceptions.ConnectionError):
            await listener.connect(auth)
        assert message in listener.refusal["message"], name


async def test_a_reconnect_with_since_receives_what_was_missed(stack, listen):
    owner = await stack.seed_user()
    phone = await listen(owner.token)
    invoice = await upload(stack, owner.token, "tunnel")
    await phone.wait_for(lambda ev: len(ev) == 1)
    last_seen = phone.named("invoice.status")[-1]["event_id"]
    await phone.close()  # into the tunnel

    await advance(stack, invoice["id"], S.processing, S.pending)
    await advance(stack, invoice["id"], S.processed, S.processing)

    for since in (last_seen, phone.named("invoice.status")[-1]["updated_at"]):
        back = await listen(owner.token, since=since)
        await back.wait_for(lambda ev: ev and ev[-1][0] == "catchup.complete")
        replayed = [(e["status"], e.get("replayed")) for e in back.named("invoice.status")]
        # By event id: exactly the missed ones. By timestamp: from that moment on, so `pending` again.
        tail = [("processing", True), ("processed", True)]
        assert replayed == tail if since == last_seen else replayed == [("pending", True), *tail]
        [done] = back.named("catchup.complete")
        assert done["count"] == len(replayed) and done["truncated"] is False
        await back.close()

    stale = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat()
    old = await listen(owner.token, since=stale)
    await old.wait_for(lambda ev: ev and ev[-1][0] == "catchup.complete")
    assert old.named("catchup.complete")[0]["truncated"] is True  # older than 15 minutes: refetch the list


async def test_the_connection_ends_when_its_token_expires(stack, listen):
    user = await stack.seed_user()
    short = stack.token(user.id, user.org_id, Role.employee, lifetime=timedelta(seconds=2))
    listener = await listen(short)
    disconnected = asyncio.Event()
    listener.client.on("disconnect", lambda *args: disconnected.set())
    await asyncio.wait_for(disconnected.wait(), 10)
    assert [name for name, _ in listener.events] == ["session.expired"]


async def test_200_clients_each_get_exactly_their_own_events(stack, listen):
    admin = await stack.seed_user(role=Role.admin)
    users = [await stack.seed_user(ObjectId(admin.org_id)) for _ in range(200)]
    clients = await asyncio.gather(*(listen(u.token, transports=["websocket"]) for u in users))
    dashboard = await listen(admin.token)

    uploaded = []
    for start in range(0, len(users), 20):  # 20 uploads in flight at a time
        uploaded += await asyncio.gather(*(upload(stack, u.token, f"many-{i}")
                                           for i, u in enumerate(users[start:start + 20], start)))
    await asyncio.gather(*(advance(stack, inv["id"], S.processing, S.pending) for inv in uploaded))

    await dashboard.wait_for(lambda ev: len(ev) == 400, timeout=60)
    await asyncio.gather(*(c.wait_for(lambda ev: len(ev) >= 2, timeout=30) for c in clients))
    await asyncio.sleep(SILENCE_SECONDS)
    for client, invoice in zip(clients, uploaded, strict=True):
        assert [(e["id"], e["status"]) for e in client.named("invoice.status")] == [
            (invoice["id"], "pending"), (invoice["id"], "processing")]
        assert len(client.events) == 2
    assert len(dashboard.events) == 400

"""The change-stream tailer against a real SecantusDB: what it lets through, resuming, lost history."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from core import transitions
from core.bson_codec import to_bson
from core.db import make_client
from core.embedded import _server_binary, embedded_uri, free_port, start_embedded, wait_until_ready
from core.models import InvoiceStatus as S
from core.models import Timings
from core.summary import event_summary
from core.transitions import status_change
from realtime.events import ChangeTranslator, Event
from realtime.stream import ChangeTailer


class Recorder:
    """Runs a tailer and keeps the raw changes and the events they became."""

    def __init__(self, collection, **tailer_options: Any) -> None:
        self.changes: list[Mapping[str, Any]] = []
        self.events: list[Event] = []
        self._translator = ChangeTranslator()
        self.tailer = ChangeTailer(collection, self._handle, **tailer_options)
        self.task: asyncio.Task | None = None

    async def _handle(self, change: Mapping[str, Any]) -> None:
        self.changes.append(change)
        self.events.extend(self._translator.translate(change))

    async def __aenter__(self) -> Recorder:
        self.task = asyncio.create_task(self.tailer.run())
        await asyncio.wait_for(self.tailer.open.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def wait_events(self, count: int, timeout: float = 10.0) -> list[Event]:
        async with asyncio.timeout(timeout):
            while len(self.events) < count:
                await asyncio.sleep(0.01)
        return self.events


def new_invoice(**extra: Any) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    return {"_id": ObjectId(), "owner_id": ObjectId(), "org_id": ObjectId(), "status": "pending",
            "status_history": [], "created_at": now, "updated_at": now, **extra}


async def test_only_event_worthy_changes_arrive_without_heavy_fields_or_lookups(db):
    """Written as the watcher and the API write them (core.transitions): each names whom its event goes to,
    so the stream needs no read of the document."""
    invoices = db["invoices"]
    async with Recorder(invoices) as recorder:
        invoice = new_invoice(search_terms=["acme"] * 100)
        key, owner = transitions.invoice_key(invoice["_id"], invoice["org_id"]), invoice["owner_id"]
        await invoices.insert_one(invoice)
        now = datetime.now(timezone.utc)
        for write in (
            transitions.claim(key, "w#1", now, timedelta(seconds=30), owner),
            transitions.renew_leases(["w#1"], now + timedelta(seconds=60)),  # no event: filtered out
            transitions.finish(key, "w#1", now, timings=Timings(), search_terms=["acme"], owner_id=owner,
                               extraction=to_bson({"fields": {"total": {"value": Decimal("99.90"), "confidence": 0.9}},
                                                   "text": "WORDS " * 5000})),
            transitions.correct(key, now, corrections={"total": {"value": "1"}}, removed=[], owner_id=owner),
            transitions.deleting(key, owner, now),
        ):
            assert (await invoices.update_one(write.filter, write.update)).modified_count == 1
        await invoices.delete_one(key)
        events = await recorder.wait_events(5)
        await asyncio.sleep(0.3)

    assert [(e.name, e.payload.get("status")) for e in recorder.events] == [
        ("invoice.status", "pending"), ("invoice.status", "processing"), ("invoice.status", "processed"),
        ("invoice.updated", None), ("invoice.deleted", None)]
    assert all(e.owner_id == str(owner) and e.org_id == str(invoice["org_id"]) for e in events)
    assert events[2].payload["summary"]["total"] == "99.90"
    assert [c["operationType"] for c in recorder.changes] == ["insert", *["update"] * 4, "delete"], \
        "the lease renewal must be filtered out in the database"
    assert recorder.tailer.lookups == 0
    for change in recorder.changes:
        text = repr(change)
        assert "WORDS" not in text and "acme" not in text and "search_terms" not in text


async def test_a_write_that_does_not_name_its_parties_is_completed_by_one_read(db):
    """A lease expiry or a bulk reprocess updates many invoices at once, and a writer from before
    `last_event` did not write it: the event still reaches the owner, through one read of the invoice."""
    invoices = db["invoices"]
    invoice = new_invoice(status="processing")
    await invoices.insert_one(invoice)  # before the tailer starts: never seen by it
    async with Recorder(invoices) as recorder:
        expiry = transitions.expire_lease(datetime.now(timezone.utc), 5, expiries_left=True)
        await invoices.update_one({"_id": invoice["_id"]}, {**expiry.update, "$set": {
            **expiry.update["$set"], "lease": None}})
        [event] = await recorder.wait_events(1)
    assert (event.payload["status"], event.owner_id, event.org_id) == (
        "pending", str(invoice["owner_id"]), str(invoice["org_id"]))
    assert recorder.tailer.lookups == 1


async def test_a_delete_of_an_unseen_invoice_reaches_its_owner_without_pre_images(db):
    invoices = db["invoices"]
    invoice = new_invoice()
    await invoices.insert_one(invoice)  # before the tailer starts: never seen by it
    key = transitions.invoice_key(invoice["_id"], invoice["org_id"])
    async with Recorder(invoices) as recorder:
        stamp = transitions.deleting(key, invoice["owner_id"], datetime.now(timezone.utc))
        await invoices.update_one(stamp.filter, stamp.update)
        await invoices.delete_one(key)
        [event] = await recorder.wait_events(1)
        await asyncio.sleep(0.3)
    assert event.name == "invoice.deleted" and event.owner_id == str(invoice["owner_id"])
    assert len(recorder.events) == 1 and recorder.tailer.lookups == 0


async def _write_statuses(collection, invoice_id: ObjectId, count: int) -> None:
    previous = S.pending
    for index in range(count):
        new = S.processing if index % 2 == 0 else S.pending
        await collection.update_one({"_id": invoice_id}, status_change(new, previous, datetime.now(timezone.utc)))
        previous = new


@pytest.mark.slow
async def test_resumes_from_its_token_after_the_database_restarts(tmp_path: Path):
    """Changes written while the tailer is still reconnecting arrive once each, none lost."""
    server = start_embedded(tmp_path / "db", durable=True)
    port = server.port
    client = make_client(server.uri, serverSelectionTimeoutMS=2000)
    invoices = client["rt"]["invoices"]
    try:
        invoice = new_invoice()
        await invoices.insert_one(invoice)
        async with Recorder(invoices, max_backoff_seconds=2.0) as recorder:
            await _write_statuses(invoices, invoice["_id"], 3)
            await recorder.wait_events(3)
            server.stop()
            await asyncio.sleep(1.5)  # the tailer notices and starts backing off
            server = start_embedded(tmp_path / "db", port, durable=True)
            await _write_statuses(invoices, invoice["_id"], 4)  # likely before the tailer is back
            events = await recorder.wait_events(7, timeout=20)
            await asyncio.sleep(0.5)
            assert recorder.tailer.restarts >= 1
        statuses = [e.payload["status"] for e in events]
        assert statuses == ["processing", "pending", "processing", "processing", "pending", "processing", "pending"]
        assert len({e.event_id for e in events}) == 7
    finally:
        await client.close()
        server.stop()


@pytest.mark.slow
async def test_starts_afresh_when_its_history_is_gone(caplog: pytest.LogCaptureFixture):
    # A tiny oplog, so that a token falls off it after a few writes (code 286 on resume).
    port = free_port()
    process = subprocess.Popen(
        [_server_binary(), "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:",
         "--log-level", "WARNING", "--oplog-max-entries", "5"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    uri = embedded_uri(port)
    wait_until_ready(uri, 30, process)
    client = make_client(uri)
    invoices = client["rt"]["invoices"]
    try:
        invoice = new_invoice()
        await invoices.insert_one(invoice)
        async with Recorder(invoices) as first:
            await _write_statuses(invoices, invoice["_id"], 1)
            await first.wait_events(1)
            stale_token = first.tailer.resume_token
        await _write_statuses(invoices, invoice["_id"], 40)
        await client.admin.command("secantusAdmin.pruneOplog")  # SecantusDB's own: prune now, not at its next sweep
        async with Recorder(invoices, resume_after=stale_token) as second:
            await _write_statuses(invoices, invoice["_id"], 1)
            events = await second.wait_events(1)
            await asyncio.sleep(0.3)
        assert len(events) == 1, "started from now: neither a replay of pruned history nor an endless retry"
        assert "history lost (286)" in caplog.text
    finally:
        await client.close()
        process.terminate()
        process.wait(10)


async def test_with_pre_images_enabled_a_delete_of_an_unseen_invoice_still_reaches_its_owner(db):
    invoices = db["invoices"]
    invoice = new_invoice()
    await invoices.insert_one(invoice)  # before the tailer starts: never seen by it
    await db.command("collMod", "invoices", changeStreamPreAndPostImages={"enabled": True})
    async with Recorder(invoices) as recorder:
        await invoices.delete_one({"_id": invoice["_id"]})
        [event] = await recorder.wait_events(1)
    assert event.name == "invoice.deleted" and event.owner_id == str(invoice["owner_id"])
    assert set(recorder.changes[0]["fullDocumentBeforeChange"]) <= {"owner_id", "org_id"}  # projected, not the document

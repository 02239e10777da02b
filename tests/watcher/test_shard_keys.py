"""Writes a sharded cluster can route: every write that names one invoice (claims, final writes, hand-backs,
the API's corrections, reprocess, confirmation, delete) carries the whole shard key `{org_id, _id}`, seen
by a PyMongo `CommandListener` on the commands the client really sends. Multi-document maintenance writes
(lease renewal, the expiry sweep) are update_many by design and say so."""

from __future__ import annotations

import asyncio
from typing import Any

from beanie import PydanticObjectId
from pymongo import monitoring

from api.invoices import service as invoices
from api.review import service as review
from core.config import Settings
from core.db import connect
from core.models import Invoice, Role, User
from tests.watcher.support import ORG, OWNER, queue_invoices
from watcher.queue import Failure, InvoiceQueue, now_ms
from watcher.stream import InvoiceStream
from watcher.worker import JobResult

DONE = JobResult(ok=True, extraction={"fields": {}}, search_terms=[], extract_ms=1.0)


class InvoiceWrites(monitoring.CommandListener):
    def __init__(self) -> None:
        self.single: list[dict[str, Any]] = []  # filters of writes that name one invoice
        self.multi: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        command = event.command
        if event.command_name == "update" and command.get("update") == "invoices":
            for update in command["updates"]:
                (self.multi if update.get("multi") else self.single).append(dict(update["q"]))
        elif event.command_name == "delete" and command.get("delete") == "invoices":
            for delete in command["deletes"]:
                (self.single if delete.get("limit") == 1 else self.multi).append(dict(delete["q"]))
        elif event.command_name == "findAndModify" and command.get("findAndModify") == "invoices":
            self.single.append(dict(command["query"]))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_every_write_of_one_invoice_carries_the_shard_key(db, settings: Settings):
    listener = InvoiceWrites()
    client, _ = await connect(settings, event_listeners=[listener])  # Beanie now writes through this client
    try:
        ids = await queue_invoices(db, [b"a", b"b", b"c", b"d", b"e"])
        queue = InvoiceQueue(Invoice.get_pymongo_collection(), "w", lease_seconds=30, max_attempts=3,
                             retry_base_seconds=10)
        backlog = await queue.ready_ids(10)
        assert {offer.org_id for offer in backlog} == {ORG}
        claims = [await queue.claim(offer.id, offer.org_id) for offer in backlog]
        assert all(claims)
        await queue.renew([claim.token for claim in claims])
        await queue.finish(claims[0], DONE, now_ms())
        await queue.finish(claims[1], Failure("timeout", "Too slow.", transient=True), now_ms())
        await queue.finish(claims[2], Failure("unreadable_file", "Not an image.", transient=False), now_ms())
        await queue.hand_back(claims[3])
        await queue.expire_leases()

        admin = User(email="a@example.com", name="A", password_hash="-", role=Role.admin,
                     org_id=PydanticObjectId(ORG), id=PydanticObjectId(OWNER))
        processed = await Invoice.get(ids[0])
        corrected = await invoices.correct(processed, {"total": "118.00"}, admin, settings)
        confirmed = await review.confirm(corrected, admin)
        await invoices.requeue(confirmed)
        await invoices.delete(db, await Invoice.get(ids[2]))

        assert len(listener.single) >= 10
        for query in listener.single:
            assert query.get("org_id") == ORG and "_id" in query, query
        assert all("lease.until" in query or "lease.owner" in query for query in listener.multi)
    finally:
        await client.close()


async def test_the_stream_offers_each_insert_with_its_org_id_and_owner(db):
    offers: list[tuple[Any, Any, Any]] = []
    stopping = asyncio.Event()
    stream = InvoiceStream(InvoiceQueue(Invoice.get_pymongo_collection(), "w", lease_seconds=30, max_attempts=3,
                                        retry_base_seconds=10), "group", None, stopping,
                           offer=lambda invoice_id, org_id, owner_id: offers.append((invoice_id, org_id, owner_id)),
                           request_backlog=lambda: None)
    task = asyncio.create_task(stream.run())
    try:
        await asyncio.wait_for(stream.follower.open.wait(), 10)
        ids = await queue_invoices(db, [b"x", b"y"])
        for _ in range(100):
            if len(offers) == len(ids):
                break
            await asyncio.sleep(0.05)
        owners = {doc["_id"]: doc["owner_id"] async for doc in db["invoices"].find({}, {"owner_id": 1})}
        assert offers == [(invoice_id, ORG, owners[invoice_id]) for invoice_id in ids]
    finally:
        stopping.set()
        await asyncio.wait_for(task, 10)

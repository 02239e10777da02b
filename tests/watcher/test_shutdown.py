"""Issue #4, scenario 5: SIGTERM during work exits 0 within the grace period; running jobs that finish in
time are written, the rest and the prefetched claims go back to pending without costing an attempt."""

from __future__ import annotations

import signal
import time

import pytest
from tests.watcher.support import heartbeats, queue_invoices, wait_until, watcher_ready


GRACE = 8.0


@pytest.mark.slow
async def test_sigterm_finishes_what_it_can_hands_back_the_rest_and_exits_0(db, start_watcher):
    watcher_id = "graceful"
    watcher = start_watcher("--id", watcher_id, SHUTDOWN_GRACE_SECONDS=str(GRACE), LEASE_SECONDS="60")
    await wait_until(watcher_ready(db), 60, "the watcher to start", watcher)
    quick, stuck = await queue_invoices(db, [b"sleep 3", b"hang"])

    async def processing(*ids) -> bool:  # noqa: ANN002
        return await db["invoices"].count_documents({"_id": {"$in": list(ids)}, "status": "processing"}) == len(ids)

    await wait_until(lambda: processing(quick, stuck), 10, "both workers busy", watcher)
    prefetched = await queue_invoices(db, [b"sleep 0.1\na", b"sleep 0.1\nb"])
    await wait_until(lambda: processing(*prefetched), 10, "two more claimed ahead", watcher)

    started = time.monotonic()
    watcher.signal(signal.SIGTERM)
    assert watcher.wait(GRACE + 5) == 0
    assert time.monotonic() - started < GRACE

    assert await db["invoices"].count_documents({"status": "processing"}) == 0
    assert (await db["invoices"].find_one({"_id": quick}))["status"] == "processed"
    for invoice_id in (stuck, *prefetched):
        doc = await db["invoices"].find_one({"_id": invoice_id})
        assert doc["status"] == "pending" and doc["attempts"] == 0 and doc["lease"] is None, doc
        assert [entry["status"] for entry in doc["status_history"]] == ["processing", "pending"]
    assert await heartbeats(db) == []  # it said goodbye
    assert (await db["watcher_state"].find_one({"_id": f"default/{watcher_id}"}))["resume_token"] is not None
    assert "handed 3 unfinished invoices back to pending" in watcher.log()

"""Issue #4, scenarios 1 and 2: real watcher processes drain a backlog, each invoice claimed and written
exactly once, even when one of them is SIGKILLed halfway."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from tests.watcher.support import CONCURRENCY, FAST_WATCHER, heartbeats, queue_invoices, statuses, wait_until


PREFETCH = int(FAST_WATCHER["WATCHER_PREFETCH"])


def history(doc: dict) -> list[str]:
    return [entry["status"] for entry in doc["status_history"]]


def child_pids(pid: int) -> set[int]:
    children: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children.update(int(child) for child in (task / "children").read_text().split())
    return children


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
async def test_two_watchers_drain_a_backlog_with_one_claim_and_one_final_write_per_invoice(db, start_watcher):
    ids = await queue_invoices(db, [b"sleep 0.05\ninvoice %d" % n for n in range(200)])
    watchers = [start_watcher(), start_watcher()]
    most_in_processing = 0

    async def drained() -> bool:
        nonlocal most_in_processing
        counts = await statuses(db)
        most_in_processing = max(most_in_processing, counts["processing"])
        return counts["processed"] == len(ids)

    await wait_until(drained, 120, "200 invoices processed", *watchers)
    async for doc in db["invoices"].find({}, {"status_history": 1, "attempts": 1, "lease": 1}):
        assert history(doc) == ["processing", "processed"], doc  # one claim, one fenced final write
        assert doc["attempts"] == 1 and doc["lease"] is None
    # Backpressure: neither watcher held more than its workers plus the prefetch.
    assert most_in_processing <= 2 * (CONCURRENCY + PREFETCH)

    async def both_reported() -> bool:
        beats = await heartbeats(db)
        return len(beats) == 2 and sum(beat["processed"] for beat in beats) == len(ids)

    await wait_until(both_reported, 10, "the heartbeats to count 200 processed", *watchers)
    beats = await heartbeats(db)
    assert all(beat["processed"] > 0 and beat["swept"] == 0 and beat["in_flight"] == 0 for beat in beats), beats


@pytest.mark.slow
async def test_a_watcher_killed_halfway_loses_nothing_and_repeats_nothing(db, start_watcher):
    ids = await queue_invoices(db, [b"sleep 0.05\ninvoice %d" % n for n in range(100)])
    first = start_watcher()

    async def some_processed() -> bool:
        return (await statuses(db))["processed"] >= 30

    await wait_until(some_processed, 60, "30 invoices processed", first)
    workers = child_pids(first.pid)
    first.signal(signal.SIGKILL)
    first.wait(10)
    orphaned = await db["invoices"].find({"status": "processing"}, {"_id": 1}).to_list()
    assert 0 < len(orphaned) <= CONCURRENCY + PREFETCH

    async def workers_gone() -> bool:
        return not any(running(pid) for pid in workers)

    await wait_until(workers_gone, 5, "the dead watcher's workers to die with it")

    second = start_watcher()

    async def all_final() -> bool:
        counts = await statuses(db)
        return counts["processed"] + counts["failed"] == len(ids)

    await wait_until(all_final, 60, "every invoice final", second)
    assert (await statuses(db))["processed"] == len(ids)
    orphaned_ids = {doc["_id"] for doc in orphaned}
    async for doc in db["invoices"].find():
        assert history(doc).count("processed") == 1, doc
        if doc["_id"] in orphaned_ids:  # its lease expired, it was requeued and done again
            assert history(doc) == ["processing", "pending", "processing", "processed"]
            assert doc["status_history"][1]["error"]["code"] == "lease_expired"
            assert doc["attempts"] == 1 and doc["lease_expiries"] == 1  # a dead watcher costs no attempt
        else:
            assert history(doc) == ["processing", "processed"]
    assert os.WIFSIGNALED(first.popen.returncode) or first.popen.returncode == -signal.SIGKILL

"""`invoicer reprocess`: failed (or named) invoices go back to pending with fresh attempts, and a running
watcher does them again; invoices in flight are left alone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import INVOICER, REPO, base_env
from tests.watcher.support import queue_invoices, statuses, wait_until


def reprocess(mongo_uri: str, db_name: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([INVOICER, "reprocess", *args], env=base_env(mongo_uri, db_name, tmp_path / "data"),
                          cwd=REPO, capture_output=True, text=True, timeout=60)


def steps(doc: dict) -> list[str]:
    return [entry["status"] for entry in doc["status_history"]]


@pytest.mark.slow
async def test_reprocess_queues_failed_or_named_invoices_again(db, start_watcher, mongo_uri, db_name, tmp_path):
    unreadable, fine = await queue_invoices(db, [b"fail unreadable_file", b"fine"])
    watcher = start_watcher()

    async def final(expected: dict[str, int]) -> bool:
        counts = await statuses(db)
        return all(counts[status] == count for status, count in expected.items())

    await wait_until(lambda: final({"failed": 1, "processed": 1}), 60, "both invoices final", watcher)

    dry = reprocess(mongo_uri, db_name, tmp_path, "--failed", "--dry-run")
    assert dry.returncode == 0 and "1 invoice(s) would be queued again (1 failed)" in dry.stdout, dry
    assert (await statuses(db))["failed"] == 1

    done = reprocess(mongo_uri, db_name, tmp_path, "--failed", "--error-code", "unreadable_file")
    assert done.returncode == 0 and "1 invoice(s) queued again (1 failed)" in done.stdout, done

    async def failed_twice() -> bool:
        doc = await db["invoices"].find_one({"_id": unreadable})
        return doc["status"] == "failed" and steps(doc).count("failed") == 2

    await wait_until(failed_twice, 30, "the failed invoice to be tried again", watcher)
    doc = await db["invoices"].find_one({"_id": unreadable})
    assert steps(doc) == ["processing", "failed", "pending", "processing", "failed"]
    assert doc["attempts"] == 1  # reset on requeue

    named = reprocess(mongo_uri, db_name, tmp_path, str(fine), "65f00000000000000000abcd")
    assert named.returncode == 0 and "1 invoice(s) queued again (1 processed)" in named.stdout, named
    assert "1 of the named invoices were not found" in named.stdout

    async def processed_twice() -> bool:
        return steps(await db["invoices"].find_one({"_id": fine})).count("processed") == 2

    await wait_until(processed_twice, 30, "the named invoice to be processed again", watcher)


def test_reprocess_says_what_it_needs(mongo_uri, db_name, tmp_path):
    nothing = reprocess(mongo_uri, db_name, tmp_path)
    assert nothing.returncode == 2 and "name invoice ids, or pass --failed" in nothing.stderr
    bad_id = reprocess(mongo_uri, db_name, tmp_path, "not-an-id")
    assert bad_id.returncode == 2 and "not an id" in bad_id.stderr

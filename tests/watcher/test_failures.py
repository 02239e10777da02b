"""Issue #4, scenario 4 and its kin: a file that crashes or hangs the extraction fails after MAX_ATTEMPTS
with a clear error, a permanent failure fails at once, and the watcher goes on with the others."""

from __future__ import annotations

import pytest
from tests.watcher.support import queue_invoices, statuses, wait_until


MAX_ATTEMPTS = 2
# first line of the file -> (error code, words of the message, attempts made)
BAD = {
    b"segfault": ("worker_crashed", "killed by SIGSEGV", MAX_ATTEMPTS),
    b"exit": ("worker_crashed", "exited with code 3", MAX_ATTEMPTS),
    b"hang": ("timeout", "took longer than 1 s", MAX_ATTEMPTS),
    b"raise": ("internal_error", "RuntimeError: the test extractor was told to raise", MAX_ATTEMPTS),
    b"fail ocr_failed": ("ocr_failed", "told to fail with ocr_failed", MAX_ATTEMPTS),  # transient code
    b"fail unreadable_file": ("unreadable_file", "told to fail with unreadable_file", 1),  # permanent code
}


@pytest.mark.slow
async def test_poisoned_files_fail_after_max_attempts_and_the_others_are_processed(db, start_watcher):
    good = await queue_invoices(db, [b"fine %d" % n for n in range(20)])
    bad = dict(zip(await queue_invoices(db, list(BAD)), BAD.values(), strict=True))
    watcher = start_watcher(
        MAX_ATTEMPTS=str(MAX_ATTEMPTS), JOB_TIMEOUT_SECONDS="1", tracebacks_expected=True,
        SWEEP_INTERVAL_SECONDS="600",  # retries must come back on their own timer, not through a sweep
    )

    async def all_final() -> bool:
        counts = await statuses(db)
        return counts["processed"] + counts["failed"] == len(good) + len(bad)

    await wait_until(all_final, 90, "every invoice final", watcher)
    assert watcher.alive()
    for invoice_id in good:
        doc = await db["invoices"].find_one({"_id": invoice_id})
        assert doc["status"] == "processed" and doc["attempts"] == 1
    for invoice_id, (code, words, attempts) in bad.items():
        doc = await db["invoices"].find_one({"_id": invoice_id})
        assert doc["status"] == "failed", doc
        assert doc["error"]["code"] == code and words in doc["error"]["message"], doc["error"]
        assert doc["attempts"] == attempts
        if attempts > 1:
            assert doc["error"]["message"].endswith(f"Gave up after {attempts} attempts.")
            retries = [entry for entry in doc["status_history"] if entry["status"] == "pending"]
            assert len(retries) == attempts - 1 and all(entry["error"]["code"] == code for entry in retries)
        assert doc["lease"] is None and doc["extraction"] is None

    # Replaced workers keep working: something queued afterwards is processed as usual.
    [late] = await queue_invoices(db, [b"after the storm"])

    async def late_processed() -> bool:
        return (await db["invoices"].find_one({"_id": late}))["status"] == "processed"

    await wait_until(late_processed, 15, "an invoice queued afterwards to be processed", watcher)


async def test_an_extractor_that_cannot_be_loaded_stops_the_watcher_with_a_clear_message(start_process):
    watcher = start_process("watcher", "--concurrency", "1", WATCHER_TEST_EXTRACTOR="no.such.module:extract")
    assert watcher.wait(60) == 2
    assert "cannot load the extractor 'no.such.module:extract'" in watcher.log()

"""The watcher's log: one line per invoice outcome with its id, attempt, duration and error code, and with
LOG_FORMAT=json every line (the workers' too) a JSON object a log shipper can read."""

from __future__ import annotations

import json
import signal

import pytest
from tests.watcher.support import queue_invoices, statuses, wait_until


@pytest.mark.slow
async def test_json_logs_carry_each_outcome_with_invoice_attempt_duration_and_code(db, start_watcher):
    fine, unreadable = await queue_invoices(db, [b"fine", b"fail unreadable_file"])
    watcher = start_watcher(LOG_FORMAT="json")

    async def both_final() -> bool:
        counts = await statuses(db)
        return counts["processed"] == 1 and counts["failed"] == 1

    await wait_until(both_final, 60, "both invoices final", watcher)
    watcher.signal(signal.SIGTERM)
    assert watcher.wait(30) == 0
    records = [json.loads(line) for line in watcher.log().splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(record) for record in records)
    outcomes = {record["invoice_id"]: record for record in records if "invoice_id" in record}
    assert outcomes[str(fine)]["outcome"] == "processed" and outcomes[str(fine)]["error_code"] is None
    failed = outcomes[str(unreadable)]
    assert failed["outcome"] == "failed" and failed["error_code"] == "unreadable_file"
    assert failed["attempt"] == 1 and isinstance(failed["duration_ms"], int)

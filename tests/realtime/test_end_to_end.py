"""The whole flow with real processes only: upload through the API, a real `invoicer watcher` processes it
(with the scripted test extractor instead of OCR), Socket.IO tells the owner and the admin, and nobody else."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.realtime.support import SILENCE_SECONDS, add_employee, register, statuses, upload
from tests.support import REPO, Process, base_env
from tests.watcher.extractors import SCRIPTED

pytestmark = pytest.mark.slow


@pytest.fixture
def watcher(stack, mongo_uri: str, tmp_path: Path):  # noqa: ANN001, ANN201
    env = base_env(mongo_uri, stack.database.name, tmp_path / "data", WATCHER_TEST_EXTRACTOR=SCRIPTED,
                   PYTHONPATH=str(REPO))
    process = Process(["watcher", "--concurrency", "1"], env, tmp_path / "watcher.log").start()
    yield process
    process.stop()
    assert "Traceback" not in process.log(), process.log()[-5000:]


async def test_upload_to_processed_reaches_owner_and_admin_in_order(stack, listen, watcher):
    admin = await register(stack, "ada")
    a, b = await add_employee(stack, admin, "alice"), await add_employee(stack, admin, "bob")
    other_admin = await register(stack, "olga")
    listeners = {name: await listen(user["access_token"])
                 for name, user in [("a", a), ("admin", admin), ("b", b), ("other_admin", other_admin)]}

    invoice = await upload(stack, a["access_token"], "end-to-end")
    for name in ("a", "admin"):
        await listeners[name].wait_for(lambda ev: len(ev) >= 3, timeout=30)
    await asyncio.sleep(SILENCE_SECONDS)

    for name in ("a", "admin"):
        assert statuses(listeners[name], invoice["id"]) == [
            (None, "pending"), ("pending", "processing"), ("processing", "processed")], name
        assert len(listeners[name].events) == 3
        summary = listeners[name].named("invoice.status")[-1]["summary"]
        assert summary == {"vendor_name": "Café Müller GmbH", "invoice_number": "TEST-0042", "total": "42.50",
                           "currency": None}
    assert listeners["b"].events == [] and listeners["other_admin"].events == []

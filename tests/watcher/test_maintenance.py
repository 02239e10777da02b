"""Maintenance once per cluster: one caller per interval takes the orphan sweep's turn, the sweep reads in
bounded batches, `invoicer maintenance` runs it from cron, and `invoicer migrate` is the one step that
creates the indexes (services start without them)."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from pymongo import AsyncMongoClient

from core import storage
from core.config import Settings
from core.db import connect
from core.models import Invoice, utcnow
from tests.support import base_env
from tests.watcher.support import queue_invoices
from watcher.cluster import claim_turn, hold_lease
from watcher.orphans import sweep_orphaned_files

INVOICER = str(Path(sys.executable).with_name("invoicer"))


async def put_orphan(db, data: bytes, age: timedelta):  # noqa: ANN001, ANN201
    file_id = await storage.put_file(db, data, "lost.jpg", "image/jpeg", hashlib.sha256(data).hexdigest())
    await db[f"{storage.BUCKET}.files"].update_one({"_id": file_id}, {"$set": {"uploadDate": utcnow() - age}})
    return file_id


async def test_one_turn_per_interval_across_the_cluster(db):
    interval = timedelta(hours=1)
    turns = await asyncio.gather(*(claim_turn(db, "chore", f"watcher-{n}", interval) for n in range(10)))
    assert sum(turns) == 1
    assert not await claim_turn(db, "chore", "late", interval)
    assert await claim_turn(db, "chore", "an hour later", interval, now=utcnow() + interval + timedelta(seconds=1))


async def test_the_sweep_works_in_batches_and_keeps_named_files(db):
    kept = await queue_invoices(db, [f"invoice {n}".encode() for n in range(5)])
    kept_files = {doc["file_id"] async for doc in Invoice.get_pymongo_collection().find({"_id": {"$in": kept}})}
    await db[f"{storage.BUCKET}.files"].update_many({}, {"$set": {"uploadDate": utcnow() - timedelta(days=1)}})
    orphans = {await put_orphan(db, f"orphan {n}".encode(), timedelta(hours=2)) for n in range(7)}

    report = await sweep_orphaned_files(db, grace=timedelta(hours=1), batch=3)

    assert (report.checked, report.deleted) == (12, 7)
    left = {doc["_id"] async for doc in db[f"{storage.BUCKET}.files"].find({}, {"_id": 1})}
    assert left == kept_files and not left & orphans


def run_invoicer(mongo_uri: str, db_name: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = base_env(mongo_uri, db_name, tmp_path / "data")
    return subprocess.run([INVOICER, *args], env=env, capture_output=True, text=True, timeout=120)


async def test_invoicer_maintenance_sweeps_once_per_interval(db, mongo_uri, db_name, tmp_path):
    orphan = await put_orphan(db, b"left by a killed upload", timedelta(hours=2))
    first = run_invoicer(mongo_uri, db_name, tmp_path, "maintenance")
    assert first.returncode == 0, first.stderr
    assert "deleted 1" in first.stdout
    assert await db[f"{storage.BUCKET}.files"].count_documents({"_id": orphan}) == 0
    second = run_invoicer(mongo_uri, db_name, tmp_path, "maintenance")
    assert second.returncode == 0 and "Skipped" in second.stdout


async def index_names(client: AsyncMongoClient, db_name: str) -> set[str]:
    return {index["name"] async for index in await client[db_name]["invoices"].list_indexes()}


async def test_services_start_without_indexes_and_migrate_creates_them(settings: Settings, mongo_uri, tmp_path):
    client, _ = await connect(settings, create_indexes=False)
    try:
        await Invoice.get_pymongo_collection().insert_one({"probe": 1})  # the collection exists, bare
        assert await index_names(client, settings.mongodb_db) == {"_id_"}
        result = run_invoicer(mongo_uri, settings.mongodb_db, tmp_path, "migrate")
        assert result.returncode == 0, result.stderr
        names = await index_names(client, settings.mongodb_db)
        assert {"status_1_retry_at_1", "file_id_1", "org_id_1_created_at_-1"} <= names
        assert run_invoicer(mongo_uri, settings.mongodb_db, tmp_path, "migrate").returncode == 0  # idempotent
    finally:
        await client.drop_database(settings.mongodb_db)
        await client.close()

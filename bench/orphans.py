"""The orphan-file sweep at volume: time and memory of one sweep over N invoices (and N stored files, a few
of them orphans), against the embedded database, beside the old whole-set approach for comparison.

    .venv/bin/python -m bench.orphans --invoices 1000000 [--load-budget 300] [--json out.json]

Loading stops when the budget runs out; the table says how many were loaded, so a sweep measured at a
smaller size can be extrapolated (the sweep is linear in the number of old files). The documents are
loaded first and the indexes built after (`invoicer migrate`), as a bulk restore does: the end state is the
same as inserting into indexed collections, and the embedded server builds an index faster than it
maintains one insert by insert.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
import tracemalloc
from datetime import timedelta

from bson import ObjectId

from bench.common import console, embedded_database, print_table, write_json
from core import storage
from core.config import Settings
from core.db import connect, migrate
from core.models import utcnow
from watcher.orphans import sweep_orphaned_files

BATCH = 5_000


async def load(settings: Settings, invoices: int, orphans_per_mille: int, budget: float) -> tuple[int, int, float]:
    """Invoices with their files, plus orphaned files (with a chunk each), then every index; returns
    (invoices, orphans, seconds)."""
    client, database = await connect(settings, create_indexes=False)
    files, chunks = database[f"{storage.BUCKET}.files"], database[f"{storage.BUCKET}.chunks"]
    org = ObjectId()
    old = utcnow() - timedelta(days=2)
    started = time.monotonic()
    loaded = orphans = 0
    while loaded < invoices and time.monotonic() - started < budget:
        size = min(BATCH, invoices - loaded)
        file_ids = [ObjectId() for _ in range(size)]
        stray = [ObjectId() for _ in range(size * orphans_per_mille // 1000)]
        await files.insert_many([
            {"_id": file_id, "length": 1, "chunkSize": storage.CHUNK_SIZE, "uploadDate": old, "filename": "f.jpg",
             "metadata": {}} for file_id in file_ids + stray], ordered=False)
        if stray:
            await chunks.insert_many([{"files_id": file_id, "n": 0, "data": b"x"} for file_id in stray], ordered=False)
        await database["invoices"].insert_many([
            {"org_id": org, "owner_id": org, "file_id": file_id, "status": "processed", "created_at": old,
             "updated_at": old, "filename": "f.jpg"} for file_id in file_ids], ordered=False)
        loaded += size
        orphans += len(stray)
        if loaded % 100_000 < BATCH:
            console.print(f"  loaded {loaded:,} invoices in {time.monotonic() - started:.0f} s")
    await client.close()
    await migrate(settings)
    console.print(f"  indexes built; {time.monotonic() - started:.0f} s in all")
    return loaded, orphans, time.monotonic() - started


async def sweep(settings: Settings) -> dict[str, float]:
    client, database = await connect(settings, create_indexes=False)
    tracemalloc.start()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.monotonic()
    report = await sweep_orphaned_files(database, grace=timedelta(hours=1))
    seconds = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    await client.close()
    return {"seconds": seconds, "checked": report.checked, "deleted": report.deleted,
            "python_heap_peak_mb": peak / 2**20, "max_rss_growth_mb": rss_after - rss_before}


async def whole_sets(settings: Settings) -> dict[str, float]:
    """What the sweep did before: every old file id and every invoice's file_id in memory at once."""
    client, database = await connect(settings, create_indexes=False)
    tracemalloc.start()
    started = time.monotonic()
    cursor = database[f"{storage.BUCKET}.files"].find({"uploadDate": {"$lt": utcnow()}}, {"_id": 1})
    candidates = {doc["_id"] async for doc in cursor}
    referenced = {doc["file_id"] async for doc in database["invoices"].find({}, {"file_id": 1, "_id": 0})}
    unnamed = len(candidates - referenced)
    seconds = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    await client.close()
    return {"seconds": seconds, "unnamed": unnamed, "python_heap_peak_mb": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--orphans-per-mille", type=int, default=1)
    parser.add_argument("--load-budget", type=float, default=300.0, help="seconds of loading at most")
    parser.add_argument("--json")
    args = parser.parse_args()
    with embedded_database(durable=False) as server:
        settings = Settings(env="test", mongodb_uri=server.uri, mongodb_db="bench_orphans",
                            jwt_secret="bench-secret-0123456789abcdef0123456789")
        loaded, orphans, load_seconds = asyncio.run(load(settings, args.invoices, args.orphans_per_mille,
                                                         args.load_budget))
        before = asyncio.run(whole_sets(settings))  # read-only: measured first, on the same data
        result = asyncio.run(sweep(settings))
    rate = result["checked"] / result["seconds"] if result["seconds"] else float("nan")
    rows = [
        ["batched sweep (now)", loaded, result["checked"], result["deleted"], result["seconds"],
         result["python_heap_peak_mb"], args.invoices / rate if rate else float("nan")],
        ["whole sets (before)", loaded, loaded + orphans, before["unnamed"], before["seconds"],
         before["python_heap_peak_mb"], float("nan")],
    ]
    print_table(f"Orphan sweep over {loaded:,} invoices ({orphans:,} orphans; loaded in {load_seconds:.0f} s)",
                ["approach", "invoices", "files checked", "orphans deleted", "seconds", "Python heap peak MB",
                 f"seconds extrapolated to {args.invoices:,}"], rows)
    write_json(args.json, {"invoices": loaded, "orphans": orphans, "load_seconds": load_seconds, "sweep": result,
                           "whole_sets": before, "extrapolated_seconds": args.invoices / rate if rate else None})


if __name__ == "__main__":
    main()

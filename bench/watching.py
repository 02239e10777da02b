"""Shared by the watcher benchmarks: a real `invoicer watcher` process, the memory of its process tree, and
waiting for a backlog to drain."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pymongo.asynchronous.database import AsyncDatabase

from bench.common import INVOICER, REPO, rss_mb
from tests.watcher.extractors import SCRIPTED

FAST_EXTRACTOR = SCRIPTED  # answers at once: what is measured is the watcher, not OCR


@contextmanager
def watcher_process(
    uri: str, database: str, log_file: Path, *args: str, extractor: str | None = None, **env: str
) -> Iterator[subprocess.Popen]:
    """`invoicer watcher` on `database`, with the real extraction unless `extractor` names another."""
    environment = {**os.environ, "MONGODB_URI": uri, "MONGODB_DB": database, "ENV": "test", "LOG_LEVEL": "INFO",
                   "OMP_THREAD_LIMIT": "1", **env}
    if extractor:
        environment |= {"WATCHER_TEST_EXTRACTOR": extractor, "PYTHONPATH": str(REPO)}
    with open(log_file, "ab") as log:
        process = subprocess.Popen([INVOICER, "watcher", *args], env=environment, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(60)


def tree_rss_mb(pid: int) -> tuple[float, float]:
    """RSS of the process and, summed, of its children (the worker processes)."""
    children: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += [int(child) for child in (task / "children").read_text().split()]
        main = rss_mb(pid)
    except (FileNotFoundError, ProcessLookupError):
        return float("nan"), float("nan")
    workers = 0.0
    for child in children:
        try:
            workers += rss_mb(child)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return main, workers


async def count_final(database: AsyncDatabase) -> int:
    return await database["invoices"].count_documents({"status": {"$in": ["processed", "failed"]}})

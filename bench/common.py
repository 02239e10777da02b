"""Shared by the benchmarks: an embedded database and an API process to measure, percentiles, RSS, tables."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from core.embedded import EmbeddedServer, free_port, start_embedded

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
INVOICER = str(Path(sys.executable).with_name("invoicer"))
PASSWORD = "benchmark password"
# Tables are copied from logs into notes: when the output is not a terminal, do not wrap them at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))]


def summary_ms(values: Sequence[float]) -> dict[str, float]:
    return {"n": len(values), "p50_ms": percentile(values, 50), "p99_ms": percentile(values, 99),
            "mean_ms": statistics.fmean(values) if values else float("nan")}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def embedded_database(durable: bool = True) -> Iterator[EmbeddedServer]:
    """A fresh on-disk SecantusDB (`--sync-on-commit` when durable, as `make up` runs it)."""
    with tempfile.TemporaryDirectory(prefix="invoicer-bench-") as tmp:
        server = start_embedded(Path(tmp) / "db", durable=durable)
        try:
            yield server
        finally:
            server.stop()


@contextmanager
def api_process(uri: str, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    import os

    port = free_port()
    environment = {**os.environ, "MONGODB_URI": uri, "MONGODB_DB": "bench", "ENV": "test", "LOG_LEVEL": "WARNING",
                   "JWT_SECRET": "benchmark-secret-0123456789abcdef0123456789", **env}
    proc = subprocess.Popen([INVOICER, "api", "--port", str(port)], env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the API did not start")
        time.sleep(0.1)
    try:
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(20)


def signed_in_headers(url: str) -> dict[str, str]:
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    httpx.post(f"{url}/api/v1/auth/register",
               json={"email": email, "password": PASSWORD, "name": "Bench", "organization": "Bench"}).raise_for_status()
    tokens = httpx.post(f"{url}/api/v1/auth/login", data={"username": email, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right" if column != columns[0] else "left")
    for row in rows:
        table.add_row(*[f"{v:,.1f}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)


def write_json(path: str | None, data: object) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2, default=str))
        console.print(f"wrote {path}")

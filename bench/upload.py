"""Upload throughput, latency and API memory: base64 JSON uploads from concurrent clients vs bare GridFS writes.

    .venv/bin/python -m bench.upload [--uploads 2000] [--clients 16] [--memory-uploads 5000] [--json OUT]
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from PIL import Image

from bench.common import (DATASETS, api_process, embedded_database, print_table, rss_mb, signed_in_headers,
                          summary_ms, write_json)
from core import storage
from core.db import make_client


def sample_jpegs(count: int = 20, target_kb: int = 150) -> list[bytes]:
    """Receipt photos from SROIE re-encoded to about `target_kb` each, as a phone app would send them."""
    out = []
    for path in sorted((DATASETS / "sroie").glob("*.jpg"))[:count]:
        image = Image.open(path).convert("RGB")
        for width in (1400, 1200, 1000, 850, 700):
            resized = image.resize((width, int(image.height * width / image.width)))
            buffer = io.BytesIO()
            resized.save(buffer, "JPEG", quality=80)
            if buffer.tell() <= target_kb * 1024:
                break
        out.append(buffer.getvalue())
    return out


async def run_uploads(url: str, headers: dict[str, str], bodies: list[dict], total: int, clients: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    next_index = 0

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal next_index
        while next_index < total:
            body = bodies[next_index % len(bodies)]
            next_index += 1
            started = time.perf_counter()
            response = await client.post("/api/v1/invoices", json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 202:
                raise RuntimeError(f"upload answered {response.status_code}: {response.text[:200]}")

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return latencies, elapsed


async def run_bare_gridfs(
    uri: str, files: list[bytes], total: int, clients: int, *, library_writer: bool = False
) -> tuple[list[float], float]:
    """GridFS writes straight to the database: our spec layout (`core.storage.put_file`) or pymongo's writer."""
    client = make_client(uri)
    database = client["bare_library" if library_writer else "bare"]
    await storage.ensure_indexes(database)
    library = storage.bucket(database)
    latencies: list[float] = []
    next_index = 0

    async def writer() -> None:
        nonlocal next_index
        while next_index < total:
            data = files[next_index % len(files)]
            next_index += 1
            started = time.perf_counter()
            if library_writer:
                await library.upload_from_stream("bench.jpg", data)
            else:
                await storage.put_file(database, data, "bench.jpg", "image/jpeg", hashlib.sha256(data).hexdigest())
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    await client.close()
    return latencies, elapsed


def main(
    uploads: Annotated[int, typer.Option(help="Uploads for the throughput run.")] = 2000,
    clients: Annotated[int, typer.Option(help="Concurrent clients.")] = 16,
    memory_uploads: Annotated[int, typer.Option(help="Uploads for the memory run (0 skips it).")] = 5000,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the figures as JSON here.")] = None,
) -> None:
    files = sample_jpegs()
    bodies = [{"filename": f"receipt-{i}.jpg", "content_base64": base64.b64encode(f).decode()} for i, f in enumerate(files)]
    mean_kb = sum(map(len, files)) / len(files) / 1024
    results: dict = {"file_kb_mean": round(mean_kb, 1), "clients": clients}

    with embedded_database(durable=True) as server:
        bare, bare_s = asyncio.run(run_bare_gridfs(server.uri, files, uploads, clients))
        library, library_s = asyncio.run(run_bare_gridfs(server.uri, files, uploads, clients, library_writer=True))
        with api_process(server.uri) as (url, proc):
            headers = signed_in_headers(url)
            asyncio.run(run_uploads(url, headers, bodies, 50, clients))  # warm-up
            api, api_s = asyncio.run(run_uploads(url, headers, bodies, uploads, clients))
            memory: list[tuple[int, float]] = [(0, rss_mb(proc.pid))]
            done = 0
            step = max(1, memory_uploads // 5)
            while done < memory_uploads:
                asyncio.run(run_uploads(url, headers, bodies, step, clients))
                done += step
                memory.append((done, rss_mb(proc.pid)))

    results["api"] = {**summary_ms(api), "uploads_per_s": len(api) / api_s}
    results["bare_gridfs"] = {**summary_ms(bare), "writes_per_s": len(bare) / bare_s}
    results["pymongo_upload_from_stream"] = {**summary_ms(library), "writes_per_s": len(library) / library_s}
    results["api_vs_bare"] = results["api"]["uploads_per_s"] / results["bare_gridfs"]["writes_per_s"]
    results["api_rss_mb"] = memory
    print_table(
        f"Uploads: {uploads} JPEGs of ~{mean_kb:.0f} KB, {clients} concurrent clients, SecantusDB --sync-on-commit",
        ["path", "per second", "p50 ms", "p99 ms"],
        [["API POST /invoices (base64 JSON)", results["api"]["uploads_per_s"], results["api"]["p50_ms"], results["api"]["p99_ms"]],
         ["bare GridFS writes (core.storage)", results["bare_gridfs"]["writes_per_s"], results["bare_gridfs"]["p50_ms"], results["bare_gridfs"]["p99_ms"]],
         ["bare pymongo upload_from_stream", results["pymongo_upload_from_stream"]["writes_per_s"],
          results["pymongo_upload_from_stream"]["p50_ms"], results["pymongo_upload_from_stream"]["p99_ms"]],
         ["API / bare", f"{results['api_vs_bare']:.0%}", "", ""]],
    )
    print_table("API process RSS while uploading", ["uploads so far", "RSS MB"], [[n, mb] for n, mb in memory])
    write_json(json_out, results)


if __name__ == "__main__":
    typer.run(main)

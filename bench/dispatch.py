"""Dispatch latency: from the API's 202 to the watcher's claim, over real uploads.

    .venv/bin/python -m bench.dispatch [--uploads 500] [--memory-db] [--json OUT]

Starts an embedded SecantusDB (on disk with --sync-on-commit as `make up` runs it, or --memory-db), a real
`invoicer api` and a real `invoicer watcher` (2 workers, the instant test extractor: this measures
dispatch, not OCR), then uploads small PNG invoices one after another through `POST /api/v1/invoices`.
The claim time is the `processing` entry of each invoice's status history (BSON dates: 1 ms resolution);
the 202 time is when the client had the answer. A bare change-stream listener in this process gives the
floor: when the same insert reached a plain stream.
"""

from __future__ import annotations

import asyncio
import base64
import io
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer
from PIL import Image, ImageDraw

from bench.common import api_process, console, embedded_database, percentile, print_table, signed_in_headers, write_json
from bench.watching import FAST_EXTRACTOR, count_final, watcher_process
from core.db import make_client
from watcher.stream import STREAM_PIPELINE

DATABASE = "bench"  # bench.common.api_process serves this database


def invoice_png(number: int) -> bytes:
    image = Image.new("L", (400, 200), 255)
    ImageDraw.Draw(image).text((20, 80), f"INVOICE {number}  TOTAL {number % 97}.50 EUR", fill=0)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def listen(uri: str, arrivals: dict[str, float], ready: asyncio.Event, stop: asyncio.Event) -> None:
    """A bare change-stream listener with the watcher's own pipeline: the floor of any dispatch."""
    client = make_client(uri)
    async with await client[DATABASE]["invoices"].watch(STREAM_PIPELINE, max_await_time_ms=100) as stream:
        ready.set()
        while not stop.is_set():
            change = await stream.try_next()
            if change is not None and change["operationType"] == "insert":
                arrivals[str(change["documentKey"]["_id"])] = time.time()
    await client.close()


async def measure(uploads: int, memory_db: bool) -> dict:
    with embedded_database(durable=not memory_db) as server, tempfile.TemporaryDirectory() as tmp, \
            api_process(server.uri) as (url, _api), \
            watcher_process(server.uri, DATABASE, Path(tmp) / "watcher.log", "--concurrency", "2",
                            extractor=FAST_EXTRACTOR):
        headers = signed_in_headers(url)
        accepted: dict[str, float] = {}
        arrivals: dict[str, float] = {}
        ready, stop = asyncio.Event(), asyncio.Event()
        listener = asyncio.create_task(listen(server.uri, arrivals, ready, stop))
        await ready.wait()
        client = make_client(server.uri)
        database = client[DATABASE]
        async with httpx.AsyncClient(base_url=f"{url}/api/v1", headers=headers, timeout=30) as http:
            while await database["watchers"].count_documents({}) == 0:  # the watcher is up
                await asyncio.sleep(0.1)
            for number in range(uploads):
                encoded = base64.b64encode(invoice_png(number)).decode()
                body = {"filename": f"invoice-{number}.png", "content_base64": encoded}
                response = await http.post("/invoices", json=body)
                accepted[response.json()["id"]] = time.time()
                if response.status_code != 202:
                    raise RuntimeError(f"upload answered {response.status_code}: {response.text[:200]}")
        while await count_final(database) < uploads:
            await asyncio.sleep(0.2)
        stop.set()
        await listener
        claim_after_202, claim_after_insert, event_after_202 = [], [], []
        async for doc in database["invoices"].find({}, {"status_history": 1, "queued_at": 1}):
            claimed: datetime = next(e["at"] for e in doc["status_history"] if e["status"] == "processing")
            invoice_id = str(doc["_id"])
            claim_after_202.append((claimed.timestamp() - accepted[invoice_id]) * 1000)
            claim_after_insert.append((claimed - doc["queued_at"]).total_seconds() * 1000)
            if invoice_id in arrivals:
                event_after_202.append((arrivals[invoice_id] - accepted[invoice_id]) * 1000)
        await client.close()
    return {
        "uploads": uploads, "database": "memory" if memory_db else "disk, --sync-on-commit",
        "202_to_claim": stats(claim_after_202),
        "insert_to_claim": stats(claim_after_insert),
        "202_to_bare_stream_event": stats(event_after_202),
    }


def stats(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_ms": percentile(values, 50), "p90_ms": percentile(values, 90),
            "p99_ms": percentile(values, 99), "max_ms": max(values)}


def main(
    uploads: Annotated[int, typer.Option(help="Uploads, one after another.")] = 500,
    memory_db: Annotated[bool, typer.Option("--memory-db", help="SecantusDB without --sync-on-commit.")] = False,
    json_out: Annotated[str | None, typer.Option("--json", help="Also write the figures here.")] = None,
) -> None:
    result = asyncio.run(measure(uploads, memory_db))
    rows = [
        ("API 202 -> watcher claim", result["202_to_claim"]),
        ("API insert (queued_at) -> watcher claim", result["insert_to_claim"]),
        ("API 202 -> bare change-stream listener", result["202_to_bare_stream_event"]),
    ]
    print_table(
        f"Dispatch latency over {uploads} uploads ({result['database']}; 2 workers; target p50 < 15 ms, p99 < 60 ms)",
        ["interval", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"],
        [(name, s["n"], s["p50_ms"], s["p90_ms"], s["p99_ms"], s["max_ms"]) for name, s in rows],
    )
    console.print("Negative values: the claim landed before the client had read the 202.")
    write_json(json_out, result)


if __name__ == "__main__":
    typer.run(main)

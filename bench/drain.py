"""Draining a backlog: the watcher's overhead over a bare process pool, and its memory over a large backlog.

    .venv/bin/python -m bench.drain [--images 50] [--concurrency 2] [--repeat 2] [--backlogs 200,2000] [--json OUT]

Overhead: the same real invoice images (SROIE receipts, read in place) through `extraction.extract()` in a
bare `ProcessPoolExecutor` of the same size (fork: its workers inherit the imported pipeline, the
strictest baseline), then queued in a fresh database and drained by a real `invoicer watcher`. The
watcher's wall time runs from launching the process (imports, connection, worker start included) to the
last result written. Target: within 1.05x. With --repeat the two alternate and the best of each is
compared. On a machine shared with other work, wall times swing with the neighbours' load; CPU seconds do
much less, so both are reported: the process tree's (workers, Tesseract, and for the watcher its main
process) and, for the watcher, the database server's CPU spent meanwhile (its claims, reads and writes).

Memory: backlogs of small invoices drained with the instant test extractor, sampling the RSS of the
watcher process and of its workers every 0.1 s. Target: flat, the same peak whatever the backlog.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Annotated

import typer

from bench.common import DATASETS, console, embedded_database, print_table, write_json
from bench.cpu import children_cpu_s, process_cpu_s
from bench.watching import FAST_EXTRACTOR, count_final, tree_rss_mb, watcher_process
from core.config import Settings
from core.db import connect
from extraction import extract
from extraction.models import ExtractionOptions
from tests.watcher.invoices import queue_invoices
from watcher.worker import extraction_options, limit_threads



POLL_SECONDS = 0.5  # how often the benchmark asks the database how far the watcher got: rarely enough not to load it


def _extract_one(job: tuple[bytes, ExtractionOptions]) -> str | None:
    """None, or the error code of a failed extraction."""
    data, options = job
    result = extract(data, "image/jpeg", options=options)
    return None if result.ok else str(result.error.code if result.error else "unknown")


def bare_pool(images: list[bytes], concurrency: int, options: ExtractionOptions) -> dict:
    started, cpu = time.perf_counter(), children_cpu_s()
    with ProcessPoolExecutor(max_workers=concurrency, initializer=limit_threads) as pool:
        errors = [code for code in pool.map(_extract_one, [(data, options) for data in images]) if code]
    return {"wall_s": time.perf_counter() - started, "cpu_s": children_cpu_s() - cpu,
            "ok": len(images) - len(errors), "errors": errors}


async def drain_with_watcher(
    uri: str, name: str, files: list[bytes], content_type: str, concurrency: int, log_file: Path,
    extractor: str | None = None, sample_memory: bool = False, database_pid: int | None = None,
) -> dict:
    """Queue `files` in a fresh database `name`, then time a watcher draining them."""
    client, database = await connect(Settings(env="test", mongodb_uri=uri, mongodb_db=name))
    await queue_invoices(database, files, content_type)
    samples: list[tuple[float, float, float]] = []  # (share drained, main MB, workers MB)
    started, cpu = time.perf_counter(), children_cpu_s()
    database_cpu = process_cpu_s(database_pid) if database_pid else 0.0
    ready_at = None
    with watcher_process(uri, name, log_file, "--concurrency", str(concurrency), extractor=extractor) as proc:
        done = 0
        last_count = 0.0
        while done < len(files):
            if proc.poll() is not None:
                raise RuntimeError(f"the watcher exited with {proc.returncode}; see {log_file}")
            await asyncio.sleep(0.1)
            if sample_memory:  # RSS from /proc every 0.1 s; the database is asked only twice a second
                samples.append((done / len(files), *tree_rss_mb(proc.pid)))
            if time.perf_counter() - last_count < POLL_SECONDS:
                continue
            last_count = time.perf_counter()
            if ready_at is None and await database["watchers"].count_documents({}):
                ready_at = last_count
            done = await count_final(database)
        elapsed = time.perf_counter() - started
        database_cpu = process_cpu_s(database_pid) - database_cpu if database_pid else 0.0
    cpu = children_cpu_s() - cpu  # the watcher has exited and been reaped, its workers by it
    processed = await database["invoices"].count_documents({"status": "processed"})
    retried = await database["invoices"].count_documents({"attempts": {"$gt": 1}})
    await client.close()
    result = {"elapsed_s": elapsed, "from_ready_s": elapsed - ((ready_at or started) - started),
              "processed": processed, "retried": retried, "cpu_s": cpu, "database_cpu_s": database_cpu}
    if sample_memory:
        result["memory"] = memory_profile(samples)
    return result


def memory_profile(samples: list[tuple[float, float, float]]) -> dict:
    working = [sample for sample in samples if sample[0] > 0]  # from the first result on
    def main_at(share: float) -> float:
        return next((main for done, main, _ in working if done >= share), working[-1][1])
    return {
        "main_at_10pct_mb": main_at(0.10), "main_at_50pct_mb": main_at(0.50), "main_at_end_mb": working[-1][1],
        "main_peak_mb": max(main for _, main, _ in working),
        "workers_peak_mb": max(workers for _, _, workers in working),
        "samples": len(samples),
    }


def small_invoice(number: int) -> bytes:
    body = f"INVOICE {number}\nACME Office Supplies Ltd\nTotal {number % 997}.50 EUR\n"
    return (body + "Thank you for your business. " * 60).encode()[:2048]


async def measure(images: int, concurrency: int, repeat: int, backlogs: list[int]) -> dict:
    result: dict = {"concurrency": concurrency, "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    with embedded_database(durable=True) as server, tempfile.TemporaryDirectory() as tmp:
        if images:
            files = [path.read_bytes() for path in sorted((DATASETS / "sroie").glob("*.jpg"))[:images]]
            runs: list[dict] = []
            for run in range(repeat):
                console.print(f"overhead run {run + 1}/{repeat}: {len(files)} receipts, bare pool of {concurrency} ...")
                bare = bare_pool(files, concurrency, extraction_options(Settings()))
                console.print(f"  bare pool {bare['wall_s']:.1f} s; now the watcher ...")
                watched = await drain_with_watcher(server.uri, f"real{run}", files, "image/jpeg", concurrency,
                                                   Path(tmp) / f"real{run}.log", database_pid=server.process.pid)
                console.print(f"  watcher {watched['elapsed_s']:.1f} s")
                runs.append({"bare_pool_s": bare["wall_s"], "bare_pool_cpu_s": bare["cpu_s"],
                             "bare_pool_ok": bare["ok"], "bare_pool_errors": bare["errors"],
                             "watcher_retried": watched["retried"],
                             "watcher_s": watched["elapsed_s"], "watcher_from_ready_s": watched["from_ready_s"],
                             "watcher_cpu_s": watched["cpu_s"], "database_cpu_s": watched["database_cpu_s"],
                             "watcher_processed": watched["processed"], "load_average": os.getloadavg()[0]})
            keys = ("bare_pool_s", "bare_pool_cpu_s", "watcher_s", "watcher_from_ready_s", "watcher_cpu_s",
                    "database_cpu_s")
            best = {key: min(run[key] for run in runs) for key in keys}
            result["overhead"] = {
                "images": len(files), "runs": runs, **{f"best_{key}": value for key, value in best.items()},
                "ratio": best["watcher_s"] / best["bare_pool_s"],
                "ratio_from_ready": best["watcher_from_ready_s"] / best["bare_pool_s"],
                "cpu_ratio": (best["watcher_cpu_s"] + best["database_cpu_s"]) / best["bare_pool_cpu_s"],
            }
        result["memory"] = []
        for backlog in backlogs:
            console.print(f"memory: backlog of {backlog} ...")
            files = [small_invoice(number) for number in range(backlog)]
            drained = await drain_with_watcher(server.uri, f"fast{backlog}", files, "text/plain", concurrency,
                                               Path(tmp) / f"fast{backlog}.log", FAST_EXTRACTOR, sample_memory=True)
            result["memory"].append({"backlog": backlog, "drain_s": drained["elapsed_s"],
                                     "per_second": backlog / drained["from_ready_s"], **drained["memory"]})
    return result


def main(
    images: Annotated[int, typer.Option(help="Real receipts for the overhead run (0: skip it).")] = 50,
    concurrency: Annotated[int, typer.Option(help="Workers, for the watcher and the bare pool alike.")] = 2,
    repeat: Annotated[int, typer.Option(min=1, help="Overhead runs, alternating; the best of each counts.")] = 2,
    backlogs: Annotated[str, typer.Option(help="Backlog sizes for the memory run, comma separated.")] = "200,2000",
    json_out: Annotated[str | None, typer.Option("--json", help="Also write the figures here.")] = None,
) -> None:
    sizes = [int(size) for size in backlogs.split(",") if size.strip()]
    result = asyncio.run(measure(images, concurrency, repeat, sizes))
    if "overhead" in result:
        o = result["overhead"]
        rows = []
        for number, run in enumerate(o["runs"], 1):
            failed = f"; failed: {', '.join(run['bare_pool_errors'])}" if run["bare_pool_errors"] else ""
            rows += [(f"run {number}: bare ProcessPoolExecutor + extract()", run["bare_pool_s"], "",
                      run["bare_pool_cpu_s"], "", f"{run['bare_pool_ok']} ok{failed}"),
                     (f"run {number}: invoicer watcher, from launch", run["watcher_s"], "", run["watcher_cpu_s"],
                      run["database_cpu_s"], f"{run['watcher_processed']} processed; {run['watcher_retried']} retried")]
        rows += [("best: bare pool", o["best_bare_pool_s"], 1.0, o["best_bare_pool_cpu_s"], "", ""),
                 ("best: watcher, from launch", o["best_watcher_s"], round(o["ratio"], 3), o["best_watcher_cpu_s"],
                  o["best_database_cpu_s"], ""),
                 ("best: watcher, from its first heartbeat", o["best_watcher_from_ready_s"],
                  round(o["ratio_from_ready"], 3), "", "", ""),
                 ("CPU: (watcher tree + database) / bare pool", "", "", round(o["cpu_ratio"], 3), "", "")]
        print_table(f"Overhead: {o['images']} real receipts, {concurrency} workers (target: watcher within 1.05x)",
                    ["run", "wall s", "x bare", "CPU s", "database CPU s", "results"], rows)
    if result["memory"]:
        print_table(
            f"Memory while draining a backlog ({concurrency} workers, instant test extractor; target: flat)",
            ["backlog", "drain s", "invoices/s", "main MB @10%", "@50%", "@end", "main peak MB", "workers peak MB"],
            [(m["backlog"], m["drain_s"], m["per_second"], m["main_at_10pct_mb"], m["main_at_50pct_mb"],
              m["main_at_end_mb"], m["main_peak_mb"], m["workers_peak_mb"]) for m in result["memory"]],
        )
    console.print(f"load average at start: {', '.join(f'{x:.1f}' for x in result['load_average_at_start'])}")
    write_json(json_out, result)


if __name__ == "__main__":
    typer.run(main)

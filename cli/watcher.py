"""`invoicer watcher` (the change-stream consumer) and `invoicer reprocess` (put invoices back in its queue)."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

import typer
from bson import ObjectId
from bson.errors import InvalidId
from rich.console import Console

from core.config import Settings, get_settings
from core.db import connect, describe_database
from core.embedded import embedded_uri
from core.logging import configure_logging
from core import stats, transitions
from core.models import Invoice, InvoiceStatus, utcnow
from watcher.pool import WorkerStartError
from watcher.service import Watcher

console = Console()

def _with_database(settings: Settings) -> Settings:
    """Unset MONGODB_URI means the embedded database of `invoicer db` / `invoicer up` on this machine (waited
    for, not started: it belongs to whoever runs it). Says which database the command uses."""
    if not settings.mongodb_uri:
        settings = settings.model_copy(update={"mongodb_uri": embedded_uri(settings.embedded_db_port)})
    assert settings.mongodb_uri is not None
    logging.getLogger("invoicer").info("database: %s", describe_database(settings.mongodb_uri, settings.mongodb_db))
    return settings


def watcher(
    concurrency: Annotated[int | None, typer.Option(
        "--concurrency", "-c", min=1, help="Worker processes (default WATCHER_CONCURRENCY, else one per CPU core).",
    )] = None,
    prefetch: Annotated[int | None, typer.Option(
        min=0, help="Invoices claimed ahead of a free worker (default WATCHER_PREFETCH).",
    )] = None,
    group: Annotated[str | None, typer.Option(
        help="Watcher group: the watchers that split the invoices' buckets between them (default WATCHER_GROUP).",
    )] = None,
    watcher_id: Annotated[str | None, typer.Option(
        "--id", help="This watcher's name in heartbeats, leases and its resume token: a stable one (the pod name) "
                     "lets it resume its stream after a restart (default host:pid:random).",
    )] = None,
) -> None:
    """Process invoices: follow the change stream, claim, extract in worker processes, write the results.

    Run as many as you like, on any machines: each invoice is processed by one of them. SIGTERM or Ctrl-C
    stops claiming, lets running jobs finish (SHUTDOWN_GRACE_SECONDS), hands the rest back, and exits 0.
    """
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    settings = _with_database(settings)
    service = Watcher(settings, group=group, watcher_id=watcher_id, concurrency=concurrency, prefetch=prefetch)
    try:
        asyncio.run(service.run())
    except WorkerStartError as exc:
        typer.echo(f"The watcher cannot start its workers: {exc}", err=True)
        raise typer.Exit(2) from None


def reprocess(
    invoice_ids: Annotated[list[str] | None, typer.Argument(help="Invoice ids to extract again.")] = None,
    failed: Annotated[bool, typer.Option(
        "--failed", help="Every failed invoice (narrow with --error-code, --org).",
    )] = False,
    error_code: Annotated[str | None, typer.Option(
        help="With --failed: only invoices that failed with this code (e.g. timeout, worker_crashed).",
    )] = None,
    org: Annotated[str | None, typer.Option(help="Only invoices of this organization id.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would be queued again.")] = False,
) -> None:
    """Put processed or failed invoices back to pending, with fresh attempts, for the watchers to redo.

    Invoices still pending or being processed are left alone. Corrections made by people are kept.
    """
    if not invoice_ids and not failed:
        raise typer.BadParameter("name invoice ids, or pass --failed")
    if error_code and not failed:
        raise typer.BadParameter("--error-code narrows --failed; pass --failed too")
    query: dict[str, Any] = {}
    try:
        if invoice_ids:
            query["_id"] = {"$in": [ObjectId(value) for value in invoice_ids]}
        if org:
            query["org_id"] = ObjectId(org)
    except InvalidId as exc:
        raise typer.BadParameter(f"not an id: {exc}") from None
    if error_code:
        query["error.code"] = error_code
    statuses = (InvoiceStatus.failed,) if failed else transitions.REPROCESSABLE
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    settings = _with_database(settings)
    counts = asyncio.run(_requeue(settings, query, statuses, dry_run))
    total = sum(counts.values())
    verb = "would be queued again" if dry_run else "queued again"
    details = ", ".join(f"{count} {status}" for status, count in counts.items() if count)
    console.print(f"{total} invoice(s) {verb}" + (f" ({details})" if details else "") + ".")
    if invoice_ids and total < len(set(invoice_ids)):
        console.print(f"{len(set(invoice_ids)) - total} of the named invoices were not found, or are still "
                      "pending or processing, and were left alone.")


async def _requeue(
    settings: Settings, query: dict[str, Any], statuses: tuple[InvoiceStatus, ...], dry_run: bool
) -> dict[str, int]:
    client, _ = await connect(settings)
    collection = Invoice.get_pymongo_collection()
    counts: dict[str, int] = {}
    try:
        for status in statuses:  # one update per previous status: it is part of the recorded transition
            selected = {**query, "status": status.value}
            if dry_run:
                counts[status.value] = await collection.count_documents(selected)
            else:
                await _mark_stats_days(collection, selected)
                write = transitions.requeue(query, status, utcnow())
                result = await collection.update_many(write.filter, write.update)
                counts[status.value] = result.modified_count
    finally:
        await client.close()
    return counts


async def _mark_stats_days(collection: Any, selected: dict[str, Any]) -> None:
    """The dashboard's counters recount the days these invoices leave (their processing days, see core.stats)."""
    moments: dict[Any, set[Any]] = {}
    async for document in collection.find(selected, {"org_id": 1, "processed_at": 1}):
        if document.get("processed_at") is not None:
            moments.setdefault(document["org_id"], set()).add(document["processed_at"])
    for org_id, processed in moments.items():
        await stats.mark_dirty(org_id, *processed)


def register(app: typer.Typer) -> None:
    app.command()(watcher)
    app.command()(reprocess)

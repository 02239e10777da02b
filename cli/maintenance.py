"""`invoicer migrate` (create the indexes, once, before the services) and `invoicer maintenance` (the
cluster's periodic chores, run once: from cron, a Kubernetes CronJob, or by hand)."""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console

from core.config import Settings, get_settings
from core.db import connect, describe_database, migrate as create_indexes
from core.embedded import embedded_uri
from core.logging import configure_logging
from watcher.cluster import claim_turn
from watcher.orphans import ORPHAN_SWEEP, SweepReport, sweep_orphaned_files

console = Console()
log = logging.getLogger("invoicer")


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    if not settings.mongodb_uri:  # the embedded database of `invoicer db` / `invoicer up` on this machine
        settings = settings.model_copy(update={"mongodb_uri": embedded_uri(settings.embedded_db_port)})
    assert settings.mongodb_uri is not None
    log.info("database: %s", describe_database(settings.mongodb_uri, settings.mongodb_db))
    return settings


def migrate() -> None:
    """Create every index the services need (idempotent). Run it once per release, before the services:
    `invoicer up`, docker compose and the Kubernetes manifests do. The services start without it
    (MIGRATE_ON_START=false), only slower until it has run."""
    asyncio.run(create_indexes(_settings()))
    console.print("Indexes are in place.")


def maintenance(
    grace_seconds: Annotated[float | None, typer.Option(
        "--grace", help="Leave files younger than this alone (default ORPHAN_GRACE_SECONDS).",
    )] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Sweep now even if another process swept within ORPHAN_SWEEP_INTERVAL_SECONDS.",
    )] = False,
) -> None:
    """Delete stored files no invoice names (left by a process killed between writing a file and its
    invoice). Once per cluster: skipped when a watcher or another run swept within the interval."""
    settings = _settings()
    grace = timedelta(seconds=settings.orphan_grace_seconds if grace_seconds is None else grace_seconds)
    report = asyncio.run(_sweep(settings, grace, force))
    if report is None:
        console.print("Skipped: another process swept within ORPHAN_SWEEP_INTERVAL_SECONDS (--force to sweep now).")
    else:
        console.print(f"Checked {report.checked} stored files older than {grace}; deleted {report.deleted} "
                      "that no invoice names.")


async def _sweep(settings: Settings, grace: timedelta, force: bool) -> SweepReport | None:
    client, database = await connect(settings, create_indexes=False)
    try:
        interval = timedelta(seconds=settings.orphan_sweep_interval_seconds)
        if not await claim_turn(database, ORPHAN_SWEEP, f"maintenance@{socket.gethostname()}", interval) and not force:
            return None
        return await sweep_orphaned_files(database, grace=grace)
    finally:
        await client.close()


def register(app: typer.Typer) -> None:
    app.command()(migrate)
    app.command()(maintenance)

"""Running the stack: `invoicer db`, `invoicer api`, `invoicer up`."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from core.config import Settings, get_settings
from core.db import describe_database, migrate
from core.embedded import EmbeddedServer, answers, embedded_uri, start_embedded
from core.logging import configure_logging, log_config

# soft_wrap: a line longer than the terminal (or than 80 columns, when the output is a file) stays one line.
console = Console(soft_wrap=True)
log = logging.getLogger("invoicer")
PR_SET_PDEATHSIG = 1


def _start_embedded(settings: Settings) -> EmbeddedServer:
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return start_embedded(settings.data_dir / "db", settings.embedded_db_port, durable=True,
                          log_file=settings.data_dir / "secantusd.log")


def ensure_database(settings: Settings, *, create: bool = True) -> tuple[str, EmbeddedServer | None]:
    """The URI to use, starting the embedded database when MONGODB_URI is unset and none is running.

    With `create=False` a database that does not exist yet is not started: a command run with the wrong
    DATA_DIR says so instead of quietly working on a new, empty database. Either way it says which one it uses.
    """
    if settings.mongodb_uri:
        log.info("database: %s", describe_database(settings.mongodb_uri, settings.mongodb_db))
        return settings.mongodb_uri, None
    uri = embedded_uri(settings.embedded_db_port)
    where = f"embedded, data in {settings.data_dir / 'db'}"
    if answers(uri):
        log.info("database: %s (the running %s)", describe_database(uri, settings.mongodb_db), where)
        return uri, None
    if not create and not (settings.data_dir / "db").is_dir():
        log.error("no database in %s and none running on port %d: start the stack with `invoicer up` (or "
                  "`invoicer db`), or point DATA_DIR or MONGODB_URI at the database to use",
                  settings.data_dir / "db", settings.embedded_db_port)
        raise typer.Exit(2)
    server = _start_embedded(settings)
    log.info("database: %s (started: %s)", describe_database(uri, settings.mongodb_db), where)
    return uri, server


def db(
    port: Annotated[int | None, typer.Option(help="Port to serve on (default EMBEDDED_DB_PORT, 27117).")] = None,
) -> None:
    """Run the embedded database (SecantusDB) in the foreground, data kept in DATA_DIR/db."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    if port:
        settings = settings.model_copy(update={"embedded_db_port": port})
    server = _start_embedded(settings)
    stop = _stop_on_signals()
    console.print(f"Embedded database ready: MONGODB_URI={server.uri}  (data in {settings.data_dir / 'db'}; "
                  "Ctrl-C stops it)")
    _wait_for_signal([server.process], stop)
    server.stop()


def serve(factory: str, host: str | None, port: int | None, workers: int = 1) -> None:
    """Serve an ASGI app factory with uvicorn, on the configured database (embedded when MONGODB_URI is unset)."""
    import uvicorn

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    uri, server = ensure_database(settings)
    os.environ["MONGODB_URI"] = uri
    # Every process of one stack must share the secret, or the API's tokens would not verify elsewhere.
    os.environ.setdefault("JWT_SECRET", settings.resolved_jwt_secret())
    get_settings.cache_clear()
    try:
        uvicorn.run(
            factory,
            factory=True,
            host=host or settings.api_host,
            port=port or settings.api_port,
            workers=workers,
            log_config=log_config(settings.log_level, settings.log_format),
            log_level=settings.log_level.lower(),
            access_log=False,  # the API writes its own access line (with user and request id)
            server_header=False,
            # Forwarded headers are read by the API itself, only from TRUSTED_PROXIES (uvicorn would believe any local peer).
            proxy_headers=False,
            # Open SSE streams never finish on their own; without a bound, SIGTERM would wait forever.
            timeout_graceful_shutdown=5,
        )
    finally:
        if server:
            server.stop()


def api(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (default API_PORT).")] = None,
    workers: Annotated[int, typer.Option(help="Uvicorn worker processes.")] = 1,
) -> None:
    """Run the HTTP API with the Socket.IO server on the same port."""
    serve("cli.asgi:create_asgi_app", host, port, workers)


def _child(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A process of the stack in a process group of its own: a terminal's Ctrl-C reaches only `up`, which
    stops each child with one SIGTERM (one stop, with its grace period, not a second "hurry" signal). If `up`
    itself is killed, the kernel sends the child SIGTERM (Linux), so no part outlives it."""
    def die_with_parent() -> None:
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass

    return subprocess.Popen(args, env=env, process_group=0, preexec_fn=die_with_parent)


def up(
    host: Annotated[str | None, typer.Option(help="Interface for the API (default API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port for the API (default API_PORT).")] = None,
) -> None:
    """Start everything for a newcomer: embedded database, API (with Socket.IO) and watcher. Ctrl-C stops all."""
    stop = _stop_on_signals()  # first, so that Ctrl-C during start-up also stops everything cleanly
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    host = host or settings.api_host
    port = port or settings.api_port
    uri, server = ensure_database(settings)
    asyncio.run(migrate(settings, uri))  # indexes once, here; the services below skip them
    env = {**os.environ, "MONGODB_URI": uri, "JWT_SECRET": settings.resolved_jwt_secret(), "MIGRATE_ON_START": "false"}
    invoicer = str(Path(sys.executable).with_name("invoicer"))
    children = [_child([invoicer, "api", "--host", host, "--port", str(port)], env),
                _child([invoicer, "watcher"], env)]
    base = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"
    if _wait_for_api(f"{base}/health", children[0], stop):
        database = describe_database(uri, settings.mongodb_db)
        data = f"data in {settings.data_dir}" if server or not settings.mongodb_uri else "external"
        console.print(
            f"\n[bold green]Invoicer is up.[/] Open {base} in a browser.\n"
            f"  Web app:       {base}\n"
            f"  API root:      {base}/api/v1\n"
            f"  API docs:      {base}/docs\n"
            f"  Socket.IO:     {base}/socket.io\n"
            f"  Database:      {database} ({data})\n"
            f"  Logs:          this terminal (the database's own: {settings.data_dir / 'secantusd.log'})\n"
            f"Create the first account on the web app's sign-up page (or `invoicer user create`). "
            f"Ctrl-C stops everything.\n"
        )
    code = _supervise(children, server, settings, stop)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(settings.shutdown_grace_seconds + 5)
        except subprocess.TimeoutExpired:
            child.kill()
    if server:
        server.stop()
    console.print("Invoicer stopped.")
    raise typer.Exit(code)


def _supervise(
    children: list[subprocess.Popen], server: EmbeddedServer | None, settings: Settings, stop: threading.Event
) -> int:
    """Until Ctrl-C / SIGTERM: a child that exits ends the stack (reported); an embedded database that dies
    is started again on the same port and data (the API and watcher reconnect by themselves)."""
    while not stop.is_set():
        for child in children:
            if child.poll() is not None:
                log.error("`invoicer %s` exited with code %s; stopping the rest", child.args[1], child.returncode)
                return 1
        if server is not None and server.process.poll() is not None:
            log.warning("the embedded database exited (code %s); starting it again", server.process.returncode)
            try:
                server.process = _start_embedded(settings).process
            except RuntimeError as exc:
                log.error("the embedded database cannot start again: %s", exc)
                return 1
            log.info("the embedded database is back; the API and the watcher reconnect by themselves")
        stop.wait(0.2)
    return 0


def _stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C / SIGTERM, in place of the default KeyboardInterrupt."""
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    return stop


def _wait_for_api(url: str, process: subprocess.Popen, stop: threading.Event, timeout: float = 60.0) -> bool:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None and not stop.is_set():
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            time.sleep(0.2)
    if not stop.is_set():
        console.print("[red]The API did not come up; see the messages above.[/]")
    return False


def _wait_for_signal(processes: list[subprocess.Popen], stop: threading.Event) -> int:
    """Block until Ctrl-C / SIGTERM, or until one of the processes dies (then report it)."""
    while not stop.is_set():
        for proc in processes:
            if proc.poll() is not None:
                console.print(f"[red]{' '.join(map(str, proc.args[:2]))} exited with code {proc.returncode}[/]")
                return 1
        time.sleep(0.2)
    return 0


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(api)
    app.command()(db)

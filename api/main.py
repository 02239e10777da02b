"""The FastAPI application: routers under /api/v1, health, readiness, metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo.errors import PyMongoError
from starlette.responses import Response

from api.auth.router import router as auth_router
from api.invoices.files import FileRejected
from api.invoices.router import router as invoices_router
from api.limits import BodySizeLimit
from api.ratelimit import FailureWindow
from api.users.router import router as users_router
from api.webapp import mount_webapp
from core.config import Settings
from core.db import connect
from core.logging import configure_logging
from core.models import WatcherHeartbeat, utcnow

log = logging.getLogger("invoicer.api")

API_PREFIX = "/api/v1"


def create_app(settings: Settings) -> FastAPI:
    configure_logging(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client, database = await connect(settings)
        app.state.client, app.state.database = client, database
        log.info("API connected to database %r", settings.mongodb_db)
        yield
        await client.close()

    app = FastAPI(
        title="Invoicer",
        version="0.1.0",
        description="Turn photos, scans and PDFs of invoices into structured data. Real-time events on /socket.io.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.login_failures = FailureWindow(settings.login_attempts_per_minute)
    # Base64 inflates by 4/3; the JSON wrapper adds a little.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes * 4 // 3 + 64 * 1024)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=True,
            allow_methods=["*"], allow_headers=["*"],
        )

    app.include_router(auth_router, prefix=API_PREFIX)
    app.include_router(users_router, prefix=API_PREFIX)
    app.include_router(invoices_router, prefix=API_PREFIX)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes each bad `input`, which for an upload is the whole base64 file.
        errors = [
            {"loc": list(error.get("loc", ())), "msg": error.get("msg", "invalid"), "type": error.get("type")}
            for error in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(map(str, e['loc'][1:])) or 'body'}: {e['msg']}" for e in errors)
        return JSONResponse({"detail": summary, "errors": errors}, status_code=422)

    @app.exception_handler(FileRejected)
    async def file_rejected(request: Request, exc: FileRejected) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code)

    @app.get(API_PREFIX, tags=["meta"])
    async def root() -> dict[str, str]:
        return {"name": "Invoicer", "version": app.version, "docs": "/docs", "socket_io": "/socket.io"}

    @app.get("/health", tags=["meta"])
    async def health() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/ready", tags=["meta"])
    async def ready(request: Request) -> JSONResponse:
        """The database answers; lists the watchers that sent a heartbeat recently."""
        try:
            await request.app.state.database.command("ping")
            cutoff = utcnow() - timedelta(seconds=settings.heartbeat_seconds * 3)
            watchers = await WatcherHeartbeat.find(WatcherHeartbeat.last_seen >= cutoff).to_list()
        except PyMongoError as exc:
            return JSONResponse({"status": "unavailable", "database": f"unreachable: {exc}"}, status_code=503)
        # Set by whatever serves live events beside the API (realtime.server.mount); absent when not mounted.
        realtime = getattr(request.app.state, "realtime", None)
        return JSONResponse({
            "status": "ok",
            "database": "ok",
            **({"realtime_stream": realtime.status()["change_stream"]} if realtime else {}),
            "watchers": [
                {"id": w.id, "host": w.host, "pid": w.pid, "in_flight": w.in_flight, "processed": w.processed,
                 "failed": w.failed, "last_seen": w.last_seen.isoformat()}
                for w in watchers
            ],
        })

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    mount_webapp(app)  # last: the app's client routes never shadow an API path
    return app

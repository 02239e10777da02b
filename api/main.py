"""The FastAPI application: routers under /api/v1, the error model, docs, health, readiness, metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi

from api.admin.router import router as admin_router
from api.auth.router import router as auth_router
from api.devices.router import router as devices_router
from api.docs import mount_docs
from api.errors import document_errors, install_error_handlers
from api.invoices.files import UploadChecker
from api.invoices.pages import router as pages_router
from api.invoices.router import router as invoices_router
from api.limits import BodySizeLimit
from api.meta import router as meta_router
from api.middleware import RequestContext
from api.ratelimit import FailureWindow, LoginThrottle, parse_networks
from api.review.router import router as review_router
from api.users.router import router as users_router
from api.webapp import mount_webapp
from core.config import Settings
from core.db import connect
from core.logging import configure_logging

log = logging.getLogger("invoicer.api")

API_PREFIX = "/api/v1"
VERSION = "0.1.0"


def create_app(settings: Settings, *, connect_database: bool = True) -> FastAPI:
    """The app. Without `connect_database` nothing is opened (for printing the OpenAPI document)."""
    configure_logging(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not connect_database:
            yield
            return
        # A short server selection on request paths: while the database is away, requests answer 503 at once
        # instead of hanging for the driver's default 30 s.
        client, database = await connect(settings, serverSelectionTimeoutMS=settings.database_timeout_ms)
        app.state.client, app.state.database = client, database
        log.info("API connected to database %r", settings.mongodb_db)
        yield
        await client.close()

    app = FastAPI(
        title="Invoicer",
        version=VERSION,
        description=(
            "Turn photos, scans and PDFs of invoices into structured data. Real-time events on /socket.io.\n\n"
            "Every error answers `{\"detail\": \"<what went wrong and what to do>\", \"errors\": [...]}` "
            "(`errors` for validation problems only); each route lists the statuses it can answer."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.trusted_proxies = parse_networks(settings.trusted_proxies)
    app.state.login_failures = LoginThrottle(settings.login_attempts_per_minute)
    app.state.registrations = FailureWindow(settings.registrations_per_hour, window_seconds=3600.0)
    app.state.upload_checker = UploadChecker(settings)

    # Base64 inflates by 4/3; the JSON wrapper adds a little.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes * 4 // 3 + 64 * 1024)
    if settings.cors_origins:
        any_origin = "*" in settings.cors_origins
        if any_origin:
            log.warning("CORS_ORIGINS='*': any site may call the API, so no credentials (cookies) are allowed; "
                        "list the web app's origins to allow them")
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=not any_origin,
            allow_methods=["*"], allow_headers=["*"], expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(RequestContext)  # last added runs first: every request gets its id and its log line

    install_error_handlers(app)
    app.include_router(meta_router)
    app.include_router(auth_router, prefix=API_PREFIX)
    app.include_router(users_router, prefix=API_PREFIX)
    app.include_router(invoices_router, prefix=API_PREFIX)
    app.include_router(pages_router, prefix=API_PREFIX)
    app.include_router(review_router, prefix=API_PREFIX)
    app.include_router(admin_router, prefix=API_PREFIX)
    app.include_router(devices_router, prefix=API_PREFIX)

    @app.get(API_PREFIX, tags=["meta"])
    async def root() -> dict[str, str]:
        return {"name": "Invoicer", "version": app.version, "docs": "/docs", "socket_io": "/socket.io"}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes,
                tags=app.openapi_tags, servers=app.servers,
            )
            app.openapi_schema = document_errors(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    mount_docs(app)
    mount_webapp(app)  # last: the app's client routes never shadow an API path
    return app

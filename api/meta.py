"""What an operator asks of a running API: is it up (`/health`), can it serve (`/ready`), its metrics.

`/health` and the bare `/ready` status are public (load balancers poll them). The details of `/ready`
(watchers, their hosts and pids) and `/metrics` need `Authorization: Bearer <METRICS_TOKEN>` or an admin's
access token; bind the API to an internal address if they should not be reachable at all.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo.errors import PyMongoError
from starlette.responses import Response

from api.errors import Unauthorized
from core.config import Settings
from core.models import Role, User, WatcherGroup
from core.security import InvalidToken, decode_access_token

router = APIRouter(tags=["meta"])


async def is_operator(request: Request) -> bool:
    """The caller sent the metrics token, or an access token of an active admin."""
    settings: Settings = request.app.state.settings
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return False
    if settings.metrics_token is not None and hmac.compare_digest(
        token.encode(), settings.metrics_token.get_secret_value().encode()
    ):
        return True
    try:
        user_id, _ = decode_access_token(token, secret=settings.resolved_jwt_secret(), algorithm=settings.jwt_algorithm)
    except InvalidToken:
        return False
    user = await User.get(user_id)
    return user is not None and not user.disabled and user.role == Role.admin


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "The database is unreachable"}})
async def ready(request: Request) -> JSONResponse:
    """The database answers. With the metrics token or an admin's token, also the watchers that sent a
    heartbeat recently."""
    settings: Settings = request.app.state.settings
    timeout = settings.database_timeout_ms / 1000
    try:
        await asyncio.wait_for(request.app.state.database.command("ping"), timeout)
    except (PyMongoError, TimeoutError):
        return JSONResponse({"status": "unavailable", "database": "unreachable", "detail": "database unreachable"},
                            status_code=503, headers={"Retry-After": "2"})
    realtime = getattr(request.app.state, "realtime", None)
    body: dict[str, Any] = {
        "status": "ok",
        "database": "ok",
        **({"realtime_stream": realtime.status()["change_stream"]} if realtime else {}),
    }
    if await is_operator(request):
        watchers = [beat for beat in await WatcherGroup.heartbeats() if beat.alive()]
        body["watchers"] = [
            {"id": w.id, "host": w.host, "pid": w.pid, "in_flight": w.in_flight, "processed": w.processed,
             "failed": w.failed, "last_seen": w.last_seen.isoformat()}
            for w in watchers
        ]
    return JSONResponse(body)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    if not await is_operator(request):
        raise Unauthorized("Metrics need 'Authorization: Bearer <METRICS_TOKEN>' or an admin's access token")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

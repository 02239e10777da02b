"""`GET /api/v1/events`: the same events as Socket.IO, as Server-Sent Events, for clients that speak only HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, Security, status
from fastapi.security import OAuth2PasswordBearer
from fastapi.responses import StreamingResponse

from realtime.auth import Principal, Refused, Unavailable
from realtime.events import Since, parse_since
from realtime.hub import CATCHUP_COMPLETE, SESSION_EXPIRED, Hub

KEEPALIVE_SECONDS = 15.0
RETRY_MILLISECONDS = 3000


def frame(name: str, payload: dict[str, Any], event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {name}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n"


# The API's bearer scheme (same name and token URL), so the document shows one security scheme for both.
_bearer_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)


def _bearer(token: str | None) -> str:
    if not token or not token.strip():
        raise Refused("authentication required: send `Authorization: Bearer <access token>`")
    return token.strip()


def events_router(hub: Hub) -> APIRouter:
    """The SSE route, served by `hub` (which the app runs in its lifespan: `realtime.server.mount`)."""
    router = APIRouter()

    @router.get(
        "/api/v1/events",
        tags=["events"],
        summary="Live invoice events (Server-Sent Events)",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "A stream of events"},
            400: {"description": "`since` is neither a timestamp nor an event id"},
            401: {"description": "Missing, invalid or expired access token"},
            429: {"description": "Too many live streams open for this user (SSE_CONNECTIONS_PER_USER)"},
            503: {"description": "The database cannot be reached to check the token; retry shortly"},
        },
    )
    async def events(
        request: Request,
        token: Annotated[str | None, Security(_bearer_scheme)] = None,
        since: Annotated[str | None, Query(description="ISO 8601 timestamp or the last event_id received")] = None,
        last_event_id: Annotated[str | None, Header(description="Sent by EventSource on reconnect")] = None,
    ) -> StreamingResponse:
        """`invoice.status`, `invoice.updated` and `invoice.deleted` for the caller's invoices (and, for an
        admin, the organisation's), each with `id:` = its event_id. With `since` or `Last-Event-ID`, the
        missed status changes come first, then `catchup.complete`. The stream ends with `session.expired`
        when the access token expires."""
        try:
            principal = await hub.authenticate(_bearer(token))
        except Unavailable as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "5"}) from None
        except Refused as exc:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
        request.state.user_id = principal.user_id  # for the access log line
        limit = hub.settings.sse_connections_per_user
        if hub.open_streams(principal) >= limit:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"This user already has {limit} live streams open; close one first",
                headers={"Retry-After": "30"},
            )
        resume_from = since if since is not None else last_event_id
        try:
            parsed = parse_since(resume_from) if resume_from is not None else None
        except ValueError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
        return StreamingResponse(
            _stream(hub, principal, parsed),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router


async def _stream(hub: Hub, principal: Principal, since: Since | None) -> AsyncIterator[str]:
    # Subscribe before reading the catch-up, so nothing falls between the two; the live events queued
    # meanwhile that the replay already carried are dropped here, not left to the client.
    subscription = hub.subscribe(principal)
    replayed: set[str] = set()
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        if since is not None:
            result = await hub.catch_up(principal, since)
            replayed = {event.event_id for event in result.events}
            for event in result.events:
                yield frame(event.name, {**event.payload, "replayed": True}, event.event_id)
            yield frame(CATCHUP_COMPLETE, result.summary())
        while True:
            remaining = (principal.expires_at - datetime.now(timezone.utc)).total_seconds()
            if remaining <= 0:
                yield frame(SESSION_EXPIRED, {"message": "the access token expired; reconnect with a fresh one"})
                return
            try:
                event = await subscription.next(timeout=min(KEEPALIVE_SECONDS, remaining))
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if event is None:
                if subscription.final is not None:
                    yield frame(*subscription.final)
                else:
                    yield frame("overflow", {"message": "too far behind; reconnect with Last-Event-ID to catch up"})
                return
            if event.event_id in replayed:
                continue
            yield frame(event.name, event.payload, event.event_id)
    finally:
        hub.unsubscribe(subscription)

"""Every HTTP request: a request id, one access-log line, and the headers every answer carries.

The access line names the method, the path (never the query string: tokens and `since` values travel
there), the status, the duration, the user when known and the request id. It goes to the
`invoicer.access` logger; its format is the one of every log line (core.logging).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from urllib.parse import quote

from prometheus_client import Histogram
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("invoicer.access")
log = logging.getLogger("invoicer.api")

REQUEST_ID_HEADER = "X-Request-ID"
# A request id from the client is kept when it is short and plain; anything else is replaced.
_ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_NO_STORE_PREFIXES = ("/api/v1/auth",)
# Labelled by the route's template (`/api/v1/invoices/{invoice_id}`), never the raw path: bounded cardinality.
HTTP_REQUESTS = Histogram("invoicer_http_request_seconds", "HTTP requests: duration by method, route and status",
                          ["method", "route", "status"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _ACCEPTED_REQUEST_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def loggable_path(path: str) -> str:
    """The path as one safe token: no spaces or line breaks a reader or a parser could trip on."""
    return quote(path[:512], safe="/:@-._~!$&'()*+,;=%")


class RequestContext:
    """Request id in and out, one access-log line per request, and a 500 in the one error model."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_from(scope.get("headers") or [])
        scope.setdefault("state", {})["request_id"] = request_id
        path = scope.get("path", "")
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if path.startswith(_NO_STORE_PREFIXES):
                    headers["Cache-Control"] = "no-store"
                    headers["Pragma"] = "no-cache"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error in %s %s (request id %s)", scope.get("method"), loggable_path(path),
                          request_id)
            if response_started:
                raise
            status = 500
            response = JSONResponse(
                {"detail": f"Something went wrong on our side; quote request id {request_id} when you report it"},
                status_code=500,
            )
            await response(scope, receive, send_with_headers)
        finally:
            state = scope.get("state") or {}
            duration_ms = (time.perf_counter() - started) * 1000
            user_id = state.get("user_id") or "-"
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            HTTP_REQUESTS.labels(scope.get("method") or "-", route, str(status)).observe(duration_ms / 1000)
            access_log.info(
                "%s %s %d %.1fms user=%s request_id=%s", scope.get("method"), loggable_path(path), status,
                duration_ms, user_id, request_id,
                extra={"method": scope.get("method"), "path": loggable_path(path), "status": status,
                       "duration_ms": round(duration_ms, 1), "user_id": user_id, "request_id": request_id},
            )

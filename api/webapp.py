"""Serving the web app (`clients/web/dist`) at `/`: client routes get `index.html`, `/assets/*` are immutable.

Mounted after every API router, and its catch-all route declines the paths that belong to the API
(`/api`, `/docs`, `/socket.io`, `/health`, …), so a router added later (the SSE route the realtime
server adds) is never shadowed and an unknown `/api/...` path stays a JSON 404.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Match, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

DIST = Path(__file__).resolve().parents[1] / "clients" / "web" / "dist"

# Paths the API answers itself; everything else without a file extension is a client route.
RESERVED_PREFIXES = ("/api", "/docs", "/redoc", "/openapi.json", "/socket.io", "/health", "/ready", "/metrics")

# No inline script, no other origin. Images may be blob: URLs (page images fetched with the access
# token, upload previews drawn on a canvas). 'self' in connect-src covers the same-origin WebSocket.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Invoicer: the web app is not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The web app is not built yet</h1>
<p>The API is running (see <a href="/docs">/docs</a>), but <code>clients/web/dist</code> does not exist.</p>
<p>Build it with <code>make up</code>, or by hand: <code>cd clients &amp;&amp; npm ci &amp;&amp; npm run build</code>,
then reload this page.</p>
</body></html>
"""
# The page above is the only one served without the app's CSP: it has no script, and its inline style is
# allowed by a policy of its own.
NOT_BUILT_HEADERS = {**SECURITY_HEADERS, "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"}


def is_reserved(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in RESERVED_PREFIXES)


class ClientRoute(Route):
    """`/{path}` for the client router's URLs, declining the API's own paths and file-like paths."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            path = scope["path"]
            if is_reserved(path) or "." in path.rstrip("/").rsplit("/", 1)[-1]:
                return Match.NONE, {}
        return super().matches(scope)


class ImmutableAssets(StaticFiles):
    """Vite names every asset by its content hash, so a browser may keep it for a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        response.headers.update({k: v for k, v in SECURITY_HEADERS.items()})
        return response


class _MissingAssets:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await HTMLResponse(NOT_BUILT_PAGE, status_code=404, headers=NOT_BUILT_HEADERS)(scope, receive, send)


def mount_webapp(app: FastAPI, dist: Path = DIST) -> None:
    """Serve the built app; without a build, a page that says how to make one (not a JSON 404)."""

    async def index(request: Request) -> Response:
        index_file = dist / "index.html"
        if not index_file.is_file():
            return HTMLResponse(NOT_BUILT_PAGE, status_code=503, headers=NOT_BUILT_HEADERS)
        # index.html names the hashed assets of the current build: never cache it.
        return FileResponse(index_file, media_type="text/html", headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})

    assets = dist / "assets"
    # Compressed on the way out (JavaScript shrinks to about a third); the bundle budgets count gzipped bytes.
    served = GZipMiddleware(ImmutableAssets(directory=assets, check_dir=False), minimum_size=1024) if assets.is_dir() \
        else _MissingAssets()
    app.mount("/assets", served, name="webapp-assets")
    app.router.routes.append(ClientRoute("/", index, methods=["GET", "HEAD"], include_in_schema=False))
    app.router.routes.append(ClientRoute("/{path:path}", index, methods=["GET", "HEAD"], include_in_schema=False))

"""/docs (Swagger UI) and /redoc (ReDoc), working without internet.

Their scripts and styles are served by the app from the `fastapi-offline` package's copies (Swagger UI 5,
which renders OpenAPI 3.1, and ReDoc 2); the pages carry no inline script, so their Content-Security-Policy
allows scripts from this origin only.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.errors import NotFound

ASSETS_PATH = "/docs/assets"
_ASSET_DIR = files("fastapi_offline") / "static"
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}

# Swagger UI draws its icons as data: images and sets styles from script (allowed: not inline markup).
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# ReDoc injects its styles as <style> elements and runs a web worker from a blob: URL.
REDOC_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; worker-src blob:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

SWAGGER_INIT = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "%(openapi)s",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
  });
});
"""

REDOC_INIT = """window.addEventListener("load", function () {
  Redoc.init("%(openapi)s", {}, document.getElementById("redoc"));
});
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%(title)s</title>
<link rel="icon" type="image/png" href="%(assets)s/favicon.png">
%(css)s
</head>
<body>
<div id="%(root)s"></div>
<script src="%(assets)s/%(bundle)s"></script>
<script src="%(init)s"></script>
</body>
</html>
"""


def mount_docs(app: FastAPI) -> None:
    """Serve /docs and /redoc, and their assets, from the app itself."""
    openapi = app.openapi_url or "/openapi.json"
    title = f"{app.title} API"
    page_headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        html = PAGE % {"title": title, "assets": ASSETS_PATH, "root": "swagger-ui", "bundle": "swagger-ui-bundle.js",
                       "init": "/docs/init.js",
                       "css": f'<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">'}
        return HTMLResponse(html, headers={"Content-Security-Policy": DOCS_CSP, **page_headers})

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        html = PAGE % {"title": title, "assets": ASSETS_PATH, "root": "redoc", "bundle": "redoc.standalone.js",
                       "init": "/redoc/init.js", "css": ""}
        return HTMLResponse(html, headers={"Content-Security-Policy": REDOC_CSP, **page_headers})

    @app.get("/docs/init.js", include_in_schema=False)
    async def swagger_init() -> Response:
        return Response(SWAGGER_INIT % {"openapi": openapi}, media_type="text/javascript", headers=page_headers)

    @app.get("/redoc/init.js", include_in_schema=False)
    async def redoc_init() -> Response:
        return Response(REDOC_INIT % {"openapi": openapi}, media_type="text/javascript", headers=page_headers)

    @app.get(ASSETS_PATH + "/{name}", include_in_schema=False)
    async def asset(name: str) -> FileResponse:
        if name not in _ASSETS:
            raise NotFound("No such documentation asset")
        return FileResponse(
            str(_ASSET_DIR / name), media_type=_ASSETS[name],
            headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
        )

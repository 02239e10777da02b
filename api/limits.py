"""A cap on request bodies, enforced while they stream in (before anything is buffered whole)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """Answer 413 as soon as a body passes `max_bytes`, by its Content-Length or by what has arrived."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> HTTPException:
        # An HTTPException (not an ApiError): FastAPI lets only those through while it reads a body, turning
        # anything else into 400. The app's handler answers it in the one error model.
        return HTTPException(413, detail=f"The request body is over the limit of {self.max_bytes / 1e6:.1f} MB")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            # Answered here, before the app: nothing of the body is read.
            await JSONResponse({"detail": self._too_large().detail}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()
            return message

        await self.app(scope, limited_receive, send)

"""The web app's session: its refresh token lives in an HttpOnly cookie that JavaScript never sees.

The cookie is `SameSite=Strict` and scoped to `/api/v1/auth`, so the browser sends it to the auth routes
only. Refreshing (or logging out) with the cookie alone also needs the header `X-Requested-With: invoicer`:
a page on another site cannot set a custom header on a cross-site request without a CORS preflight the API
does not grant, so a forged form post or image load cannot use the cookie. A refresh token in the JSON body
(the mobile app's flow) needs no header: it cannot be sent by a browser that does not already hold it.
"""

from __future__ import annotations

from fastapi import Request, Response

from api.errors import Forbidden, Unauthorized
from core.config import Settings

REFRESH_COOKIE = "invoicer_refresh"
COOKIE_PATH = "/api/v1/auth"
CSRF_HEADER = "X-Requested-With"
CSRF_VALUE = "invoicer"


def _secure(settings: Settings) -> bool:
    # Plain http://localhost in development and tests; everywhere else only over HTTPS.
    return settings.env not in ("development", "test")


def set_refresh_cookie(response: Response, refresh_token: str, settings: Settings) -> None:
    response.set_cookie(
        REFRESH_COOKIE, refresh_token, max_age=settings.refresh_token_days * 86400, path=COOKIE_PATH,
        httponly=True, samesite="strict", secure=_secure(settings),
    )


def clear_refresh_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(REFRESH_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict",
                           secure=_secure(settings))


def cookie_token(request: Request) -> str | None:
    """The refresh token of the cookie, if the request carries one and the CSRF header; 403 without it."""
    token = request.cookies.get(REFRESH_COOKIE)
    if not token:
        return None
    if request.headers.get(CSRF_HEADER, "").lower() != CSRF_VALUE:
        raise Forbidden(
            f"Using the session cookie needs the header '{CSRF_HEADER}: {CSRF_VALUE}' (a guard against "
            "cross-site requests); or send the refresh token in the body as {\"refresh_token\": \"…\"}"
        )
    return token


def refresh_token_from(request: Request, body_token: str | None) -> str:
    """The refresh token to use: the body's when it has one, else the cookie's (with the CSRF header)."""
    if body_token:
        return body_token
    token = cookie_token(request)
    if token is None:
        raise Unauthorized("No refresh token: send {\"refresh_token\": \"…\"} or sign in again to get a session cookie")
    return token

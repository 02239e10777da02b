"""/auth: register, login, refresh, logout, me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from api.auth import service
from api.auth.cookies import (
    CSRF_HEADER, CSRF_VALUE, REFRESH_COOKIE, clear_refresh_cookie, refresh_token_from, set_refresh_cookie,
)
from api.auth.schemas import PasswordChange, RefreshRequest, Register, TokenPair
from api.deps import CurrentUser, SettingsDep
from api.errors import Conflict, Forbidden, TooManyRequests, Unauthorized, error_responses
from api.ratelimit import client_address
from api.users.schemas import UserPublic
from api.users.service import EmailTaken
from core.security import InvalidToken

router = APIRouter(prefix="/auth", tags=["auth"])

BAD_CREDENTIALS = "Incorrect email or password"


@router.post("/register", response_model=UserPublic, status_code=status.HTTP_201_CREATED,
             responses=error_responses(403, 409, 429))
async def register(request: Request, data: Register, settings: SettingsDep):  # noqa: ANN201
    """Create a new organization with you as its first admin."""
    if not settings.allow_signup:
        raise Forbidden("Sign-up is switched off here; ask an admin to invite you")
    address = client_address(request, request.app.state.trusted_proxies)
    registrations = request.app.state.registrations
    if (wait := registrations.retry_after(address)) is not None:
        raise TooManyRequests(f"Too many sign-ups from this address; try again in {wait} s", retry_after=wait)
    registrations.record(address)
    try:
        return await service.register(data)
    except EmailTaken:
        raise Conflict("An account with this email exists; log in instead") from None


@router.post("/login", response_model=TokenPair, responses=error_responses(401, 403, 429))
async def login(
    request: Request, response: Response, form: Annotated[OAuth2PasswordRequestForm, Depends()],
    settings: SettingsDep,
) -> TokenPair:
    """OAuth2 password flow: `username` is your email. The refresh token also comes as an HttpOnly cookie for
    the web app (see `POST /auth/refresh`)."""
    throttle = request.app.state.login_failures
    account = form.username.strip().lower()[:320]
    address = client_address(request, request.app.state.trusted_proxies)
    if (limited := throttle.retry_after(account, address)) is not None:
        wait, which = limited
        raise TooManyRequests(f"Too many failed logins {which}; try again in {wait} s", retry_after=wait)
    user = await service.authenticate(form.username, form.password)
    if user is None:
        throttle.failed(account, address)
        raise Unauthorized(BAD_CREDENTIALS)
    if user.disabled:
        raise Forbidden("This account is disabled; ask your organization's admin")
    throttle.succeeded(account)
    tokens = await service.issue_tokens(user, settings)
    set_refresh_cookie(response, tokens.refresh_token, settings)
    return tokens


REFRESH_BODY = Body(description="The mobile flow; the web app sends no body and uses its cookie")


@router.post("/refresh", response_model=TokenPair, responses=error_responses(401, 403))
async def refresh(
    request: Request, response: Response, settings: SettingsDep,
    data: Annotated[RefreshRequest | None, REFRESH_BODY] = None,
) -> TokenPair:
    """Exchange a refresh token for a new pair. Each refresh token works once.

    The token comes from the body, or, when the body has none, from the session cookie set by login; the
    cookie is only accepted with the header `X-Requested-With: invoicer` (403 without it). The new refresh
    token is set as the cookie again."""
    token = refresh_token_from(request, data.refresh_token if data else None)
    try:
        tokens = await service.rotate(token, settings)
        set_refresh_cookie(response, tokens.refresh_token, settings)
        return tokens
    except InvalidToken as exc:
        raise Unauthorized(f"Invalid refresh token: {exc}") from None


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401, 403))
async def logout(
    request: Request, settings: SettingsDep, data: Annotated[RefreshRequest | None, REFRESH_BODY] = None
) -> Response:
    """Revoke a refresh token (from the body, or the session cookie with `X-Requested-With: invoicer`) and
    clear the cookie. Access tokens stay valid until they expire (15 minutes by default)."""
    token = refresh_token_from(request, data.refresh_token if data else None)
    try:
        await service.revoke(token, settings)
    except InvalidToken as exc:
        raise Unauthorized(f"Invalid refresh token: {exc}") from None
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_refresh_cookie(response, settings)
    return response


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401, 403))
async def change_password(request: Request, data: PasswordChange, user: CurrentUser, settings: SettingsDep) -> Response:
    """Change your password: the old one is checked (403 when wrong), the new one follows the sign-up rules.

    Every other session's refresh token is revoked; the session named by `refresh_token` in the body, else by
    the session cookie (with `X-Requested-With: invoicer`), survives. Access tokens already issued stay valid
    until they expire."""
    current = data.refresh_token
    if current is None and request.headers.get(CSRF_HEADER, "").lower() == CSRF_VALUE:
        current = request.cookies.get(REFRESH_COOKIE)
    try:
        await service.change_password(user, data.old_password, data.new_password, current, settings)
    except service.WrongPassword:
        raise Forbidden("The current password is not right; nothing was changed") from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserPublic)
async def me(user: CurrentUser):  # noqa: ANN201
    return user

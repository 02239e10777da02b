"""/auth: register, login, refresh, logout, me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from api.auth import service
from api.auth.schemas import RefreshRequest, Register, TokenPair
from api.deps import CurrentUser, SettingsDep
from api.users.schemas import UserPublic
from api.users.service import EmailTaken
from core.security import InvalidToken

router = APIRouter(prefix="/auth", tags=["auth"])

BAD_CREDENTIALS = "Incorrect email or password"


@router.post("/register", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
async def register(data: Register, settings: SettingsDep):  # noqa: ANN201
    """Create a new organization with you as its first admin."""
    if not settings.allow_signup:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Sign-up is switched off here; ask an admin to invite you")
    try:
        return await service.register(data)
    except EmailTaken:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="An account with this email exists; log in instead") from None


@router.post("/login", response_model=TokenPair)
async def login(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], settings: SettingsDep
) -> TokenPair:
    """OAuth2 password flow: `username` is your email."""
    limiter = request.app.state.login_failures
    client = request.client.host if request.client else "unknown"
    if (wait := limiter.retry_after(client)) is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"Too many failed logins from this address; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    user = await service.authenticate(form.username, form.password)
    if user is None:
        limiter.record_failure(client)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=BAD_CREDENTIALS, headers={"WWW-Authenticate": "Bearer"})
    if user.disabled:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="This account is disabled; ask your organization's admin")
    limiter.reset(client)
    return await service.issue_tokens(user, settings)


@router.post("/refresh", response_model=TokenPair)
async def refresh(data: RefreshRequest, settings: SettingsDep) -> TokenPair:
    """Exchange a refresh token for a new pair. Each refresh token works once."""
    try:
        return await service.rotate(data.refresh_token, settings)
    except InvalidToken as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=f"Invalid refresh token: {exc}") from None


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(data: RefreshRequest, settings: SettingsDep) -> Response:
    """Revoke a refresh token. Access tokens stay valid until they expire (15 minutes by default)."""
    try:
        await service.revoke(data.refresh_token, settings)
    except InvalidToken as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=f"Invalid refresh token: {exc}") from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserPublic)
async def me(user: CurrentUser):  # noqa: ANN201
    return user

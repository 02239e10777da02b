"""Dependencies shared by the routers: settings, database, the current user and their role."""

from __future__ import annotations

from typing import Annotated

from beanie import PydanticObjectId
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from pymongo.asynchronous.database import AsyncDatabase

from core.config import Settings
from core.models import Role, User
from core.security import InvalidToken, decode_token

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_database(request: Request) -> AsyncDatabase:
    return request.app.state.database


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DatabaseDep = Annotated[AsyncDatabase, Depends(get_database)]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=message, headers={"WWW-Authenticate": "Bearer"})


async def get_current_user(settings: SettingsDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> User:
    if not token:
        raise _unauthorized("Not authenticated: send 'Authorization: Bearer <access token>' (POST /api/v1/auth/login)")
    try:
        claims = decode_token(
            token, secret=settings.resolved_jwt_secret(), algorithm=settings.jwt_algorithm, expected_type="access"
        )
        user_id = PydanticObjectId(claims.subject)
    except (InvalidToken, ValueError) as exc:
        raise _unauthorized(f"Invalid access token: {exc}; log in again or refresh it") from None
    user = await User.get(user_id)
    if user is None or user.disabled:
        raise _unauthorized("This account no longer exists or is disabled")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_current_admin(user: CurrentUser) -> User:
    if user.role != Role.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Only an organization admin may do this")
    return user


AdminUser = Annotated[User, Depends(get_current_admin)]

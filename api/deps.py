"""Dependencies shared by the routers: settings, database, the current user and their role."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from pymongo.asynchronous.database import AsyncDatabase

from api.errors import Forbidden, Unauthorized
from core.config import Settings
from core.models import Role, User
from core.auth import NotAuthenticated, load_active_user

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_database(request: Request) -> AsyncDatabase:
    return request.app.state.database


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DatabaseDep = Annotated[AsyncDatabase, Depends(get_database)]


async def get_current_user(
    request: Request, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> User:
    if not token:
        raise Unauthorized("Not authenticated: send 'Authorization: Bearer <access token>' (POST /api/v1/auth/login)")
    try:
        document, _ = await load_active_user(token, settings, User.get_pymongo_collection())
    except NotAuthenticated as exc:
        raise Unauthorized(f"{str(exc).capitalize()}; log in again or refresh the token") from None
    user = User.model_validate(document)
    request.state.user_id = str(user.id)  # for the access log line
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_current_admin(user: CurrentUser) -> User:
    if user.role != Role.admin:
        raise Forbidden("Only an organization admin may do this")
    return user


AdminUser = Annotated[User, Depends(get_current_admin)]

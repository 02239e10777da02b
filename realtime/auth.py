"""Who is connecting: an access token checked against its signature, its type, and the user as stored now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from core.auth import NotAuthenticated, load_active_user
from core.config import Settings
from core.models import Role, User
from realtime.events import admin_room, user_room


class Refused(Exception):
    """The connection is refused; the message is shown to the client."""


class Unavailable(Refused):
    """Refused because the database could not be asked, not because of the token: retry shortly."""


@dataclass(frozen=True)
class Principal:
    user_id: str
    org_id: str
    role: Role
    expires_at: datetime  # of the access token: the connection ends then

    @property
    def rooms(self) -> list[str]:
        rooms = [user_room(self.user_id)]
        if self.role == Role.admin:
            rooms.append(admin_room(self.org_id))
        return rooms


async def authenticate(token: object, settings: Settings, database: AsyncDatabase) -> Principal:
    """The principal behind an access token (`core.auth`), or `Refused` saying why."""
    try:
        user, claims = await load_active_user(
            token, settings, database[User.Settings.name], {"org_id": 1, "role": 1}
        )
    except NotAuthenticated as exc:
        raise Refused(str(exc)) from None
    return Principal(
        user_id=str(user["_id"]), org_id=str(user["org_id"]), role=Role(user.get("role", Role.employee)),
        expires_at=claims.expires_at,
    )

"""Who is connecting: an access token checked against its signature, its type, and the user as stored now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.asynchronous.database import AsyncDatabase

from core.config import Settings
from core.models import Role, User
from core.security import InvalidToken, decode_token
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
    """The principal behind an access token, or `Refused` saying why.

    Role and organisation come from the stored user, not the token, so a demotion or a
    disabled account takes effect at the next connect rather than at token expiry.
    """
    if not isinstance(token, str) or not token.strip():
        raise Refused("authentication required: send an access token")
    try:
        claims = decode_token(
            token.strip(), secret=settings.resolved_jwt_secret(), algorithm=settings.jwt_algorithm,
            expected_type="access",
        )
    except InvalidToken as exc:
        raise Refused(f"invalid token: {exc}") from None
    try:
        user_id = ObjectId(claims.subject)
    except InvalidId:
        raise Refused("invalid token: unknown user") from None
    user = await database[User.Settings.name].find_one(
        {"_id": user_id}, {"org_id": 1, "role": 1, "disabled": 1}
    )
    if user is None or user.get("disabled"):
        raise Refused("the account does not exist or is disabled")
    return Principal(
        user_id=str(user["_id"]), org_id=str(user["org_id"]), role=Role(user.get("role", Role.employee)),
        expires_at=claims.expires_at,
    )

"""Who is behind an access token: the one check for HTTP requests and live connections alike.

The token's signature, type and expiry (`core.security.decode_access_token`), then the user as stored now:
role and organization come from the database, not the token, so a demotion or a disabled account takes
effect at once rather than at token expiry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from core.config import Settings
from core.security import InvalidToken, TokenClaims, decode_access_token


class NotAuthenticated(Exception):
    """The token lets nobody in; the message says why, for the person holding it."""


async def load_active_user(
    token: object, settings: Settings, users: AsyncCollection, projection: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], TokenClaims]:
    """The stored user an access token names, with the token's claims; `NotAuthenticated` saying why not.
    Database errors pass through: a database that is away is not the token's fault."""
    if not isinstance(token, str) or not token.strip():
        raise NotAuthenticated("authentication required: send an access token")
    try:
        user_id, claims = decode_access_token(
            token.strip(), secret=settings.resolved_jwt_secret(), algorithm=settings.jwt_algorithm
        )
    except InvalidToken as exc:
        raise NotAuthenticated(f"invalid token: {exc}") from None
    fields = None if projection is None else {**projection, "disabled": 1}
    user = await users.find_one({"_id": user_id}, fields)
    if user is None or user.get("disabled"):
        raise NotAuthenticated("the account does not exist or is disabled")
    return user, claims

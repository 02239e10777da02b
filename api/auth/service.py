"""Sign-up, login and refresh-token rotation."""

from __future__ import annotations

import uuid
from datetime import timedelta

from pymongo import ReturnDocument

from core.config import Settings
from core.models import Organization, RefreshToken, Role, User, utcnow
from core.security import (
    DUMMY_PASSWORD_HASH, InvalidToken, create_token, decode_token, hash_password, needs_rehash, verify_password,
)
from api.auth.schemas import Register, TokenPair
from api.users import service as users
from api.users.schemas import UserCreate


async def register(data: Register) -> User:
    """A new organization with this person as its first admin."""
    if await users.get_by_email(data.email):
        raise users.EmailTaken(data.email)
    org = Organization(name=data.organization)
    await org.insert()
    try:
        return await users.create_user(
            UserCreate(email=data.email, name=data.name, password=data.password, role=Role.admin), org.id
        )
    except users.EmailTaken:
        await org.delete()  # lost a race for the email: leave nothing behind
        raise


async def authenticate(email: str, password: str) -> User | None:
    user = await users.get_by_email(email)
    # Check a hash either way, so an unknown email costs the same time as a wrong password.
    ok = verify_password(password, user.password_hash if user else DUMMY_PASSWORD_HASH)
    if not (ok and user):
        return None
    if needs_rehash(user.password_hash):  # made when only the first 72 bytes counted: replace it now
        user.password_hash = hash_password(password)
        await User.get_pymongo_collection().update_one({"_id": user.id}, {"$set": {"password_hash": user.password_hash}})
    return user


async def issue_tokens(user: User, settings: Settings, family: str | None = None) -> TokenPair:
    secret = settings.resolved_jwt_secret()
    common = {"secret": secret, "algorithm": settings.jwt_algorithm, "subject": str(user.id),
              "org_id": str(user.org_id), "role": user.role.value}
    access, _ = create_token(**common, token_type="access", lifetime=timedelta(minutes=settings.access_token_minutes))
    refresh, claims = create_token(**common, token_type="refresh", lifetime=timedelta(days=settings.refresh_token_days))
    await RefreshToken(
        jti=claims.jti, user_id=user.id, family=family or uuid.uuid4().hex, expires_at=claims.expires_at
    ).insert()
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=settings.access_token_minutes * 60)


def _decode_refresh(token: str, settings: Settings) -> str:
    claims = decode_token(token, secret=settings.resolved_jwt_secret(), algorithm=settings.jwt_algorithm,
                          expected_type="refresh")
    return claims.jti


async def rotate(token: str, settings: Settings) -> TokenPair:
    """Exchange a refresh token for a new pair; the old one stops working.

    Presenting an already-used token means it leaked: the whole family of that login is revoked.
    """
    jti = _decode_refresh(token, settings)
    now = utcnow()
    row = await RefreshToken.get_pymongo_collection().find_one_and_update(
        {"jti": jti, "used_at": None, "revoked_at": None, "expires_at": {"$gt": now}},
        {"$set": {"used_at": now}},
        return_document=ReturnDocument.AFTER,
    )
    if row is None:
        known = await RefreshToken.find_one(RefreshToken.jti == jti)
        if known is not None:
            await RefreshToken.find(RefreshToken.family == known.family).update({"$set": {"revoked_at": now}})
        raise InvalidToken("this refresh token was already used or revoked; log in again")
    user = await User.get(row["user_id"])
    if user is None or user.disabled:
        raise InvalidToken("this account no longer exists or is disabled")
    return await issue_tokens(user, settings, family=row["family"])


class WrongPassword(Exception):
    pass


async def change_password(
    user: User, old_password: str, new_password: str, keep_token: str | None, settings: Settings
) -> None:
    """Check the old password, store the new one, and revoke every refresh-token family of the user except the
    one `keep_token` belongs to (the session that asked)."""
    if not verify_password(old_password, user.password_hash):
        raise WrongPassword()
    keep: str | None = None
    if keep_token:
        try:
            row = await RefreshToken.find_one(RefreshToken.jti == _decode_refresh(keep_token, settings))
        except InvalidToken:
            row = None
        if row is not None and row.user_id == user.id:
            keep = row.family
    now = utcnow()
    await User.get_pymongo_collection().update_one(
        {"_id": user.id}, {"$set": {"password_hash": hash_password(new_password), "updated_at": now}}
    )
    others = {"user_id": user.id, "revoked_at": None, **({"family": {"$ne": keep}} if keep else {})}
    await RefreshToken.get_pymongo_collection().update_many(others, {"$set": {"revoked_at": now}})


async def revoke(token: str, settings: Settings) -> None:
    jti = _decode_refresh(token, settings)
    await RefreshToken.find(RefreshToken.jti == jti).update({"$set": {"revoked_at": utcnow()}})

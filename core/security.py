"""Password hashing (bcrypt) and tokens (PyJWT)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

import bcrypt
import jwt

TokenType = Literal["access", "refresh"]

# bcrypt only looks at the first 72 bytes; longer passwords are pre-truncated explicitly
# so that bcrypt 5 does not raise on them.
_BCRYPT_MAX_BYTES = 72


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode()[:_BCRYPT_MAX_BYTES], bcrypt.gensalt()).decode()


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode()[:_BCRYPT_MAX_BYTES], password_hash.encode())
    except ValueError:
        return False


# A constant hash to compare against when the email is unknown, so both paths cost one bcrypt check.
DUMMY_PASSWORD_HASH = hash_password("not-a-real-password")


class InvalidToken(Exception):
    """The token is missing, malformed, tampered, expired or of the wrong type."""


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    org_id: str
    role: str
    type: TokenType
    jti: str
    expires_at: datetime


def create_token(
    *,
    secret: str,
    algorithm: str,
    subject: str,
    org_id: str,
    role: str,
    token_type: TokenType,
    lifetime: timedelta,
    jti: str | None = None,
) -> tuple[str, TokenClaims]:
    now = datetime.now(timezone.utc)
    claims = TokenClaims(
        subject=subject,
        org_id=org_id,
        role=role,
        type=token_type,
        jti=jti or uuid.uuid4().hex,
        expires_at=now + lifetime,
    )
    payload = {
        "sub": subject,
        "org": org_id,
        "role": role,
        "type": token_type,
        "jti": claims.jti,
        "iat": int(now.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
    }
    return jwt.encode(payload, secret, algorithm=algorithm), claims


def decode_token(token: str, *, secret: str, algorithm: str, expected_type: TokenType) -> TokenClaims:
    try:
        payload = jwt.decode(token, secret, algorithms=[algorithm], options={"require": ["exp", "sub", "type"]})
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("the token has expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("the token is not valid") from exc
    if payload.get("type") != expected_type:
        raise InvalidToken(f"expected an {expected_type} token")
    return TokenClaims(
        subject=str(payload["sub"]),
        org_id=str(payload.get("org", "")),
        role=str(payload.get("role", "")),
        type=expected_type,
        jti=str(payload.get("jti", "")),
        expires_at=datetime.fromtimestamp(payload["exp"], timezone.utc),
    )

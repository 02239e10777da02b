"""Password hashing (bcrypt) and policy, and tokens (PyJWT)."""

from __future__ import annotations

import base64
import hashlib
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Literal

import bcrypt
import jwt
from bson import ObjectId
from bson.errors import InvalidId

TokenType = Literal["access", "refresh"]

# bcrypt reads only the first 72 bytes. New hashes are of the password's SHA-256 (base64, 44 bytes), so every
# byte counts; hashes made before carry no prefix and are checked the old way (and replaced at the next login).
_PREHASHED = "$sha256"
_BCRYPT_MAX_BYTES = 72

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
_COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode()).digest())


def hash_password(password: str) -> str:
    return _PREHASHED + bcrypt.hashpw(_prehash(password), bcrypt.gensalt()).decode()


def verify_password(password: str, password_hash: str) -> bool:
    try:
        if password_hash.startswith(_PREHASHED):
            return bcrypt.checkpw(_prehash(password), password_hash.removeprefix(_PREHASHED).encode())
        return bcrypt.checkpw(password.encode()[:_BCRYPT_MAX_BYTES], password_hash.encode())
    except ValueError:
        return False


def needs_rehash(password_hash: str) -> bool:
    """True for a hash made the old way (only the first 72 bytes counted)."""
    return not password_hash.startswith(_PREHASHED)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    lines = _COMMON_PASSWORDS_FILE.read_text().splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, email: str | None = None) -> str | None:
    """What is wrong with a new password, said to a person; None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must be at least {MIN_PASSWORD_LENGTH} characters long"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the password must be at most {MAX_PASSWORD_LENGTH} characters long"
    if any(unicodedata.category(char) in ("Cc", "Cf", "Cs") for char in password):
        return "the password must not contain control characters"
    folded = password.casefold()
    squeezed = "".join(folded.split())
    if not squeezed or len(set(squeezed)) < 4:
        return "the password is too simple: use at least 4 different characters"
    if squeezed in _common_passwords() or folded.strip() in _common_passwords() or _is_sequence(squeezed):
        return "the password is one of the most common passwords; choose another"
    if email:
        address = email.casefold().strip()
        local = address.split("@")[0]
        if squeezed in (address, "".join(address.split()), local) or (len(local) >= 4 and folded.startswith(local)
                                                                        and len(set(folded[len(local):])) < 3):
            return "the password must not be your email address"
    return None


def _is_sequence(text: str) -> bool:
    """'1234567890', 'abcdefghij', '9876543210': each character one step from the last."""
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:])}
    return len(steps) == 1 and steps <= {1, -1}


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


def decode_access_token(token: str, *, secret: str, algorithm: str) -> tuple[ObjectId, TokenClaims]:
    """The user id an access token names and its claims; InvalidToken for anything else.

    The one check of an access token, for HTTP and live connections alike.
    """
    claims = decode_token(token, secret=secret, algorithm=algorithm, expected_type="access")
    try:
        return ObjectId(claims.subject), claims
    except (InvalidId, TypeError):
        raise InvalidToken("the token names no user") from None

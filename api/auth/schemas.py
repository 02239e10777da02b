"""Auth request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from api.users.schemas import StrictModel, UserBase, check_password


class Register(UserBase):
    password: str
    organization: str = Field(min_length=1, max_length=200)

    _check_password = field_validator("password")(check_password)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int  # seconds until the access token expires


class RefreshRequest(StrictModel):
    refresh_token: str

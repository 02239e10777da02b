"""Auth request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator, model_validator

from core.security import MAX_PASSWORD_LENGTH
from api.users.schemas import NewPassword, StrictModel, UserBase, check_password, check_password_with_email


class Register(UserBase):
    password: str = NewPassword
    organization: str = Field(min_length=1, max_length=200)

    _check_password = field_validator("password")(check_password)
    _not_the_email = model_validator(mode="after")(check_password_with_email)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int  # seconds until the access token expires


class RefreshRequest(StrictModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


class PasswordChange(StrictModel):
    old_password: str = Field(max_length=MAX_PASSWORD_LENGTH)
    new_password: str = NewPassword
    refresh_token: str | None = Field(
        default=None, description="The session to keep (the mobile flow); the web app's cookie is used otherwise"
    )

    _check_password = field_validator("new_password")(check_password)

"""User schemas: Base / Create / Update / Public, as the API speaks them."""

from __future__ import annotations

from datetime import datetime

from beanie import PydanticObjectId
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictBool, field_validator, model_validator

from core.models import Role
from core.security import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, password_problem

NewPassword = Field(
    min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH,
    description="At least 10 characters, no control characters, not a common password, not your email",
)


def check_password(value: str) -> str:
    if problem := password_problem(value):
        raise ValueError(problem)
    return value


def check_password_with_email(model: BaseModel) -> BaseModel:
    """A password may not be the account's own email (run after both fields are validated)."""
    if problem := password_problem(model.password, model.email):  # type: ignore[attr-defined]
        raise ValueError(problem)
    return model


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserBase(StrictModel):
    email: EmailStr = Field(max_length=254)
    name: str = Field(min_length=1, max_length=200)

    @field_validator("email")
    @classmethod
    def _normalise_email(cls, value: str) -> str:
        return value.strip().lower()


class UserCreate(UserBase):
    password: str = NewPassword
    role: Role = Role.employee

    _check_password = field_validator("password")(check_password)
    _not_the_email = model_validator(mode="after")(check_password_with_email)


class UserUpdate(StrictModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    disabled: StrictBool | None = None  # `true`/`false` only: 0 or "no" are refused, not guessed


class UserPublic(BaseModel):
    id: PydanticObjectId
    email: str
    name: str
    role: Role
    org_id: PydanticObjectId
    disabled: bool
    created_at: datetime

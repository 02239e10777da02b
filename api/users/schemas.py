"""User schemas: Base / Create / Update / Public, as the API speaks them."""

from __future__ import annotations

from datetime import datetime

from beanie import PydanticObjectId
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from core.models import Role

MIN_PASSWORD_LENGTH = 10


def check_password(value: str) -> str:
    if len(value) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")
    return value


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserBase(StrictModel):
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)

    @field_validator("email")
    @classmethod
    def _normalise_email(cls, value: str) -> str:
        return value.strip().lower()


class UserCreate(UserBase):
    password: str
    role: Role = Role.employee

    _check_password = field_validator("password")(check_password)


class UserUpdate(StrictModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    disabled: bool | None = None


class UserPublic(BaseModel):
    id: PydanticObjectId
    email: str
    name: str
    role: Role
    org_id: PydanticObjectId
    disabled: bool
    created_at: datetime

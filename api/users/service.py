"""User operations, always scoped to one organization."""

from __future__ import annotations

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from core.models import Role, User, utcnow
from core.security import hash_password
from api.users.schemas import UserCreate, UserUpdate


class EmailTaken(Exception):
    pass


class LastAdmin(Exception):
    pass


async def create_user(data: UserCreate, org_id: PydanticObjectId) -> User:
    user = User(
        email=data.email, name=data.name, password_hash=hash_password(data.password), role=data.role, org_id=org_id
    )
    try:
        await user.insert()
    except DuplicateKeyError:
        raise EmailTaken(data.email) from None
    return user


async def get_by_email(email: str) -> User | None:
    return await User.find_one(User.email == email.strip().lower())


async def get_in_org(user_id: PydanticObjectId, org_id: PydanticObjectId) -> User | None:
    return await User.find_one(User.id == user_id, User.org_id == org_id)


async def list_in_org(org_id: PydanticObjectId) -> list[User]:
    return await User.find(User.org_id == org_id).sort(+User.created_at).to_list()


async def update_user(user: User, changes: UserUpdate) -> User:
    values = changes.model_dump(exclude_unset=True, exclude_none=True)
    demotes_admin = user.role == Role.admin and (
        values.get("role", Role.admin) != Role.admin or values.get("disabled") is True
    )
    if demotes_admin:
        other_admins = await User.find(
            User.org_id == user.org_id, User.role == Role.admin, User.disabled == False, User.id != user.id  # noqa: E712
        ).count()
        if other_admins == 0:
            raise LastAdmin()
    for key, value in values.items():
        setattr(user, key, value)
    user.updated_at = utcnow()
    await user.save()
    return user

"""Admin-only user management within the admin's organization."""

from __future__ import annotations

from beanie import PydanticObjectId
from fastapi import APIRouter, status

from api.deps import AdminUser
from api.errors import Conflict, NotFound, error_responses
from api.users import service
from api.users.schemas import UserCreate, UserPublic, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserPublic], responses=error_responses(403))
async def list_users(admin: AdminUser) -> list:
    return await service.list_in_org(admin.org_id)


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED, responses=error_responses(403, 409))
async def create_user(data: UserCreate, admin: AdminUser):  # noqa: ANN201
    try:
        return await service.create_user(data, admin.org_id)
    except service.EmailTaken:
        raise Conflict(f"An account with the email {data.email} exists") from None


@router.patch("/{user_id}", response_model=UserPublic, responses=error_responses(403, 404, 409))
async def update_user(user_id: PydanticObjectId, changes: UserUpdate, admin: AdminUser):  # noqa: ANN201
    user = await service.get_in_org(user_id, admin.org_id)
    if user is None:
        raise NotFound("No such user in your organization")
    try:
        return await service.update_user(user, changes)
    except service.LastAdmin:
        raise Conflict("This is the organization's last active admin; make someone else admin first") from None

"""Admin-only user management within the admin's organization."""

from __future__ import annotations

from beanie import PydanticObjectId
from fastapi import APIRouter, HTTPException, status

from api.deps import AdminUser
from api.users import service
from api.users.schemas import UserCreate, UserPublic, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserPublic])
async def list_users(admin: AdminUser) -> list:
    return await service.list_in_org(admin.org_id)


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
async def create_user(data: UserCreate, admin: AdminUser):  # noqa: ANN201
    try:
        return await service.create_user(data, admin.org_id)
    except service.EmailTaken:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"An account with the email {data.email} exists") from None


@router.patch("/{user_id}", response_model=UserPublic)
async def update_user(user_id: PydanticObjectId, changes: UserUpdate, admin: AdminUser):  # noqa: ANN201
    user = await service.get_in_org(user_id, admin.org_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="No such user in your organization")
    try:
        return await service.update_user(user, changes)
    except service.LastAdmin:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail="This is the organization's last active admin; make someone else admin first",
        ) from None

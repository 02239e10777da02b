"""/devices: a phone registers its push token so the invoice's final state reaches it while the app is closed."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import CurrentUser
from api.devices.schemas import DeviceCreate, DevicePublic
from api.errors import error_responses
from core.models import Device, utcnow

router = APIRouter(prefix="/devices", tags=["devices"])


@router.post("", response_model=DevicePublic, status_code=status.HTTP_201_CREATED, responses=error_responses(422))
async def register_device(body: DeviceCreate, user: CurrentUser) -> DevicePublic:
    """Register (or move to this account) a push token. A token belongs to one phone, so to one user at a time."""
    now = utcnow()
    await Device.get_pymongo_collection().update_one(
        {"token": body.token},
        {"$set": {"user_id": user.id, "org_id": user.org_id, "platform": body.platform, "updated_at": now},
         "$setOnInsert": {"created_at": now}},
        upsert=True,
    )
    device = await Device.find_one({"token": body.token})
    assert device is not None
    return DevicePublic(token=device.token, platform=device.platform,  # type: ignore[arg-type]
                        created_at=device.created_at, updated_at=device.updated_at)


@router.delete("/{token}", status_code=status.HTTP_204_NO_CONTENT)
async def unregister_device(token: str, user: CurrentUser) -> Response:
    """Stop pushes to this phone (on sign out). Only the token's own user can remove it."""
    await Device.get_pymongo_collection().delete_one({"token": token, "user_id": user.id})
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""Device schemas: a phone's push token, as the mobile app registers it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Expo's tokens look like `ExponentPushToken[xxxxxxxx]`; FCM/APNs tokens are long opaque strings.
PUSH_TOKEN_PATTERN = r"^[A-Za-z0-9_:\-\[\]\.]{8,512}$"


class DeviceBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(pattern=PUSH_TOKEN_PATTERN, description="The Expo push token (`ExponentPushToken[...]`)")
    platform: Literal["ios", "android", "web"] | None = None


class DeviceCreate(DeviceBase):
    pass


class DevicePublic(DeviceBase):
    created_at: datetime
    updated_at: datetime

"""/admin: what the system is doing, for an organization's admins (403 for employees)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.admin import service
from api.admin.schemas import Activity, AdminStats, StatsRange, WatcherPublic
from api.deps import AdminUser
from api.errors import error_responses

router = APIRouter(prefix="/admin", tags=["admin"], responses=error_responses(403))


@router.get("/stats", response_model=AdminStats)
async def admin_stats(
    admin: AdminUser,
    range_: Annotated[StatsRange, Query(alias="range", description="How many days back, today included")] = "7d",
) -> AdminStats:
    """The dashboard of the organization: cards, a zero-filled series per UTC day, durations, failures,
    top uploaders and amounts. Kept up to date from per-day counters recounted when invoices change."""
    return await service.dashboard(admin.org_id, range_)


@router.get("/watchers", response_model=list[WatcherPublic])
async def admin_watchers(admin: AdminUser) -> list[WatcherPublic]:
    """The watcher processes serving this installation (shared by every organization) and their heartbeats."""
    return await service.watchers()


@router.get("/activity", response_model=Activity)
async def admin_activity(
    admin: AdminUser, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> Activity:
    """The organization's latest status changes, newest first."""
    return await service.activity(admin.org_id, limit)

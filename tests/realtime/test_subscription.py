"""An SSE subscription's bounded queue: a reader that falls too far behind is told so, not buffered forever."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from core.models import Role
from realtime.auth import Principal
from realtime.events import Event
from realtime.hub import Subscription

PRINCIPAL = Principal(user_id="u", org_id="o", role=Role.admin, expires_at=datetime.now(timezone.utc))


def event(number: int) -> Event:
    return Event("invoice.deleted", {"event_id": str(number), "id": str(number)}, "u", "o")


async def test_events_come_out_in_order():
    subscription = Subscription(PRINCIPAL, capacity=3)
    for number in range(3):
        subscription.offer(event(number))
    assert [(await subscription.next(1)).event_id for _ in range(3)] == ["0", "1", "2"]
    with pytest.raises(TimeoutError):
        await subscription.next(0.05)


async def test_overflow_drops_the_backlog_and_ends_the_stream():
    subscription = Subscription(PRINCIPAL, capacity=3)
    for number in range(5):
        subscription.offer(event(number))
    assert subscription.overflowed and await subscription.next(1) is None


def test_an_admin_listens_to_its_own_room_and_its_organisation():
    assert PRINCIPAL.rooms == ["user:u", "org:o:admins"]
    assert Principal("u", "o", Role.employee, PRINCIPAL.expires_at).rooms == ["user:u"]

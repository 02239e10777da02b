"""Push notifications for phones whose app is closed: the final state of an invoice, sent to its owner's devices.

The realtime process already sees every status change; when one is final (`processed` or `failed`) it hands it
here. Several API processes see the same change, so each notification is claimed once in the database (a unique
`_id` per event, kept a day by a TTL index) before it is sent. Providers sit behind `PushProvider`; the one
shipped speaks Expo's push HTTP API (`POST /--/api/v2/push/send`), set by `EXPO_PUSH_URL`. Without that setting
nothing is sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

import httpx
from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from core.config import Settings
from core.models import Device

log = logging.getLogger(__name__)

FINAL_STATUSES = frozenset({"processed", "failed"})
CLAIMS = "push_claims"
CLAIM_LIFETIME = timedelta(days=1)
# Expo accepts at most 100 messages per request.
BATCH = 100


@dataclass(frozen=True)
class PushMessage:
    token: str
    title: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PushOutcome:
    token: str
    ok: bool
    # The provider says the token no longer reaches a phone (app removed, token rotated): forget it.
    unregistered: bool = False
    error: str | None = None


class PushProvider(Protocol):
    async def send(self, messages: list[PushMessage]) -> list[PushOutcome]: ...


class ExpoPushProvider:
    """Expo's push service (or anything speaking its HTTP API): JSON array in, `{"data": [ticket, ...]}` out."""

    def __init__(self, url: str, timeout_seconds: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout_seconds

    async def send(self, messages: list[PushMessage]) -> list[PushOutcome]:
        outcomes: list[PushOutcome] = []
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            for start in range(0, len(messages), BATCH):
                batch = messages[start:start + BATCH]
                body = [{"to": m.token, "title": m.title, "body": m.body, "data": m.data, "sound": "default"}
                        for m in batch]
                response = await client.post(self.url, json=body, headers={"Accept": "application/json"})
                response.raise_for_status()
                tickets = response.json().get("data", [])
                for message, ticket in zip(batch, tickets, strict=False):
                    ok = ticket.get("status") == "ok"
                    error = (ticket.get("details") or {}).get("error")
                    outcomes.append(PushOutcome(
                        token=message.token, ok=ok, unregistered=error == "DeviceNotRegistered",
                        error=None if ok else (error or ticket.get("message")),
                    ))
        return outcomes


def provider_from(settings: Settings) -> PushProvider | None:
    url = getattr(settings, "expo_push_url", None)
    return ExpoPushProvider(url) if url else None


def message_text(payload: dict[str, Any]) -> tuple[str, str]:
    """What the phone shows: a title and a line, from the event's summary."""
    summary = payload.get("summary") or {}
    what = summary.get("vendor_name") or summary.get("invoice_number") or "Your invoice"
    if payload.get("status") == "processed":
        total = f" · {summary['total']} {summary.get('currency') or ''}".rstrip() if summary.get("total") else ""
        return "Invoice processed", f"{what}{total}"
    error = (payload.get("error") or {}).get("message") or "it could not be read"
    return "Invoice failed", f"{what}: {error}"


async def fan_out(database: AsyncDatabase, provider: PushProvider, event_id: str, owner_id: str,
                  payload: dict[str, Any]) -> int:
    """Send one final state to the owner's devices, once across all processes. Returns how many were sent."""
    if payload.get("status") not in FINAL_STATUSES or payload.get("replayed"):
        return 0
    devices = database[Device.Settings.name]
    tokens = [d["token"] async for d in devices.find({"user_id": ObjectId(owner_id)}, {"token": 1})]
    if not tokens:
        return 0
    now = datetime.now(timezone.utc)
    try:
        await database[CLAIMS].insert_one({"_id": event_id, "expires_at": now + CLAIM_LIFETIME})
    except DuplicateKeyError:
        return 0  # another process sends this one
    title, body = message_text(payload)
    data = {"invoice_id": payload.get("id"), "status": payload.get("status")}
    outcomes = await provider.send([PushMessage(token, title, body, data) for token in tokens])
    gone = [o.token for o in outcomes if o.unregistered]
    if gone:
        await devices.delete_many({"token": {"$in": gone}})
    for outcome in outcomes:
        if not outcome.ok and not outcome.unregistered:
            log.warning("push to a device of user %s failed: %s", owner_id, outcome.error)
    return sum(o.ok for o in outcomes)


async def ensure_indexes(database: AsyncDatabase) -> None:
    await database[CLAIMS].create_index("expires_at", expireAfterSeconds=0)


class PushFanout:
    """What the realtime hub calls for each event; never raises (a push is a courtesy, never a blocker)."""

    def __init__(self, settings: Settings, provider: PushProvider | None = None) -> None:
        self.provider = provider or provider_from(settings)
        self._indexed = False

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    async def notify(self, database: AsyncDatabase, event_id: str, owner_id: str, payload: dict[str, Any]) -> None:
        if self.provider is None:
            return
        try:
            if not self._indexed:
                await ensure_indexes(database)
                self._indexed = True
            await fan_out(database, self.provider, event_id, owner_id, payload)
        except (PyMongoError, httpx.HTTPError, ValueError) as exc:
            log.warning("push notification for event %s not sent: %s", event_id, exc)

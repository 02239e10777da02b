"""The connections of one process and the delivery of events to them.

One `Hub` per process: it owns the Socket.IO server, the SSE subscriptions, the change-stream
tailer and its own database client (the API's Beanie binding is left alone). Each event goes to
the rooms `user:<owner_id>` and `org:<org_id>:admins`; a connection is put in its rooms by the
server at connect and cannot join any other (no join event exists).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timezone
from typing import Any

import socketio
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from core.config import Settings
from core.db import make_client
from core.changestream import ChangeFollower
from core.models import Invoice, User
from realtime.auth import Principal, Refused, Unavailable, authenticate
from realtime.catchup import CatchUp, missed_events
from realtime.events import STATUS, ChangeTranslator, Event, Since, parse_since, user_room
from realtime.metrics import LIVE_CONNECTIONS
from realtime.push import PushFanout
from realtime.stream import ChangeTailer

log = logging.getLogger(__name__)

SESSION_EXPIRED = "session.expired"
SESSION_ENDED = "session.ended"
# The account changes that end a user's live connections: disabled (or enabled), role changed, replaced, deleted.
ACCOUNT_PIPELINE: list[dict[str, Any]] = [
    {"$match": {"$or": [
        {"operationType": {"$in": ["delete", "replace"]}},
        {"operationType": "update", "updateDescription.updatedFields.disabled": {"$exists": True}},
        {"operationType": "update", "updateDescription.updatedFields.role": {"$exists": True}},
    ]}},
    {"$project": {"operationType": 1, "documentKey": 1}},
]
CATCHUP_COMPLETE = "catchup.complete"
REPLAYED_MEMORY_SECONDS = 60.0  # longer than the change stream lags behind the database
CATCHUP_SECONDS = 5.0  # a catch-up slower than this is given up: the client is told to refetch its list


class Subscription:
    """One SSE stream's queue. A client that falls this far behind is closed and told to reconnect."""

    def __init__(self, principal: Principal, capacity: int = 1000) -> None:
        self.principal = principal
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(capacity)
        self.overflowed = False
        self.final: tuple[str, dict[str, Any]] | None = None  # the last event before an ordered end

    def offer(self, event: Event) -> None:
        if self.overflowed:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(None)  # wakes the stream, which ends with an `overflow` event

    def end(self, name: str, payload: dict[str, Any]) -> None:
        """Close the stream after one last event (`name`, `payload`), whatever is still queued."""
        self.overflowed = True  # nothing more is queued
        self.final = (name, payload)
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def next(self, timeout: float) -> Event | None:
        """The next event; None when the stream must end (`final` says how, else it overflowed).
        TimeoutError after `timeout` seconds."""
        return await asyncio.wait_for(self._queue.get(), timeout)


class Hub:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        any_origin = "*" in settings.cors_origins
        self.sio = socketio.AsyncServer(
            async_mode="asgi", cors_allowed_origins="*" if any_origin else settings.cors_origins or None,
            # `*` with credentials would let any site act with a visitor's cookies: `*` goes without them.
            cors_credentials=not any_origin, logger=False, engineio_logger=False,
        )
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self._translator = ChangeTranslator()
        self._expiry_timers: dict[str, asyncio.TimerHandle] = {}
        # Connections still being sent their catch-up: the live events for them wait here, so that a
        # live event never overtakes the replay and one the replay already sent is not sent twice.
        self._held: dict[str, tuple[set[str], list[Event]]] = {}
        # What each connection was just replayed: the change stream can deliver the same changes live after
        # the replay (it lags the database under load), and they must not arrive twice.
        self._replayed: dict[str, set[str]] = {}
        self._subscriptions: dict[str, set[Subscription]] = defaultdict(set)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._database: AsyncDatabase | None = None
        self.tailer: ChangeTailer | None = None
        self._account_changes: ChangeFollower | None = None
        self.push = PushFanout(settings)
        LIVE_CONNECTIONS.track(self)

    # --- lifecycle -------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What a health check may show: whether events flow, and how many live connections this process holds."""
        open_ = self.tailer is not None and self.tailer.open.is_set()
        return {
            "change_stream": "open" if open_ else "reconnecting",
            "socketio_connections": len(self._expiry_timers),
            "sse_connections": len({s for members in self._subscriptions.values() for s in members}),
        }

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Open the database client and the change streams for the life of the web server."""
        if not self.settings.mongodb_uri:
            raise RuntimeError("MONGODB_URI is not set; the realtime server needs the database")
        # A connect waits on the user lookup: during an outage, refuse in seconds rather than the driver's 30.
        client = make_client(self.settings.mongodb_uri, serverSelectionTimeoutMS=5000)
        self._database = client[self.settings.mongodb_db]
        self.tailer = ChangeTailer(self._database[Invoice.Settings.name], self._on_change)
        tailing = asyncio.create_task(self.tailer.run(), name="realtime-change-stream")
        self._account_changes = ChangeFollower(
            "realtime accounts", self._database[User.Settings.name], ACCOUNT_PIPELINE, self._on_account_change,
            max_backoff_seconds=5.0,
        )
        accounts = asyncio.create_task(self._account_changes.run(), name="realtime-account-changes")
        try:
            # Serve only once the stream is open, so nothing written after start-up is missed;
            # a database that is down must not keep the API from starting, though.
            await asyncio.wait_for(self.tailer.open.wait(), timeout=10)
        except TimeoutError:
            log.warning("the change stream is not open yet; notifications start when the database answers")
        try:
            yield
        finally:
            tailing.cancel()
            accounts.cancel()
            for timer in self._expiry_timers.values():
                timer.cancel()
            await asyncio.gather(tailing, accounts, *self._tasks, return_exceptions=True)
            await self.sio.shutdown()
            await client.close()

    @property
    def database(self) -> AsyncDatabase:
        if self._database is None:
            raise RuntimeError("the realtime hub is not running")
        return self._database

    # --- delivery --------------------------------------------------------------------------

    async def _on_change(self, change: Mapping[str, Any]) -> None:
        for event in self._translator.translate(change):
            await self.publish(event)

    async def publish(self, event: Event) -> None:
        rooms = event.rooms
        held = [sid for sid, (sid_rooms, _) in self._held.items() if not sid_rooms.isdisjoint(rooms)]
        for sid in held:
            self._held[sid][1].append(event)
        had_it = [sid for sid, replayed in self._replayed.items() if event.event_id in replayed]
        await self.sio.emit(event.name, event.payload, to=rooms, skip_sid=held + had_it or None)
        for subscription in {s for room in rooms for s in self._subscriptions.get(room, ())}:
            subscription.offer(event)
        if self.push.enabled and event.name == STATUS:
            self._start(self.push.notify, self.database, event.event_id, event.owner_id, event.payload)

    async def _on_account_change(self, change: Mapping[str, Any]) -> None:
        """A user was disabled, deleted or given another role: their live connections end now (they were let in
        as who they were). They may reconnect, and are let in as who they are now, or not at all."""
        user_id = str((change.get("documentKey") or {}).get("_id"))
        message = {"message": "your account was changed (disabled, or given another role); reconnect"}
        room = user_room(user_id)
        for sid in [sid for sid, _ in self.sio.manager.get_participants("/", room)]:
            await self.sio.emit(SESSION_ENDED, message, to=sid)
            await self.sio.disconnect(sid)
        for subscription in list(self._subscriptions.get(room, ())):
            subscription.end(SESSION_ENDED, message)
        log.info("user %s: account changed; their live connections were closed", user_id)

    def open_streams(self, principal: Principal) -> int:
        """How many live streams this principal's user holds open now."""
        return len(self._subscriptions.get(principal.rooms[0], ()))

    def subscribe(self, principal: Principal) -> Subscription:
        subscription = Subscription(principal)
        for room in principal.rooms:
            self._subscriptions[room].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        for room in subscription.principal.rooms:
            members = self._subscriptions.get(room)
            if members is not None:
                members.discard(subscription)
                if not members:
                    del self._subscriptions[room]

    async def authenticate(self, token: object) -> Principal:
        try:
            return await authenticate(token, self.settings, self.database)
        except PyMongoError as exc:
            log.warning("could not look up the connecting user: %s", exc)
            raise Unavailable("the server cannot check tokens right now; retry shortly") from None

    async def catch_up(self, principal: Principal, since: Since) -> CatchUp:
        """What `principal` missed since `since`; on a database error, nothing and `truncated` (refetch)."""
        now = datetime.now(timezone.utc)
        try:
            return await missed_events(self.database, principal, since, now)
        except PyMongoError as exc:
            log.warning("catch-up query failed: %s", exc)
            return CatchUp(events=[], since=since.moment, truncated=True)

    # --- Socket.IO -------------------------------------------------------------------------

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: object) -> None:
        auth = auth if isinstance(auth, dict) else {}
        try:
            principal = await self.authenticate(auth.get("token"))
            since = parse_since(auth["since"]) if auth.get("since") is not None else None
        except (Refused, ValueError) as exc:
            raise socketio.exceptions.ConnectionRefusedError(str(exc)) from None
        for room in principal.rooms:
            await self.sio.enter_room(sid, room)
        # Disconnect at expiry (not on the next event): a quiet connection must not outlive its token.
        delay = (principal.expires_at - datetime.now(timezone.utc)).total_seconds()
        self._expiry_timers[sid] = asyncio.get_running_loop().call_later(max(delay, 0), self._start, self._expire, sid)
        if since is not None:
            # After the connect is acknowledged; the rooms are joined and live events held first,
            # so nothing falls in between.
            self._held[sid] = (set(principal.rooms), [])
            self._start(self._replay_to, sid, principal, since)

    async def _on_disconnect(self, sid: str, *reason: object) -> None:
        self._held.pop(sid, None)
        self._replayed.pop(sid, None)
        timer = self._expiry_timers.pop(sid, None)
        if timer is not None:
            timer.cancel()

    def _start(self, target: Any, *args: Any) -> None:
        task = asyncio.ensure_future(target(*args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _expire(self, sid: str) -> None:
        await self.sio.emit(SESSION_EXPIRED, {"message": "the access token expired; reconnect with a fresh one"}, to=sid)
        await self.sio.disconnect(sid)

    async def _replay_to(self, sid: str, principal: Principal, since: Since) -> None:
        """Send `sid` what it missed, then `catchup.complete`, then the live events held meanwhile. Whatever
        goes wrong, the client still gets `catchup.complete` (with `truncated`: refetch the list), never silence."""
        refetch = CatchUp(events=[], since=since.moment, truncated=True)
        completed = False
        try:
            try:
                async with asyncio.timeout(CATCHUP_SECONDS):
                    result = await self.catch_up(principal, since)
                    await self._connected(sid)
            except TimeoutError:
                log.warning("catch-up for %s took over %s s; it is told to refetch", sid, CATCHUP_SECONDS)
                result = refetch
            for event in result.events:
                await self.sio.emit(event.name, {**event.payload, "replayed": True}, to=sid)
            await self.sio.emit(CATCHUP_COMPLETE, result.summary(), to=sid)
            completed = True
            replayed = {event.event_id for event in result.events}
            if replayed:
                self._replayed[sid] = replayed
                asyncio.get_running_loop().call_later(REPLAYED_MEMORY_SECONDS, self._replayed.pop, sid, None)
            # Events held meanwhile follow live, less those the replay already carried. Each emit may
            # let more arrive, so the list is drained until empty before the connection is let go.
            _, waiting = self._held.get(sid, (set(), []))
            while waiting:
                event = waiting.pop(0)
                if event.event_id not in replayed:
                    await self.sio.emit(event.name, event.payload, to=sid)
        except Exception:  # a task nobody awaits: unlogged, a failure here would be silent
            log.exception("replaying missed events to %s failed", sid)
            if not completed:
                with suppress(Exception):
                    await self.sio.emit(CATCHUP_COMPLETE, refetch.summary(), to=sid)
        finally:
            self._held.pop(sid, None)

    async def _connected(self, sid: str) -> None:
        """Return once the connect of `sid` is acknowledged: an event sent before the acknowledgement reaches
        the client ahead of its own connect, which not every client keeps."""
        while self.sio.manager.is_pre_connected(sid, "/"):
            await asyncio.sleep(0.01)

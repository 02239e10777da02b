"""Following a change stream for as long as the process lives: the one owner of resuming, backing off, and
telling a resume token that can never work again from a database that is only away.

Both the watcher (which saves its token for its group) and the realtime server (which keeps it in memory)
follow their stream through `ChangeFollower`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure, PyMongoError

from core.backoff import Backoff

log = logging.getLogger(__name__)

# Codes that mean "this resume token will never be accepted": MongoDB's ChangeStreamHistoryLost (286: the
# oplog moved past it), InvalidResumeToken (260) and ChangeStreamFatalError (280, which MongoDB and pymongo
# treat as not resumable), and FailedToParse (9), which SecantusDB answers for a token it cannot read.
# Retrying such a token in a loop only fails again, for ever; the follower drops it and starts from now.
# 9 counts only when a token was sent: without one it is a real error in the request, and is backed off.
UNUSABLE_RESUME_TOKEN = {286: "history lost", 260: "invalid resume token", 280: "fatal change stream error",
                         9: "unreadable resume token"}

EVENT_RATE_WINDOW = 10.0  # seconds of recent events that tell a follower's event rate
EVENT_RATE_SAMPLE = 1_000  # at most this many of them are remembered

Token = Mapping[str, Any]
Pipeline = list[dict[str, Any]]
ChangeHandler = Callable[[Mapping[str, Any]], Awaitable[None]]


class ChangeFollower:
    """Follows `collection.watch(pipeline)` until `stopping` is set (or the task is cancelled).

    `handle` gets each change in order. `pipeline` may be a function, asked again at every (re)open:
    `reopen()` makes the follower reopen the stream from its resume token with the pipeline it returns now. The resume token advances after every wait, also an empty one, so
    that a resume after a quiet hour does not find its history pruned. When the token cannot be used, or
    the stream is invalidated (collection dropped or renamed), the follower starts from now and calls
    `on_reset`: the owner decides how to recover what fell in between (the watcher sweeps, realtime clients
    catch up with `since`). Between failures it backs off exponentially with jitter.
    """

    def __init__(
        self, name: str, collection: AsyncCollection, pipeline: Pipeline | Callable[[], Pipeline],
        handle: ChangeHandler, *,
        resume_after: Token | None = None, stopping: asyncio.Event | None = None,
        on_open: Callable[[], None] | None = None, on_progress: Callable[[], Awaitable[None]] | None = None,
        on_reset: Callable[[], Awaitable[None]] | None = None, max_backoff_seconds: float = 10.0,
        **watch_options: Any,
    ) -> None:
        self.name = name
        self.resume_token: Token | None = resume_after
        self.open = asyncio.Event()  # set while a stream is open; start-up and health checks look at it
        self.restarts = 0
        self._collection, self._pipeline, self._handle = collection, pipeline, handle
        self._stopping = stopping or asyncio.Event()
        self._on_open, self._on_progress, self._on_reset = on_open, on_progress, on_reset
        self._watch_options = watch_options
        self._max_backoff = max_backoff_seconds
        self._reopen = False
        # SecantusDB answers a waiting getMore as soon as anything is written anywhere, even what the pipeline
        # filters out (MongoDB waits for a matching event or maxAwaitTimeMS): a follower of a small slice of
        # the changes would ask again after every write. After such an early empty answer it waits about the
        # mean time between its own recent events, at most `max_empty_wake_pause` (0: never), so its empty
        # answers stay about as many as its events. An empty answer that took the whole await never pauses.
        self.max_empty_wake_pause = 0.0
        self._event_times: deque[float] = deque(maxlen=EVENT_RATE_SAMPLE)

    async def run(self) -> None:
        backoff = Backoff(self._stopping, cap=self._max_backoff)
        while not self._stopping.is_set():
            try:
                self._reopen = False
                pipeline = self._pipeline() if callable(self._pipeline) else self._pipeline
                async with await self._collection.watch(
                    pipeline, resume_after=self.resume_token, **self._watch_options
                ) as stream:
                    backoff.reset()
                    await self._follow(stream)
                if self._reopen:
                    continue
                if not self._stopping.is_set():
                    log.warning("%s: the change stream was invalidated (the collection was dropped or renamed); "
                                "starting a fresh one", self.name)
                    await self._reset()
            except OperationFailure as exc:
                reason = UNUSABLE_RESUME_TOKEN.get(exc.code or 0)
                if self.resume_token is not None and reason:
                    log.warning("%s: change stream %s (%s): the resume token cannot be used; a fresh stream "
                                "starts from now", self.name, reason, exc.code)
                    await self._reset()
                    continue
                await self._pause(exc, backoff)
            except PyMongoError as exc:
                await self._pause(exc, backoff)
            except Exception:  # a bug must not leave the process deaf for good
                log.exception("%s: following the change stream failed", self.name)
                await self._pause(None, backoff)

    async def _follow(self, stream: AsyncChangeStream) -> None:
        self.open.set()
        if self._on_open:
            self._on_open()
        try:
            loop = asyncio.get_running_loop()
            while stream.alive and not self._stopping.is_set() and not self._reopen:
                asked = loop.time()
                change = await stream.try_next()
                if change is not None:
                    self._event_times.append(loop.time())
                elif not self._reopen and (pause := self._empty_wake_pause(loop.time()) - (loop.time() - asked)) > 0:
                    # Woken by a write this stream filtered out: do not ask at once. A requested reopen (a new
                    # partition) does not wait: the new range's work is waiting for it.
                    await asyncio.sleep(pause)
                if change is not None and change.get("operationType") != "invalidate":
                    try:
                        await self._handle(change)
                    except PyMongoError:
                        raise  # the database is away: the stream reopens from before this change, handled again
                    except Exception:  # one bad event must not stop the others
                        log.exception("%s: could not handle change %s", self.name, change.get("documentKey"))
                self.resume_token = stream.resume_token or self.resume_token
                if self._on_progress:
                    await self._on_progress()
        finally:
            self.open.clear()

    def _empty_wake_pause(self, now: float) -> float:
        """About the mean time between this stream's events of the last `EVENT_RATE_WINDOW` seconds, at most
        `max_empty_wake_pause`."""
        if self.max_empty_wake_pause <= 0:
            return 0.0
        times = self._event_times
        while times and times[0] < now - EVENT_RATE_WINDOW:
            times.popleft()
        return min(self.max_empty_wake_pause, EVENT_RATE_WINDOW / len(times)) if times else self.max_empty_wake_pause

    def reopen(self) -> None:
        """Reopen the stream, from the resume token, with the pipeline as it is now (after the current wait)."""
        self._reopen = True

    async def _reset(self) -> None:
        self.resume_token = None
        if self._on_reset:
            await self._on_reset()

    async def _pause(self, exc: Exception | None, backoff: Backoff) -> None:
        self.restarts += 1
        if exc is not None:
            log.warning("%s: the change stream was interrupted (%s); reopening in about %.1f s", self.name, exc,
                        backoff.delay)
        await backoff.sleep()

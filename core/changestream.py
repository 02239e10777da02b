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

_INTERRUPTED = object()  # `_next`'s answer when a reopen was requested before the getMore came back

Token = Mapping[str, Any]
Pipeline = list[dict[str, Any]]
ChangeHandler = Callable[[Mapping[str, Any]], Awaitable[None]]


class ChangeFollower:
    """Follows `collection.watch(pipeline)` until `stopping` is set (or the task is cancelled).

    `handle` gets each change in order. `pipeline` may be a function, asked again at every (re)open:
    `reopen()` makes the follower reopen the stream from its resume token with the pipeline it returns now,
    without waiting for the getMore in flight. The resume token advances after every wait, also an empty one,
    so that a resume after a quiet hour does not find its history pruned. When the token cannot be used, or
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
        self._reopen = asyncio.Event()
        # SecantusDB answers a waiting getMore as soon as anything is written anywhere, even what the pipeline
        # filters out (MongoDB waits for a matching event or maxAwaitTimeMS): a follower of a small slice of
        # the changes would ask again after every write. Once such an early empty answer was seen, the
        # follower sends at most one getMore per about the mean time between its own recent events, at most
        # `max_empty_wake_pause` (0: never paces), whether the last answer carried events or not: each getMore
        # then brings about one event, and an event waits at most that long. A server that only answers empty
        # at the end of the await (MongoDB) is never paced.
        self.max_empty_wake_pause = 0.0
        self._answers_early = False
        self._early_answer = watch_options.get("max_await_time_ms", 1000) / 2000  # seconds: half the await
        self._paced_until = 0.0
        self._event_times: deque[float] = deque(maxlen=EVENT_RATE_SAMPLE)

    async def run(self) -> None:
        backoff = Backoff(self._stopping, cap=self._max_backoff)
        while not self._stopping.is_set():
            try:
                self._reopen.clear()
                pipeline = self._pipeline() if callable(self._pipeline) else self._pipeline
                async with await self._collection.watch(
                    pipeline, resume_after=self.resume_token, **self._watch_options
                ) as stream:
                    backoff.reset()
                    await self._follow(stream)
                if self._reopen.is_set():
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
        self.resume_token = stream.resume_token or self.resume_token
        try:
            loop = asyncio.get_running_loop()
            last_empty = False
            while stream.alive and not self._stopping.is_set() and not self._reopen.is_set():
                buffered = _buffered(stream)
                asked = None
                if not buffered:  # this try_next sends a getMore
                    if (self._answers_early and (buffered == 0 or last_empty)
                            and await self._reopen_within(self._paced_until - loop.time())):
                        break  # a reopen was requested during the pause
                    asked = loop.time()
                change = await self._next(stream, cancellable=asked is not None)
                if change is _INTERRUPTED:
                    break
                if asked is not None:
                    answered = loop.time()
                    if change is None and answered - asked < self._early_answer:
                        self._answers_early = True  # woken by a write this stream filtered out
                    self._paced_until = asked + self._empty_wake_pause(answered)
                last_empty = change is None
                if change is not None:
                    self._event_times.append(loop.time())
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

    async def _next(self, stream: AsyncChangeStream, *, cancellable: bool) -> Mapping[str, Any] | None | object:
        """The stream's next change (None after an empty wait), or `_INTERRUPTED` when a reopen was requested
        first. The getMore in flight is then abandoned (pymongo closes its connection and the cursor); what it
        may have carried comes again from the resume token, which only moves past handled changes. Without a
        token to come back to, the wait is seen out."""
        if not cancellable or self.resume_token is None:
            return await stream.try_next()
        ask = asyncio.ensure_future(stream.try_next())
        reopen = asyncio.ensure_future(self._reopen.wait())
        abandoned = False
        try:
            await asyncio.wait({ask, reopen}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            reopen.cancel()
            if not ask.done():
                abandoned = ask.cancel()
                await asyncio.gather(ask, return_exceptions=True)  # whatever it raised on the way out
        return _INTERRUPTED if abandoned else ask.result()

    async def _reopen_within(self, seconds: float) -> bool:
        """Pause for `seconds`; True if a reopen was requested meanwhile (it ends the pause)."""
        if seconds <= 0:
            return False
        try:
            await asyncio.wait_for(self._reopen.wait(), seconds)
        except TimeoutError:
            return False
        return True

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
        """Reopen the stream, from the resume token, with the pipeline as it is now: at once, abandoning the
        getMore in flight (`_next`)."""
        self._reopen.set()

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


def _buffered(stream: AsyncChangeStream) -> int | None:
    """Changes the stream holds from its last getMore (the next try_next returns one without asking the
    server); None when this pymongo does not tell."""
    data = getattr(getattr(stream, "_cursor", None), "_data", None)
    return len(data) if data is not None else None

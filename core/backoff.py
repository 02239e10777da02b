"""Waiting between attempts against a database that is away, cut short by a stop."""

from __future__ import annotations

import asyncio
import random


async def wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait for `event` up to `timeout` seconds; True if it was set."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return False
    return True


class Backoff:
    """Exponential waits with jitter (processes that lost the database together do not return in step)."""

    def __init__(self, stopping: asyncio.Event | None = None, first: float = 0.25, cap: float = 10.0) -> None:
        self._stopping = stopping or asyncio.Event()
        self._first, self._cap = first, cap
        self.delay = first

    def reset(self) -> None:
        self.delay = self._first

    async def sleep(self) -> None:
        await wait_event(self._stopping, self.delay * random.uniform(0.5, 1.0))
        self.delay = min(self.delay * 2, self._cap)

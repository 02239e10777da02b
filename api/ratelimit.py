"""Failed-login throttling per client, in process memory.

Behind a load balancer with several API processes each keeps its own window, so the effective limit
is per process; that is enough to stop password guessing at network speed.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque


class FailureWindow:
    def __init__(self, limit: int, window_seconds: float = 60.0) -> None:
        self.limit = limit
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _prune(self, key: str, now: float) -> deque[float]:
        hits = self._failures[key]
        while hits and now - hits[0] > self.window:
            hits.popleft()
        if not hits:
            del self._failures[key]
            return deque()
        return hits

    def retry_after(self, key: str) -> int | None:
        """Seconds to wait when `key` is over its limit, else None."""
        now = time.monotonic()
        hits = self._prune(key, now)
        if len(hits) >= self.limit:
            return max(1, int(self.window - (now - hits[0])) + 1)
        return None

    def record_failure(self, key: str) -> None:
        self._failures[key].append(time.monotonic())

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)

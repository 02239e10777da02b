"""Throttling of password guessing and sign-ups, in process memory.

Behind a load balancer with several API processes each keeps its own windows, so the effective limit
is per process; that is enough to stop guessing at network speed.
"""

from __future__ import annotations

import ipaddress
import time
from collections import defaultdict, deque
from collections.abc import Sequence

from starlette.requests import Request

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class FailureWindow:
    """At most `limit` events per key within a sliding window."""

    # Past this many keys, keys whose events have all aged out are dropped (a guesser trying a million
    # usernames must not grow the process without bound).
    SWEEP_ABOVE_KEYS = 10_000

    def __init__(self, limit: int, window_seconds: float = 60.0) -> None:
        self.limit = limit
        self.window = window_seconds
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._last_sweep = time.monotonic()

    def _prune(self, key: str, now: float) -> deque[float]:
        hits = self._events.get(key)
        if hits is None:
            return deque()
        while hits and now - hits[0] > self.window:
            hits.popleft()
        if not hits:
            del self._events[key]
            return deque()
        return hits

    def retry_after(self, key: str) -> int | None:
        """Seconds to wait when `key` is at its limit, else None."""
        now = time.monotonic()
        hits = self._prune(key, now)
        if len(hits) >= self.limit:
            return max(1, int(self.window - (now - hits[0])) + 1)
        return None

    def record(self, key: str) -> None:
        now = time.monotonic()
        if len(self._events) > self.SWEEP_ABOVE_KEYS and now - self._last_sweep > self.window:
            self._last_sweep = now
            for stale in [k for k, hits in self._events.items() if not hits or now - hits[-1] > self.window]:
                del self._events[stale]
        self._prune(key, now)
        hits = self._events[key]
        hits.append(now)
        if len(hits) > self.limit:  # what is past the limit is never consulted: memory stays bounded per key
            hits.popleft()

    def reset(self, key: str) -> None:
        self._events.pop(key, None)


class LoginThrottle:
    """Failed logins counted per account and per address.

    A success clears only that account's own count: the address's count is never cleared, so one's own
    good login between guesses at someone else's account does not open the window again.
    """

    def __init__(self, limit: int, window_seconds: float = 60.0) -> None:
        self.per_account = FailureWindow(limit, window_seconds)
        self.per_address = FailureWindow(limit, window_seconds)

    def retry_after(self, account: str, address: str) -> tuple[int, str] | None:
        """(seconds, which) when either count is at its limit."""
        if (wait := self.per_account.retry_after(account)) is not None:
            return wait, "for this account"
        if (wait := self.per_address.retry_after(address)) is not None:
            return wait, "from this address"
        return None

    def failed(self, account: str, address: str) -> None:
        self.per_account.record(account)
        self.per_address.record(address)

    def succeeded(self, account: str) -> None:
        self.per_account.reset(account)


def parse_networks(values: Sequence[str]) -> list[IpNetwork]:
    return [ipaddress.ip_network(value.strip(), strict=False) for value in values if value.strip()]


def client_address(request: Request, trusted_proxies: Sequence[IpNetwork]) -> str:
    """The caller's address: the peer's, or, when the peer is a trusted proxy, the nearest untrusted hop
    named in `X-Forwarded-For` (read from the right, since a client can put anything on its left)."""
    peer = request.client.host if request.client else "unknown"
    if not trusted_proxies or not _trusted(peer, trusted_proxies):
        return peer
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted_proxies):
            return hop if _is_ip(hop) else peer
    return peer


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _trusted(address: str, networks: Sequence[IpNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)

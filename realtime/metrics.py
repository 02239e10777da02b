"""Live connections of this process for Prometheus (`invoicer_live_connections{transport=socketio|sse}`),
read from the hubs when scraped, so the numbers never drift from what the hubs hold."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any, Protocol

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class HasStatus(Protocol):
    def status(self) -> dict[str, Any]: ...


class LiveConnections(Collector):
    def __init__(self) -> None:
        self._hubs: weakref.WeakSet[Any] = weakref.WeakSet()  # a process may build more than one app (tests)

    def track(self, hub: HasStatus) -> None:
        self._hubs.add(hub)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("invoicer_live_connections", "Open live connections, by transport",
                                   labels=["transport"])
        socketio = sse = 0
        for hub in list(self._hubs):
            status = hub.status()
            socketio += status["socketio_connections"]
            sse += status["sse_connections"]
        family.add_metric(["socketio"], socketio)
        family.add_metric(["sse"], sse)
        yield family


LIVE_CONNECTIONS = LiveConnections()
REGISTRY.register(LIVE_CONNECTIONS)

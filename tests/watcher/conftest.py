"""Real `invoicer watcher` processes on the test's database, running the scripted test extractor."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support import Process
from tests.watcher.support import CONCURRENCY, FAST_WATCHER


@pytest.fixture
def start_watcher(start_process: Callable[..., Process]) -> Iterator[Callable[..., Process]]:
    """Start a watcher with two workers; keyword arguments override its environment. At teardown, its log
    must hold no traceback unless the test expected one (an extractor told to raise logs its own)."""
    checked: list[Process] = []

    def start(*args: str, tracebacks_expected: bool = False, **env: str) -> Process:
        process = start_process("watcher", "--concurrency", str(CONCURRENCY), *args, **{**FAST_WATCHER, **env})
        if not tracebacks_expected:
            checked.append(process)
        return process

    yield start
    for process in checked:
        process.stop()
        assert "Traceback" not in process.log(), process.log()[-6000:]



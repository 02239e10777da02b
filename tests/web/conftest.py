"""Browser tests: Debian's chromium driven by Playwright against the real stack (`invoicer api` + watcher).

Playwright never downloads a browser here: it launches /usr/bin/chromium (`make test` installs it with apt-get).
The built app (`clients/web/dist`, `make web`) must exist; the tests say so when it does not.
Skip them while iterating with `-m "not browser"`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright  # noqa: E402

from tests.web.support import CHROMIUM, CHROMIUM_ARGS, Stack, start_stack  # noqa: E402

NOT_BROWSER = ("test_bundle", "test_sdk_schema")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: tests that drive a real browser (Debian's chromium)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent and Path(str(item.fspath)).stem not in NOT_BROWSER:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, mongo_uri: str) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("web-stack")
    running = start_stack(tmp, mongo_uri)
    yield running
    for process in (running.watcher, running.api):
        if process is not None:
            process.stop()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def system_chromium(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def browser_context(system_chromium: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Fresh browser profiles (cookies and memory of their own); closed at the end of the test."""
    opened: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        options.setdefault("viewport", {"width": 1366, "height": 900})
        context = system_chromium.new_context(**options)
        context.set_default_timeout(20_000)
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()

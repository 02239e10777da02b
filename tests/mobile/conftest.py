"""The mobile app's API side (Idempotency-Key, devices, push fan-out) against real processes, and the Expo web
export driven by Debian's chromium at phone size."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from core.embedded import free_port
from tests.support import Process, base_env, wait_http


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: tests that drive a real browser (Debian's chromium)")


@pytest.fixture(scope="module")
def api_url(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("mobile-api")
    port = free_port()
    env = base_env(mongo_uri, f"mobile_{uuid.uuid4().hex[:10]}", tmp / "data", REGISTRATIONS_PER_HOUR="1000")
    proc = Process(["api", "--port", str(port)], env, tmp / "api.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", process=proc)
        yield url
    finally:
        proc.stop()
        log = proc.log()
        assert "Traceback" not in log, f"the API logged an exception:\n{log[-5000:]}"


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    from tests.mobile.support import MOBILE_DIST, serve_export

    if not (MOBILE_DIST / "index.html").is_file():
        pytest.fail("The mobile app's web export is missing: run `make mobile` "
                    "(or `cd clients/mobile && EXPO_OFFLINE=1 CI=1 npx expo export --platform web --output-dir dist`)")
    with serve_export(MOBILE_DIST) as url:
        yield url


@pytest.fixture(scope="module")
def mobile_stack(app_url: str, tmp_path_factory: pytest.TempPathFactory, mongo_uri: str):  # noqa: ANN201
    from tests.web.support import start_stack

    # The app is served from its own origin, as a phone's app talks to the API from elsewhere.
    running = start_stack(tmp_path_factory.mktemp("mobile-stack"), mongo_uri, CORS_ORIGINS=app_url)
    yield running
    for process in (running.watcher, running.api):
        if process is not None:
            process.stop()


@pytest.fixture(scope="module")
def phone_browser():  # noqa: ANN201
    import os

    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    from tests.web.support import CHROMIUM, CHROMIUM_ARGS

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def phone(phone_browser):  # noqa: ANN001, ANN201
    """A fresh phone-sized browser profile with touch."""
    from tests.mobile.support import PHONE

    context = phone_browser.new_context(**PHONE)
    context.set_default_timeout(20_000)
    yield context
    context.close()

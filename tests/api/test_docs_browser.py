"""/docs and /redoc render in a real browser with every request to another host cut off."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

from playwright.sync_api import Route, sync_playwright  # noqa: E402

from tests.web.support import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

pytestmark = [pytest.mark.slow]


@pytest.mark.parametrize("page_path, rendered", [
    ("/docs", ".opblock-tag"),  # Swagger UI's operation groups
    ("/redoc", "[role=navigation], .menu-content"),  # ReDoc's side menu
])
def test_docs_render_offline_under_their_csp(api_url, page_path, rendered):
    own_host = urlsplit(api_url).netloc
    foreign: list[str] = []
    problems: list[str] = []

    def offline(route: Route) -> None:
        if urlsplit(route.request.url).netloc in (own_host, ""):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.route("**/*", offline)
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(f"{api_url}{page_path}")
            page.wait_for_selector(rendered, timeout=30_000)
            assert "Invoicer" in page.content()
        finally:
            browser.close()
    assert not foreign, f"the page asked another host: {foreign}"
    # ReDoc's "powered by" logo names its CDN; the policy blocks it before any request leaves (checked above).
    # Nothing the page needs, script or style, may be refused.
    refused = [p for p in problems if "Content Security Policy" in p and "Loading the image" not in p]
    assert not refused, refused

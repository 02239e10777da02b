"""Helpers of the mobile app's browser tests: the web export served as a phone would load it, screenshots."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import Page

from tests.support import REPO

MOBILE_DIST = REPO / "clients" / "mobile" / "dist"
ARTIFACTS = REPO / "tests" / "artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}


class _AppHandler(SimpleHTTPRequestHandler):
    """Static files; any other path is the app's own route, answered with index.html."""

    def send_head(self):  # noqa: ANN201
        path = Path(self.translate_path(self.path))
        if not path.exists():
            self.path = "/index.html"
        return super().send_head()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def serve_export(directory: Path) -> Iterator[str]:
    """The web export on a free local port, until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_AppHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def phone_shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

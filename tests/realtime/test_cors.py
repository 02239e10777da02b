"""`CORS_ORIGINS='*'` on Socket.IO: any origin may read, none with the visitor's credentials."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.slow


def test_any_origin_on_socketio_polling_goes_without_credentials(start_api):
    base = start_api(CORS_ORIGINS="*")
    response = httpx.get(f"{base}/socket.io/", params={"EIO": "4", "transport": "polling"},
                         headers={"Origin": "https://evil.example"})
    assert response.status_code == 200, response.text
    # The origin may be echoed (engine.io does), but never with credentials: a page elsewhere cannot ride on
    # the visitor's cookies.
    assert response.headers.get("access-control-allow-credentials") != "true"


def test_a_listed_origin_keeps_credentials_and_others_are_refused(start_api):
    base = start_api(CORS_ORIGINS="https://app.example")
    allowed = httpx.get(f"{base}/socket.io/", params={"EIO": "4", "transport": "polling"},
                        headers={"Origin": "https://app.example"})
    assert allowed.headers.get("access-control-allow-origin") == "https://app.example"
    assert allowed.headers.get("access-control-allow-credentials") == "true"
    refused = httpx.get(f"{base}/socket.io/", params={"EIO": "4", "transport": "polling"},
                        headers={"Origin": "https://evil.example"})
    assert refused.status_code == 400

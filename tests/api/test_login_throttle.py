"""Too many failed logins from one client within a minute are refused with 429 (its own API process)."""

from __future__ import annotations

import httpx


def test_failed_logins_are_throttled(api_url, new_org):
    admin = new_org()  # the test API allows 5 failures a minute
    url = f"{api_url}/api/v1/auth/login"
    codes = [httpx.post(url, data={"username": admin.email, "password": "wrong password!"}).status_code
             for _ in range(5)]
    assert codes == [401] * 5
    throttled = httpx.post(url, data={"username": admin.email, "password": "correct horse battery"})
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert "try again" in throttled.json()["detail"]

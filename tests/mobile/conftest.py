"""The mobile app's API side (Idempotency-Key, devices, push fan-out) against real processes, and the Expo web
export driven by Debian's chromium at phone size."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from core.embedded import free_port
from tests.support import Process, base_env, wait_http


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

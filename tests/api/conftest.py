"""One real `invoicer api` process per test module; the helpers that make accounts are in tests.factories."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from core.embedded import free_port
from tests.factories import Account, register_org
from tests.support import Process, base_env, wait_http


@pytest.fixture(scope="module")
def api_url(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("api")
    port = free_port()
    env = base_env(mongo_uri, f"api_{uuid.uuid4().hex[:10]}", tmp / "data", MAX_UPLOAD_BYTES=str(2_000_000),
                   MAX_IMAGE_PIXELS=str(20_000_000), MAX_PDF_PAGES="5", LOGIN_ATTEMPTS_PER_MINUTE="5",
                   REGISTRATIONS_PER_HOUR="1000")
    proc = Process(["api", "--port", str(port)], env, tmp / "api.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", timeout=90, process=proc)  # start-up is slow while other suites load the cores
        yield url
    finally:
        proc.stop()
        log = proc.log()
        assert "Traceback" not in log, f"the API logged an exception:\n{log[-5000:]}"


@pytest.fixture
def new_org(api_url: str):  # noqa: ANN201
    """A factory: a fresh organization with its admin signed in."""

    def make() -> Account:
        return register_org(api_url)

    return make

"""One real `invoicer api` process per test module, and helpers to get signed-in clients."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from PIL import Image, ImageDraw

from core.embedded import free_port
from tests.support import Process, base_env, wait_http

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def api_url(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("api")
    port = free_port()
    env = base_env(mongo_uri, f"api_{uuid.uuid4().hex[:10]}", tmp / "data", MAX_UPLOAD_BYTES=str(2_000_000),
                   MAX_IMAGE_PIXELS=str(20_000_000), MAX_PDF_PAGES="5", LOGIN_ATTEMPTS_PER_MINUTE="5")
    proc = Process(["api", "--port", str(port)], env, tmp / "api.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", process=proc)
        yield url
    finally:
        proc.stop()
        log = proc.log()
        assert "Traceback" not in log, f"the API logged an exception:\n{log[-5000:]}"


@dataclass
class Account:
    client: httpx.Client
    email: str
    user: dict
    tokens: dict


def login(url: str, email: str, password: str = PASSWORD) -> dict:
    response = httpx.post(f"{url}/api/v1/auth/login", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def signed_in(url: str, email: str, password: str = PASSWORD) -> httpx.Client:
    tokens = login(url, email, password)
    return httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {tokens['access_token']}"},
                        timeout=30)


@pytest.fixture
def new_org(api_url: str):  # noqa: ANN201
    """A factory: a fresh organization with its admin signed in."""

    def make() -> Account:
        email = f"admin-{uuid.uuid4().hex[:8]}@Example.com"
        response = httpx.post(f"{api_url}/api/v1/auth/register", json={
            "email": email, "password": PASSWORD, "name": "Ada Admin", "organization": f"Org {uuid.uuid4().hex[:6]}"})
        assert response.status_code == 201, response.text
        tokens = login(api_url, email)
        client = httpx.Client(base_url=f"{api_url}/api/v1",
                              headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=30)
        return Account(client, email.lower(), response.json(), tokens)

    return make


def add_employee(admin: Account, api_url: str) -> Account:
    email = f"emp-{uuid.uuid4().hex[:8]}@example.com"
    response = admin.client.post("/users", json={"email": email, "password": PASSWORD, "name": "Eve Employee"})
    assert response.status_code == 201, response.text
    tokens = login(api_url, email)
    client = httpx.Client(base_url=f"{api_url}/api/v1", headers={"Authorization": f"Bearer {tokens['access_token']}"},
                          timeout=30)
    return Account(client, email, response.json(), tokens)


def invoice_jpeg(text: str = "INVOICE 42  TOTAL 118.00 EUR", size: tuple[int, int] = (800, 600)) -> bytes:
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((40, 40), text, fill="black")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()

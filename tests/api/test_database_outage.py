"""The database goes away under a running API: 503 with Retry-After in seconds, no internals, recovery by itself."""

from __future__ import annotations

import time

import httpx

from core.embedded import free_port, start_embedded
from tests.factories import register_org
from tests.support import wait_http


def test_requests_answer_503_quickly_while_the_database_is_away_and_recover(start_process, tmp_path):
    db_port = free_port()
    database = start_embedded(":memory:", db_port, durable=False, log_file=tmp_path / "db.log")
    try:
        api_port = free_port()
        api = start_process("api", "--port", str(api_port), MONGODB_URI=database.uri)
        url = f"http://127.0.0.1:{api_port}"
        wait_http(f"{url}/health", process=api)
        admin = register_org(url)
        assert admin.client.get("/invoices").status_code == 200

        database.process.kill()
        database.process.wait()
        for path in ("/invoices", "/auth/me"):
            started = time.monotonic()
            response = admin.client.get(path)
            took = time.monotonic() - started
            assert response.status_code == 503, response.text
            assert took < 4.0, f"{path} took {took:.1f} s"
            assert int(response.headers["retry-after"]) > 0
            assert response.json() == {"detail": "The database is unreachable; try again in a few seconds"}
        login = httpx.post(f"{url}/api/v1/auth/login", data={"username": admin.email, "password": "x" * 12})
        assert login.status_code == 503
        started = time.monotonic()
        ready = httpx.get(f"{url}/ready", timeout=10)
        assert ready.status_code == 503 and time.monotonic() - started < 4.0
        assert ready.json()["database"] == "unreachable"
        assert str(db_port) not in ready.text and "127.0.0.1" not in ready.text
        assert httpx.get(f"{url}/health").status_code == 200  # the process itself is fine

        database = start_embedded(":memory:", db_port, durable=False, log_file=tmp_path / "db2.log")
        deadline = time.monotonic() + 30
        while httpx.get(f"{url}/ready", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "the API did not recover after the database came back"
            time.sleep(0.5)
        again = register_org(url)  # the in-memory database came back empty: a new account works
        assert again.client.get("/invoices").status_code == 200
        assert "Traceback" not in api.log()
    finally:
        database.stop()

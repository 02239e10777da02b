"""One access line per request, and no secret in any log line."""

from __future__ import annotations

import base64
import re
import time

import httpx

from core.embedded import free_port
from tests.factories import PASSWORD, invoice_jpeg, register_org
from tests.support import wait_http


def test_a_full_flow_leaves_one_line_per_request_and_no_secret(start_process):
    port = free_port()
    api = start_process("api", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health", process=api)

    admin = register_org(url)
    access, refresh = admin.tokens["access_token"], admin.tokens["refresh_token"]
    headers = {"Authorization": f"Bearer {access}"}
    since = "2024-01-01T00:00:00+00:00"
    secrets_used = [access, refresh, PASSWORD, since, "2024-01-01"]

    upload = httpx.post(f"{url}/api/v1/invoices", headers=headers, json={
        "filename": "flow.jpg", "content_base64": base64.b64encode(invoice_jpeg()).decode()})
    assert upload.status_code == 202
    httpx.post(f"{url}/api/v1/invoices/upload", headers=headers, files={"file": ("a.txt", b"text", "text/plain")})
    httpx.get(f"{url}/api/v1/invoices?token={access}&access_token={access}")  # a token in the query string: 401
    httpx.post(f"{url}/api/v1/auth/login", data={"username": admin.email, "password": "wrong " + PASSWORD})
    httpx.post(f"{url}/api/v1/auth/refresh", json={"refresh_token": refresh})
    with httpx.stream("GET", f"{url}/api/v1/events", params={"since": since}, headers=headers, timeout=10) as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith("retry")
    response = httpx.get(f"{url}/api/v1/invoices", headers={**headers, "X-Request-ID": "trace-me-1"})
    assert response.headers["x-request-id"] == "trace-me-1"

    deadline = time.monotonic() + 10
    while "trace-me-1" not in api.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = api.log()
    for secret in secrets_used:
        assert secret not in log, f"a secret reached the log: {secret[:12]}…"

    access_lines = [line for line in log.splitlines() if "invoicer.access" in line]
    user_id = admin.user["id"]
    assert any(re.search(rf"POST /api/v1/invoices 202 [\d.]+ms user={user_id} request_id=\w+", line)
               for line in access_lines), access_lines
    assert any(" POST /api/v1/invoices/upload 415 " in line for line in access_lines)
    assert any(" GET /api/v1/invoices 401 " in line and "?" not in line for line in access_lines)
    assert any(" GET /api/v1/events 200 " in line and f"user={user_id}" in line for line in access_lines)
    assert any("request_id=trace-me-1" in line for line in access_lines)
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", line) for line in access_lines)

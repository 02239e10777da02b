"""The edges of the contract: one error model everywhere, 405 with Allow, request ids, offline docs, the document."""

from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.support import INVOICER, REPO


def _is_error_model(response: httpx.Response) -> bool:
    body = response.json()
    return isinstance(body.get("detail"), str) and set(body) <= {"detail", "errors"}


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/api/v1/nothing-here", 404),
    ("PATCH", "/api/v1/invoices/upload", 405),
    ("DELETE", "/api/v1/invoices/upload", 405),
    ("OPTIONS", "/api/v1/invoices", 405),
    ("OPTIONS", "/api/v1/auth/login", 405),
    ("GET", "/api/v1/auth/me", 401),
    ("GET", "/api/v1/invoices?limit=1000", 401),
])
def test_framework_errors_answer_the_one_error_model(api_url, method, path, status):
    response = httpx.request(method, f"{api_url}{path}")
    assert response.status_code == status, response.text
    assert _is_error_model(response), response.text
    if status == 405:
        assert response.headers["allow"], "405 must say which methods the path takes"


def test_validation_errors_have_a_string_detail_and_the_problems(api_url, new_org):
    response = new_org().client.get("/invoices", params={"limit": 1000, "cursor": "not a cursor!"})
    assert response.status_code == 422
    body = response.json()
    assert isinstance(body["detail"], str) and "limit" in body["detail"]
    assert {tuple(error["loc"]) for error in body["errors"]} == {("query", "limit"), ("query", "cursor")}


def test_bad_multipart_is_400(api_url, new_org):
    response = new_org().client.post(
        "/invoices/upload", content=b"--x\r\nnot a part", headers={"content-type": "multipart/form-data; boundary=x"})
    assert response.status_code in (400, 422), response.text
    assert _is_error_model(response)


def test_request_id_is_kept_when_plain_and_replaced_when_not(api_url):
    kept = httpx.get(f"{api_url}/health", headers={"X-Request-ID": "abc-123.x"})
    assert kept.headers["x-request-id"] == "abc-123.x"
    replaced = httpx.get(f"{api_url}/health", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 100})
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", httpx.get(f"{api_url}/nothing").headers["x-request-id"])


def test_the_document_declares_the_error_model_for_every_error_status(api_url):
    document = httpx.get(f"{api_url}/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = {int(s) for s in operation["responses"]}
            if "security" in operation:
                assert 401 in statuses, (method, path)
            if path.startswith("/api/v1/invoices/{invoice_id}") or path == "/api/v1/users/{user_id}":
                assert 404 in statuses, (method, path)
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
    events = document["paths"]["/api/v1/events"]["get"]
    assert events["security"] and all(p["name"].lower() != "authorization" for p in events["parameters"])
    register = document["components"]["schemas"]["Register"]["properties"]["password"]
    assert register["minLength"] == 10
    limit = next(p for p in document["paths"]["/api/v1/invoices"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 100


def test_invoicer_openapi_prints_the_served_document_without_a_database(api_url, tmp_path):
    result = subprocess.run([INVOICER, "openapi"], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == httpx.get(f"{api_url}/openapi.json").json()
    assert result.stdout == json.dumps(printed, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert not (tmp_path / ".data").exists()
    assert (REPO / "cli" / "openapi.py").exists()


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_load_everything_from_the_app_itself(api_url, page):
    response = httpx.get(f"{api_url}{page}")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    parser = _Assets()
    parser.feed(response.text)
    assert parser.urls and "<script>" not in response.text  # no inline script: the CSP would block it
    for url in parser.urls:
        absolute = urljoin(f"{api_url}{page}", url)
        assert urlsplit(absolute).netloc == urlsplit(api_url).netloc, f"{url} is on another host"
        asset = httpx.get(absolute)
        assert asset.status_code == 200, url
        if url.endswith(".js"):
            assert "cdn." not in asset.text[:2000] or "openapi" in url
    init = httpx.get(f"{api_url}{page}/init.js").text
    assert "/openapi.json" in init and "http" not in init

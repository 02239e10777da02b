"""Helpers of the browser tests: the real stack, signing up and in through the UI, dropping files, axe."""

from __future__ import annotations

import base64
import json
import mimetypes
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from core.embedded import free_port
from tests.conftest import DATASETS
from tests.support import REPO, Process, base_env, wait_http

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DIST = REPO / "clients" / "web" / "dist"
ARTIFACTS = REPO / "tests" / "artifacts"
AXE = REPO / "clients" / "node_modules" / "axe-core" / "axe.min.js"

# Real documents: a till receipt photo, a PDF with a text layer, a PDF carrying Factur-X/ZUGFeRD XML.
RECEIPT = DATASETS / "sroie" / "006.jpg"
TEXT_PDF = DATASETS / "invoice2data" / "AzureInterior.pdf"
EINVOICE_PDF = DATASETS / "zugferd-corpus" / "EN16931_OEPNV.pdf"

PASSWORD = "correct-horse-battery"


@dataclass
class Stack:
    """The real API (serving the app) and a watcher on a database of their own."""

    base: str
    api: Process
    watcher: Process | None
    mongo_uri: str
    db_name: str

    def register(self, name: str = "Ann Admin", organization: str = "Acme") -> tuple[str, str]:
        email = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:8]}@example.com"
        response = httpx.post(f"{self.base}/api/v1/auth/register", json={
            "email": email, "password": PASSWORD, "name": name, "organization": organization,
        })
        assert response.status_code == 201, response.text
        return email, self.token(email)

    def token(self, email: str, password: str = PASSWORD) -> str:
        response = httpx.post(f"{self.base}/api/v1/auth/login", data={"username": email, "password": password})
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def create_user(self, admin_token: str, role: str = "employee", name: str = "Eve Employee") -> tuple[str, str]:
        email = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:8]}@example.com"
        response = httpx.post(f"{self.base}/api/v1/users", headers=auth(admin_token), json={
            "email": email, "password": PASSWORD, "name": name, "role": role,
        })
        assert response.status_code == 201, response.text
        return email, self.token(email)

    def upload(self, token: str, path: Path) -> dict[str, Any]:
        with path.open("rb") as handle:
            response = httpx.post(f"{self.base}/api/v1/invoices/upload", headers=auth(token),
                                  files={"file": (path.name, handle, mimetypes.guess_type(path.name)[0] or "application/octet-stream")},
                                  timeout=60)
        assert response.status_code == 202, response.text
        return response.json()

    def get(self, token: str, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.base}/api/v1{path}", headers=auth(token), params=params, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def start_stack(tmp: Path, mongo_uri: str, watcher: bool = True, **env: str) -> Stack:
    if not (DIST / "index.html").is_file():
        pytest.fail("The web app is not built: run `make web` (or `cd clients && npm ci && npm run build`)")
    db_name = f"web_{uuid.uuid4().hex[:10]}"
    environment = base_env(mongo_uri, db_name, tmp / "data", **env)
    port = free_port()
    api = Process(["api", "--port", str(port)], environment, tmp / "api.log").start()
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/health", timeout=60, process=api)
    worker = Process(["watcher", "--concurrency", "2"], environment, tmp / "watcher.log").start() if watcher else None
    return Stack(base=base, api=api, watcher=worker, mongo_uri=mongo_uri, db_name=db_name)


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_up(page: Page, base: str, name: str = "Ann Admin", organization: str = "Acme") -> str:
    email = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(f"{base}/signup")
    page.get_by_label("Your name", exact=True).fill(name)
    page.get_by_label("Organization", exact=True).fill(organization)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create organization").click()
    _arrive(page, "**/invoices")
    return email


def _arrive(page: Page, pattern: str) -> None:
    """Wait for the page the form leads to; fail with what the app said if it stayed put."""
    try:
        page.wait_for_url(pattern, timeout=15_000)
    except Exception:
        alerts = page.get_by_role("alert").all_inner_texts()
        raise AssertionError(f"still at {page.url}; the page says: {alerts}") from None


def sign_in(page: Page, base: str, email: str, path: str = "/invoices", *, here: bool = False) -> None:
    """Sign in on /signin, or on the sign-in page the browser is already at (`here`, keeping its `next`)."""
    if not here:
        page.goto(f"{base}/signin")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    _arrive(page, f"**{path}")


def drop_files(page: Page, selector: str, paths: list[Path]) -> None:
    """Drag and drop real files onto an element, as a person does from a file manager."""
    files = [
        {"name": path.name, "type": mimetypes.guess_type(path.name)[0] or "application/octet-stream",
         "b64": base64.b64encode(path.read_bytes()).decode()}
        for path in paths
    ]
    transfer = page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], f.name, { type: f.type }));
            }
            return transfer;
        }""",
        files,
    )
    page.dispatch_event(selector, "dragover", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core from node_modules (never a CDN); serious and critical violations only."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, { resultTypes: ['violations'] })")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]


def dump(value: Any) -> str:
    return json.dumps(value, indent=1, default=str)[:4000]

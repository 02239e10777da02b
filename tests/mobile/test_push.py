"""Push notifications: phones register their Expo push token; an invoice's final state reaches them through a
provider speaking Expo's push HTTP API — here a local fake of it. Two API processes send each push once."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient

from core.embedded import free_port
from tests.factories import bearer_client, invoice_jpeg, login, register_org
from tests.support import Process, base_env, wait_http

pytestmark = pytest.mark.slow

GONE = "ExponentPushToken[uninstalled-app]"


class FakeExpoPush:
    """`POST /--/api/v2/push/send` as Expo answers it: one ticket per message, in order."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != "/--/api/v2/push/send":
                    self.send_response(404)
                    self.end_headers()
                    return
                owner.messages.extend(body)
                tickets = [
                    {"status": "error", "message": f"{m['to']} is not a registered push notification recipient",
                     "details": {"error": "DeviceNotRegistered"}} if m["to"] == GONE
                    else {"status": "ok", "id": uuid.uuid4().hex}
                    for m in body
                ]
                answer = json.dumps({"data": tickets}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/--/api/v2/push/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def push_stack(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[str], FakeExpoPush, str]]:
    tmp: Path = tmp_path_factory.mktemp("push")
    fake = FakeExpoPush()
    db_name = f"push_{uuid.uuid4().hex[:10]}"
    env = base_env(mongo_uri, db_name, tmp / "data", EXPO_PUSH_URL=fake.url, REGISTRATIONS_PER_HOUR="1000")
    processes, urls = [], []
    try:
        for n in range(2):
            port = free_port()
            processes.append(Process(["api", "--port", str(port)], env, tmp / f"api{n}.log").start())
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes, strict=True):
            wait_http(f"{url}/health", timeout=60, process=process)
        processes.append(Process(["watcher", "--concurrency", "1"], env, tmp / "watcher.log").start())
        yield urls, fake, db_name
    finally:
        for process in processes:
            process.stop()
        fake.close()
        for process in processes:
            assert "Traceback" not in process.log(), process.log()[-4000:]


def test_final_state_is_pushed_once_to_each_device_and_dead_tokens_are_forgotten(push_stack, mongo_uri):
    urls, fake, db_name = push_stack
    account = register_org(urls[0])
    phone, tablet = "ExponentPushToken[phone-1234]", "ExponentPushToken[tablet-5678]"
    for token, platform in ((phone, "ios"), (tablet, "android"), (GONE, "android")):
        response = account.client.post("/devices", json={"token": token, "platform": platform})
        assert response.status_code == 201, response.text
        assert response.json()["token"] == token
    # Another user's device gets nothing of ours.
    other = register_org(urls[0])
    assert other.client.post("/devices", json={"token": "ExponentPushToken[someone-else]"}).status_code == 201

    invoice = account.client.post("/invoices/upload", files={"file": ("r.jpg", invoice_jpeg("PUSH 7"), "image/jpeg")})
    assert invoice.status_code == 202, invoice.text
    invoice_id = invoice.json()["id"]

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(fake.messages) < 3:
        time.sleep(0.5)
    time.sleep(2)  # the second API process had its chance to send a duplicate
    assert sorted(m["to"] for m in fake.messages) == sorted([phone, tablet, GONE])
    final = account.client.get(f"/invoices/{invoice_id}").json()["status"]
    for message in fake.messages:
        assert message["data"] == {"invoice_id": invoice_id, "status": final}
        assert message["title"] in ("Invoice processed", "Invoice failed")
    with MongoClient(mongo_uri) as client:
        tokens = {d["token"] for d in client[db_name].devices.find({}, {"token": 1})}
    assert GONE not in tokens and phone in tokens


def test_device_registration_validates_moves_and_unregisters(push_stack):
    urls, _, _ = push_stack
    first, second = register_org(urls[0]), register_org(urls[1])
    token = "ExponentPushToken[shared-phone]"
    assert first.client.post("/devices", json={"token": "not a token!"}).status_code == 422
    assert first.client.post("/devices", json={"token": token, "platform": "symbian"}).status_code == 422
    assert httpx.post(f"{urls[0]}/api/v1/devices", json={"token": token}).status_code == 401
    assert first.client.post("/devices", json={"token": token}).status_code == 201
    # The phone changes hands: the token now belongs to the second account only.
    assert second.client.post("/devices", json={"token": token}).status_code == 201
    assert first.client.delete(f"/devices/{token}").status_code == 204  # not theirs any more: nothing happens
    again = bearer_client(urls[1], login(urls[1], second.email)["access_token"])
    assert again.delete(f"/devices/{token}").status_code == 204

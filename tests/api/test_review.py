"""Review state: computed by the watcher's final write, recomputed on correction, confirmed by a person,
filtered in the list, reset by a reprocess, announced to other pages as `invoice.updated`."""

from __future__ import annotations

import asyncio
import base64
import uuid

import httpx
import pytest
import socketio

from tests.factories import PASSWORD
from tests.api.test_review_support import running_stack, scripted_jpeg, wait_status


@pytest.fixture(scope="module")
def stack(mongo_uri, tmp_path_factory):  # noqa: ANN001, ANN201
    with running_stack(mongo_uri, tmp_path_factory.mktemp("review")) as running:
        yield running


def sign_up(url: str) -> httpx.Client:
    email = f"rev-{uuid.uuid4().hex[:8]}@example.com"
    response = httpx.post(f"{url}/api/v1/auth/register", json={
        "email": email, "password": PASSWORD, "name": "Rita Reviewer", "organization": "Review Org"})
    assert response.status_code == 201, response.text
    tokens = httpx.post(f"{url}/api/v1/auth/login", data={"username": email, "password": PASSWORD}).json()
    return httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {tokens['access_token']}"},
                        timeout=30)


def upload(client: httpx.Client, data: bytes, name: str = "scan.jpg") -> dict:
    response = client.post("/invoices", json={"filename": name, "content_base64": base64.b64encode(data).decode()})
    assert response.status_code == 202, response.text
    return response.json()


def finished(client: httpx.Client, data: bytes) -> dict:
    return wait_status(client, upload(client, data)["id"], "processed", "failed")


def test_confident_fields_need_no_review(stack):
    client = sign_up(stack.url)
    invoice = finished(client, scripted_jpeg("ok"))
    assert invoice["status"] == "processed"
    assert invoice["review"] == {"state": "not_needed", "reasons": [], "by": None, "at": None}


def test_each_reason_is_named(stack):
    client = sign_up(stack.url)
    low = finished(client, scripted_jpeg("low"))
    assert low["review"]["state"] == "needs_review"
    assert [(r["code"], r["field"]) for r in low["review"]["reasons"]] == [("low_confidence", "total")]
    warned = finished(client, scripted_jpeg("warn"))
    assert [r["code"] for r in warned["review"]["reasons"]] == ["validation_warning"]
    assert "does not equal" in warned["review"]["reasons"][0]["message"]
    failed = finished(client, scripted_jpeg("fail"))
    assert failed["status"] == "failed" and [r["code"] for r in failed["review"]["reasons"]] == ["failed"]
    data = scripted_jpeg("ok")
    finished(client, data)
    duplicate = finished(client, data)
    assert duplicate["duplicate_of"] and [r["code"] for r in duplicate["review"]["reasons"]] == ["duplicate"]


def test_a_correction_clears_its_field_and_a_confirmation_sticks_until_reprocess(stack):
    client = sign_up(stack.url)
    invoice = finished(client, scripted_jpeg("low"))
    assert client.post(f"/invoices/{invoice['id']}/confirm").status_code == 200  # confirm first
    corrected = client.patch(f"/invoices/{invoice['id']}", json={"fields": {"total": "12.30"}}).json()
    assert corrected["review"]["state"] == "confirmed" and corrected["review"]["reasons"] == []  # kept, reasons fresh

    other = finished(client, scripted_jpeg("low"))
    fixed = client.patch(f"/invoices/{other['id']}", json={"fields": {"total": "9.99"}}).json()
    assert fixed["review"] == {"state": "not_needed", "reasons": [], "by": None, "at": None}
    undone = client.patch(f"/invoices/{other['id']}", json={"fields": {"total": None}}).json()
    assert undone["review"]["state"] == "needs_review"

    assert client.post(f"/invoices/{invoice['id']}/reprocess").json()["review"] is None
    again = wait_status(client, invoice["id"], "processed")
    # The correction is kept across the reprocess, so the total is no longer doubtful; the confirmation is gone.
    assert again["review"]["state"] == "not_needed"


def test_confirm_records_who_and_when_and_refuses_unfinished(stack):
    client = sign_up(stack.url)
    me = client.get("/auth/me").json()
    invoice = finished(client, scripted_jpeg("warn"))
    confirmed = client.post(f"/invoices/{invoice['id']}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    review = confirmed.json()["review"]
    assert review["state"] == "confirmed" and review["by"] == me["id"] and review["at"]
    assert [r["code"] for r in review["reasons"]] == ["validation_warning"]
    assert client.post(f"/invoices/{invoice['id']}/confirm").json()["review"]["at"] == review["at"]  # idempotent

    client.post(f"/invoices/{invoice['id']}/reprocess")
    busy = client.post(f"/invoices/{invoice['id']}/confirm")
    if busy.status_code == 409:  # caught it before the watcher finished
        assert "processed or failed" in busy.json()["detail"]
    else:
        assert busy.status_code == 200 and busy.json()["status"] == "processed"


def test_confirm_someone_elses_invoice_is_404(stack):
    owner, stranger = sign_up(stack.url), sign_up(stack.url)
    invoice = finished(owner, scripted_jpeg("low"))
    response = stranger.post(f"/invoices/{invoice['id']}/confirm")
    assert response.status_code == 404 and response.json()["detail"] == "No such invoice"
    assert stranger.get("/invoices", params={"review": "needs_review"}).json()["items"] == []


def test_list_filters_by_review_state(stack):
    client = sign_up(stack.url)
    doubtful = finished(client, scripted_jpeg("low"))
    fine = finished(client, scripted_jpeg("ok"))
    confirmed = finished(client, scripted_jpeg("warn"))
    client.post(f"/invoices/{confirmed['id']}/confirm")
    ids = {state: [i["id"] for i in client.get("/invoices", params={"review": state}).json()["items"]]
           for state in ("needs_review", "not_needed", "confirmed")}
    assert ids == {"needs_review": [doubtful["id"]], "not_needed": [fine["id"]], "confirmed": [confirmed["id"]]}
    bad = client.get("/invoices", params={"review": "maybe"})
    assert bad.status_code == 422


async def test_confirm_reaches_other_pages_as_invoice_updated(stack):
    client = sign_up(stack.url)
    invoice = finished(client, scripted_jpeg("low"))
    token = client.headers["Authorization"].removeprefix("Bearer ")
    events: asyncio.Queue = asyncio.Queue()
    sio = socketio.AsyncClient()
    sio.on("invoice.updated", lambda payload: events.put_nowait(payload))
    await sio.connect(stack.url, auth={"token": token}, transports=["websocket"])
    try:
        await asyncio.sleep(0.3)
        response = await asyncio.to_thread(client.post, f"/invoices/{invoice['id']}/confirm")
        assert response.status_code == 200
        payload = await asyncio.wait_for(events.get(), 10)
        assert payload["id"] == invoice["id"] and payload["fields_changed"] == ["review"]
    finally:
        await sio.disconnect()

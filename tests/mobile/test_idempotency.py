"""`Idempotency-Key` on both upload routes, over HTTP against a real API and database."""

from __future__ import annotations

import base64
import uuid
from concurrent.futures import ThreadPoolExecutor

from pymongo import MongoClient

from tests.factories import invoice_jpeg, register_org


def _json_upload(account, data: bytes, key: str | None):  # noqa: ANN001, ANN202
    headers = {"Idempotency-Key": key} if key else {}
    return account.client.post("/invoices", headers=headers,
                               json={"filename": "receipt.jpg", "content_base64": base64.b64encode(data).decode()})


def _multipart_upload(account, data: bytes, key: str | None):  # noqa: ANN001, ANN202
    headers = {"Idempotency-Key": key} if key else {}
    return account.client.post("/invoices/upload", headers=headers, files={"file": ("scan.jpg", data, "image/jpeg")})


def _count(account) -> int:  # noqa: ANN001
    return len(account.client.get("/invoices", params={"limit": 100}).json()["items"])


def test_same_key_same_bytes_answers_the_first_invoice_on_both_routes(api_url):
    account = register_org(api_url)
    for upload in (_json_upload, _multipart_upload):
        key, data = str(uuid.uuid4()), invoice_jpeg(f"once {uuid.uuid4().hex[:6]}")
        first = upload(account, data, key)
        assert first.status_code == 202, first.text
        assert "idempotent-replayed" not in first.headers
        again = upload(account, data, key)
        assert again.status_code == 202, again.text
        assert again.json()["id"] == first.json()["id"]
        assert again.headers["idempotent-replayed"] == "true"
    assert _count(account) == 2


def test_same_key_other_bytes_is_a_409_that_says_what_to_do(api_url):
    account = register_org(api_url)
    key = str(uuid.uuid4())
    assert _json_upload(account, invoice_jpeg("first"), key).status_code == 202
    other = _json_upload(account, invoice_jpeg("second"), key)
    assert other.status_code == 409
    assert "another file" in other.json()["detail"]
    assert _count(account) == 1


def test_keys_belong_to_one_user(api_url):
    one, two = register_org(api_url), register_org(api_url)
    key, data = str(uuid.uuid4()), invoice_jpeg("shared key")
    first = _json_upload(one, data, key).json()
    second = _json_upload(two, data, key)
    assert second.status_code == 202 and second.json()["id"] != first["id"]


def test_racing_requests_with_one_key_write_one_invoice(api_url):
    account = register_org(api_url)
    key, data = str(uuid.uuid4()), invoice_jpeg("race")
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: _json_upload(account, data, key), range(6)))
    assert {a.status_code for a in answers} <= {202, 409}
    ids = {a.json()["id"] for a in answers if a.status_code == 202}
    assert len(ids) == 1
    assert _count(account) == 1


def test_a_deleted_invoice_is_not_brought_back_by_its_key(api_url):
    account = register_org(api_url)
    key, data = str(uuid.uuid4()), invoice_jpeg("delete me")
    invoice = _json_upload(account, data, key).json()
    assert account.client.delete(f"/invoices/{invoice['id']}").status_code == 204
    again = _json_upload(account, data, key)
    assert again.status_code == 409 and "deleted" in again.json()["detail"]


def test_a_bad_key_is_a_422(api_url):
    account = register_org(api_url)
    response = _json_upload(account, invoice_jpeg("bad key"), "short")
    assert response.status_code == 422


def test_keys_are_kept_with_a_ttl_index(api_url, mongo_uri):
    account = register_org(api_url)
    _json_upload(account, invoice_jpeg("ttl"), str(uuid.uuid4()))
    with MongoClient(mongo_uri) as client:
        ttl = [index for name in client.list_database_names() if name.startswith("mobile_")
               for index in client[name].idempotency_keys.list_indexes() if "expireAfterSeconds" in index]
    assert ttl and all(index["key"] == {"expires_at": 1} for index in ttl)


def test_the_header_and_the_409_are_in_the_openapi_document(api_url):
    import httpx
    document = httpx.get(f"{api_url}/openapi.json").json()
    for path in ("/api/v1/invoices", "/api/v1/invoices/upload"):
        operation = document["paths"][path]["post"]
        assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in operation["parameters"])
        assert "409" in operation["responses"]

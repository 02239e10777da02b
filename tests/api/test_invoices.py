"""Invoices against a real API process on a real database: upload both ways, list, read, correct, delete."""

from __future__ import annotations

import base64
import hashlib

import pytest
from bson import ObjectId
from pymongo import MongoClient

from tests.factories import add_employee, invoice_jpeg, upload_json


def test_json_upload_is_accepted_pending_and_stored_once_as_binary(api_url, new_org, mongo_uri):
    admin = new_org()
    data = invoice_jpeg()
    response = upload_json(admin, data, content_type="image/png")
    assert response.status_code == 202, response.text
    invoice = response.json()
    assert invoice["status"] == "pending"
    assert invoice["content_type"] == "image/jpeg"  # the bytes' own type wins
    assert invoice["size"] == len(data) and invoice["sha256"] == hashlib.sha256(data).hexdigest()
    assert invoice["owner_id"] == admin.user["id"] and invoice["org_id"] == admin.user["org_id"]
    assert invoice["duplicate_of"] is None

    downloaded = admin.client.get(f"/invoices/{invoice['id']}/file")
    assert downloaded.status_code == 200
    assert downloaded.content == data and downloaded.headers["content-type"] == "image/jpeg"

    with MongoClient(mongo_uri) as client:
        found = [
            (doc, list(client[name]["invoice_files.chunks"].find({"files_id": doc["file_id"]})))
            for name in client.list_database_names()
            if (doc := client[name].invoices.find_one({"_id": ObjectId(invoice["id"])}))
        ]
    [(doc, chunks)] = found
    assert "content_base64" not in doc and all(not isinstance(v, str) or len(v) < 1000 for v in doc.values())
    assert b"".join(bytes(c["data"]) for c in chunks) == data


def test_data_url_prefix_and_line_breaks_are_accepted(api_url, new_org):
    admin = new_org()
    b64 = base64.encodebytes(invoice_jpeg("data url")).decode()  # with newlines every 76 chars
    response = admin.client.post("/invoices", json={"filename": "a.jpg", "content_base64": f"data:image/jpeg;base64,{b64}"})
    assert response.status_code == 202, response.text


def test_multipart_upload_and_duplicate_detection(api_url, new_org):
    admin = new_org()
    data = invoice_jpeg("duplicate me")
    first = admin.client.post("/invoices/upload", files={"file": ("scan.jpg", data, "image/jpeg")})
    assert first.status_code == 202, first.text
    second = upload_json(admin, data)
    assert second.status_code == 202
    assert second.json()["duplicate_of"] == first.json()["id"]
    # Another organization's identical upload is not a duplicate of ours.
    assert upload_json(new_org(), data).json()["duplicate_of"] is None


def test_visibility_employee_admin_other_org(api_url, new_org):
    admin = new_org()
    alice, bob = add_employee(admin, api_url), add_employee(admin, api_url)
    outsider = new_org()
    mine = upload_json(alice, invoice_jpeg("alice")).json()
    upload_json(bob, invoice_jpeg("bob"))

    assert [i["id"] for i in alice.client.get("/invoices").json()["items"]] == [mine["id"]]
    assert len(admin.client.get("/invoices").json()["items"]) == 2
    for stranger in (bob, outsider):
        for method, path in (("GET", ""), ("GET", "/file"), ("PATCH", ""), ("DELETE", ""), ("POST", "/reprocess")):
            kwargs = {"json": {"fields": {"total": "1.00"}}} if method == "PATCH" else {}
            response = stranger.client.request(method, f"/invoices/{mine['id']}{path}", **kwargs)
            assert response.status_code == 404, (method, path, response.text)
    assert outsider.client.get("/invoices").json()["items"] == []
    assert admin.client.get(f"/invoices/{mine['id']}").status_code == 200


def test_list_filters_search_and_cursor_pagination(api_url, new_org):
    admin = new_org()
    ids = [upload_json(admin, invoice_jpeg(f"n{i}"), filename=f"Rechnung-Müller-{i:02d}.jpg").json()["id"]
           for i in range(7)]
    upload_json(admin, invoice_jpeg("other"), filename="taxi.jpg")

    seen, cursor = [], None
    while True:
        page = admin.client.get("/invoices", params={"limit": 3, "q": "muller", **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200
        body = page.json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    oldest_first = admin.client.get("/invoices", params={"sort": "created_at", "q": "rech"}).json()["items"]
    assert [i["id"] for i in oldest_first] == ids
    assert admin.client.get("/invoices", params={"q": "TAXI"}).json()["items"][0]["filename"] == "taxi.jpg"
    assert admin.client.get("/invoices", params={"status": "processed"}).json()["items"] == []
    assert len(admin.client.get("/invoices", params={"status": "pending"}).json()["items"]) == 8
    assert admin.client.get("/invoices", params={"date_from": "2999-01-01T00:00:00Z"}).json()["items"] == []
    assert admin.client.get("/invoices", params={"limit": 101}).status_code == 422
    assert admin.client.get("/invoices", params={"cursor": "not-a-cursor"}).status_code == 422


def test_patch_keeps_machine_and_person_values_side_by_side(api_url, new_org):
    admin = new_org()
    invoice = upload_json(admin, invoice_jpeg()).json()
    patched = admin.client.patch(f"/invoices/{invoice['id']}", json={"fields": {
        "total": "118.00", "invoice_date": "2024-03-01", "vendor_name": "ACME GmbH", "currency": "eur"}})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["status"] == "pending"  # a correction never changes status
    assert body["corrections"]["total"]["value"] == "118.00"
    assert body["corrections"]["total"]["by"] == admin.user["id"]
    assert body["values"]["total"] == "118.00" and body["values"]["currency"] == "EUR"
    assert body["extraction"] is None
    reverted = admin.client.patch(f"/invoices/{invoice['id']}", json={"fields": {"total": None}}).json()
    assert "total" not in reverted["corrections"]
    assert admin.client.get("/invoices", params={"q": "acme"}).json()["items"][0]["id"] == invoice["id"]

    for bad in ({"fields": {"total": "twelve"}}, {"fields": {"colour": "red"}}, {"fields": {"invoice_date": "31.02.2024"}},
                {"fields": {}}, {"fields": {"currency": "EURO"}}, {"other": 1}):
        response = admin.client.patch(f"/invoices/{invoice['id']}", json=bad)
        assert response.status_code == 422, bad
        assert response.json()["detail"]


def test_replace_file_and_reprocess_go_back_to_pending(api_url, new_org):
    admin = new_org()
    invoice = upload_json(admin, invoice_jpeg("first")).json()
    new = invoice_jpeg("second, sharper photo")
    replaced = admin.client.put(f"/invoices/{invoice['id']}/file", files={"file": ("better.jpg", new, "image/jpeg")})
    assert replaced.status_code == 202, replaced.text
    assert replaced.json()["status"] == "pending" and replaced.json()["sha256"] == hashlib.sha256(new).hexdigest()
    assert admin.client.get(f"/invoices/{invoice['id']}/file").content == new
    again = admin.client.post(f"/invoices/{invoice['id']}/reprocess")
    assert again.status_code == 202 and again.json()["status"] == "pending"


def test_delete_removes_invoice_and_file(api_url, new_org):
    admin = new_org()
    invoice = upload_json(admin, invoice_jpeg()).json()
    assert admin.client.delete(f"/invoices/{invoice['id']}").status_code == 204
    assert admin.client.get(f"/invoices/{invoice['id']}").status_code == 404
    assert admin.client.get(f"/invoices/{invoice['id']}/file").status_code == 404
    assert admin.client.delete(f"/invoices/{invoice['id']}").status_code == 404


@pytest.mark.parametrize("path", ["/invoices/not-an-id", "/invoices/123"])
def test_malformed_ids_are_422(api_url, new_org, path):
    assert new_org().client.get(path).status_code == 422

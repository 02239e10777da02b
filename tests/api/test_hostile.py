"""Hostile and careless use of the API (issue 10): each edge that answered 500, leaked or gave way."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import httpx
import pytest
from bson import ObjectId
from PIL import Image
from pymongo import MongoClient

from core.security import create_token
from tests.factories import PASSWORD, add_employee, invoice_jpeg, login, register_org, ubl_invoice, upload_json
from tests.support import TEST_JWT_SECRET as SECRET


# --- 5: answers that were 500 -------------------------------------------------------------------------------

def test_cursor_whose_id_is_not_an_object_id_is_422(api_url, new_org):
    import base64
    import json

    cursor = base64.urlsafe_b64encode(json.dumps({"v": "2024-01-01T00:00:00+00:00", "id": "zz"}).encode())
    response = new_org().client.get("/invoices", params={"cursor": cursor.decode().rstrip("=")})
    assert response.status_code == 422, response.text
    assert "next_cursor" in response.json()["detail"]


@pytest.mark.parametrize("name", ["", "..", "corrections.x", "$set"])
def test_patch_with_an_unknown_or_empty_field_name_is_422(api_url, new_org, name):
    admin = new_org()
    invoice = upload_json(admin, invoice_jpeg(f"patch {name}")).json()
    for value in (None, "x"):
        response = admin.client.patch(f"/invoices/{invoice['id']}", json={"fields": {name: value}})
        assert response.status_code == 422, response.text
        assert "not a field that can be corrected" in response.json()["detail"] or "fields" in response.text


def test_money_beyond_decimal128_and_absurd_magnitudes_are_422(api_url, new_org):
    admin = new_org()
    invoice = upload_json(admin, invoice_jpeg("money")).json()
    for total, rule in (("1" * 40, "significant digits"), ("1E+5000", "significant digits"),
                        ("0.000001", "after the decimal point"), ("12345678901234567890", "significant digits")):
        response = admin.client.patch(f"/invoices/{invoice['id']}", json={"fields": {"total": total}})
        assert response.status_code == 422, (total, response.text)
        assert rule in response.json()["detail"], response.text
    assert admin.client.patch(f"/invoices/{invoice['id']}", json={"fields": {"total": "1234.5678"}}).status_code == 200


def test_token_whose_subject_is_not_an_object_id_is_401(api_url):
    token, _ = create_token(secret=SECRET, algorithm="HS256", subject="not-an-id", org_id="x", role="admin",
                            token_type="access", lifetime=timedelta(minutes=5))
    response = httpx.get(f"{api_url}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert "names no user" in response.json()["detail"]


# --- 4: size limits on what a person writes -------------------------------------------------------------------

def test_text_line_items_and_their_fields_have_limits(api_url, new_org):
    admin = new_org()
    invoice = upload_json(admin, invoice_jpeg("limits")).json()
    path = f"/invoices/{invoice['id']}"
    long_name = admin.client.patch(path, json={"fields": {"vendor_name": "A" * 1_000_001}})
    assert long_name.status_code == 422 and "at most 1000 characters" in long_name.json()["detail"]
    items = [{"description": "x", "amount": "1.00"}] * 501
    too_many = admin.client.patch(path, json={"fields": {"line_items": items}})
    assert too_many.status_code == 422 and "at most 500 lines" in too_many.json()["detail"]
    long_line = admin.client.patch(path, json={"fields": {"line_items": [{"description": "d" * 5000}]}})
    assert long_line.status_code == 422 and "characters" in long_line.json()["detail"]
    fine = admin.client.patch(path, json={"fields": {"vendor_name": "ACME", "line_items": items[:500]}})
    assert fine.status_code == 200, fine.text


# --- 6, 7: stored filenames and the headers of an original --------------------------------------------------

def test_hostile_filenames_are_cleaned_kept_escaped_and_downloaded_as_attachment(api_url, new_org):
    admin = new_org()
    sent = "evil\r\nSet-Cookie: x=1\x00name\u202e.jpg\\"
    response = upload_json(admin, invoice_jpeg("filename"), filename=sent)  # JSON carries the bytes as they are
    assert response.status_code == 202, response.text
    invoice = response.json()
    assert all(c not in invoice["filename"] for c in "\r\n\x00\\/\u202e")
    assert invoice["original_filename"] == "evil\\r\\nSet-Cookie: x=1\\x00name\\u202e.jpg\\"
    download = admin.client.get(f"/invoices/{invoice['id']}/file")
    assert download.status_code == 200
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert "\r" not in disposition and "\n" not in disposition
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in download.headers["content-security-policy"]
    assert "set-cookie" not in download.headers


def test_unicode_filename_round_trips_through_filename_star(api_url, new_org):
    from urllib.parse import unquote

    admin = new_org()
    invoice = upload_json(admin, invoice_jpeg("unicode"), filename="Rechnung März ½.jpg").json()
    disposition = admin.client.get(f"/invoices/{invoice['id']}/file").headers["content-disposition"]
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "Rechnung März ½.jpg"


def test_token_answers_are_not_stored_and_no_server_banner(api_url, new_org):
    admin = new_org()
    response = httpx.post(f"{api_url}/api/v1/auth/login", data={"username": admin.email, "password": PASSWORD})
    assert response.headers["cache-control"] == "no-store"
    assert "server" not in response.headers


# --- 8: passwords and secrets --------------------------------------------------------------------------------

@pytest.mark.parametrize("password, rule", [
    ("1234567890", "common"), (" " * 10, "too simple"), ("\x00" * 10, "control characters"),
    ("Password123", "common"), ("abcdefghijkl", "common"), (None, "email"),
])
def test_weak_passwords_are_refused_with_the_rule(api_url, password, rule):
    email = f"weak-{uuid.uuid4().hex[:6]}@example.com"
    response = httpx.post(f"{api_url}/api/v1/auth/register", json={
        "email": email, "password": password or email, "name": "W", "organization": "O"})
    assert response.status_code == 422, response.text
    assert rule in response.json()["detail"]


def test_every_byte_of_a_long_password_counts(api_url):
    email = f"long-{uuid.uuid4().hex[:6]}@example.com"
    password = "x7" * 40 + "tail one"
    assert httpx.post(f"{api_url}/api/v1/auth/register", json={
        "email": email, "password": password, "name": "L", "organization": "O"}).status_code == 201
    assert login(api_url, email, password)["access_token"]
    other = httpx.post(f"{api_url}/api/v1/auth/login", data={"username": email, "password": "x7" * 40 + "tail two"})
    assert other.status_code == 401


def test_a_hash_made_before_the_pre_hash_still_verifies_and_is_replaced(api_url, new_org, mongo_uri):
    import bcrypt

    admin = new_org()
    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt()).decode()
    with MongoClient(mongo_uri) as client:
        database = next(client[n] for n in client.list_database_names() if client[n].users.find_one({"email": admin.email}))
        database.users.update_one({"email": admin.email}, {"$set": {"password_hash": legacy}})
        assert login(api_url, admin.email)["access_token"]
        assert database.users.find_one({"email": admin.email})["password_hash"].startswith("$sha256$")


# --- 10: what an answer reveals ------------------------------------------------------------------------------

def test_duplicate_is_named_only_among_invoices_the_caller_can_see(api_url, new_org):
    admin = new_org()
    alice, bob = add_employee(admin, api_url), add_employee(admin, api_url)
    data = invoice_jpeg(f"dup {uuid.uuid4().hex}")
    first = upload_json(alice, data).json()
    second = upload_json(bob, data).json()
    assert second["duplicate_of"] is None  # alice's invoice is not bob's to know of
    assert upload_json(admin, data).json()["duplicate_of"] in (first["id"], second["id"])  # the organization's
    assert upload_json(alice, data).json()["duplicate_of"] == first["id"]


def test_ready_details_and_metrics_need_a_token(start_api, start_process, mongo_uri, db_name):
    url = start_api(METRICS_TOKEN="metrics-token-for-tests-0123456789")
    public = httpx.get(f"{url}/ready").json()
    assert public["status"] == "ok" and "watchers" not in public
    assert httpx.get(f"{url}/metrics").status_code == 401
    scraped = httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer metrics-token-for-tests-0123456789"})
    assert scraped.status_code == 200 and "python_info" in scraped.text
    detailed = httpx.get(f"{url}/ready", headers={"Authorization": "Bearer metrics-token-for-tests-0123456789"})
    assert "watchers" in detailed.json()
    admin = register_org(url)
    as_admin = httpx.get(f"{url}/ready", headers={"Authorization": f"Bearer {admin.tokens['access_token']}"})
    assert "watchers" in as_admin.json()
    employee = add_employee(admin, url)
    as_employee = httpx.get(f"{url}/ready", headers={"Authorization": f"Bearer {employee.tokens['access_token']}"})
    assert "watchers" not in as_employee.json()


# --- 9: CORS ---------------------------------------------------------------------------------------------------

def test_cors_any_origin_never_allows_credentials(start_api):
    url = start_api(CORS_ORIGINS="*")
    response = httpx.get(f"{url}/health", headers={"Origin": "https://evil.example"})
    assert response.headers.get("access-control-allow-credentials") != "true"
    listed = start_api(CORS_ORIGINS="https://app.example")
    allowed = httpx.get(f"{listed}/health", headers={"Origin": "https://app.example"})
    assert allowed.headers.get("access-control-allow-credentials") == "true"
    assert "access-control-allow-origin" not in httpx.get(
        f"{listed}/health", headers={"Origin": "https://evil.example"}).headers


# --- 13: page limits for every multi-page type -----------------------------------------------------------------

def test_a_tiff_with_more_frames_than_the_page_limit_is_refused_at_upload(api_url, new_org):
    frames = [Image.new("L", (40, 40), 255) for _ in range(6)]  # the test API allows 5 pages
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:])
    response = upload_json(new_org(), out.getvalue(), filename="many.tiff")
    assert response.status_code == 422, response.text
    assert "6 pages" in response.json()["detail"]


# --- 2: login throttling -------------------------------------------------------------------------------------

def test_own_good_logins_do_not_reopen_guessing_at_another_account(start_api):
    url = start_api(LOGIN_ATTEMPTS_PER_MINUTE="5")
    victim, attacker = register_org(url), register_org(url)
    codes = []
    for attempt in range(12):
        guess = httpx.post(f"{url}/api/v1/auth/login", data={"username": victim.email, "password": f"guess {attempt}!"})
        codes.append(guess.status_code)
        if attempt % 3 == 2:  # the attacker's own good login, between guesses
            httpx.post(f"{url}/api/v1/auth/login", data={"username": attacker.email, "password": PASSWORD})
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}


def test_forwarded_for_is_believed_only_from_trusted_proxies(start_api):
    untrusted = start_api(LOGIN_ATTEMPTS_PER_MINUTE="3")
    codes = [httpx.post(f"{untrusted}/api/v1/auth/login", data={"username": f"u{i}@example.com", "password": "x" * 10},
                        headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(5)]
    assert codes == [401, 401, 401, 429, 429]  # a new header per try changes nothing: it is the peer that counts

    behind_proxy = start_api(LOGIN_ATTEMPTS_PER_MINUTE="3", TRUSTED_PROXIES="127.0.0.1/32")
    codes = [httpx.post(f"{behind_proxy}/api/v1/auth/login", data={"username": f"p{i}@example.com", "password": "x" * 10},
                        headers={"X-Forwarded-For": f"203.0.113.{i % 2}"}).status_code for i in range(8)]
    assert codes.count(429) == 2  # two clients behind the proxy, three failures each before their own 429


def test_registration_is_throttled_per_address(start_api):
    url = start_api(REGISTRATIONS_PER_HOUR="3")
    codes = [httpx.post(f"{url}/api/v1/auth/register", json={
        "email": f"r{i}-{uuid.uuid4().hex[:6]}@example.com", "password": PASSWORD, "name": "R", "organization": "O",
    }).status_code for i in range(4)]
    assert codes == [201, 201, 201, 429]


# --- 12: a cap on live streams per user ----------------------------------------------------------------------

def test_live_streams_per_user_are_capped(start_api):
    url = start_api(SSE_CONNECTIONS_PER_USER="2")
    admin = register_org(url)
    headers = {"Authorization": f"Bearer {admin.tokens['access_token']}"}
    with httpx.Client(timeout=10) as client:
        streams = [client.stream("GET", f"{url}/api/v1/events", headers=headers) for _ in range(2)]
        opened = [stream.__enter__() for stream in streams]
        try:
            assert all(response.status_code == 200 for response in opened)
            lines = [response.iter_lines() for response in opened]  # kept: a dropped iterator closes its stream
            assert [next(line) for line in lines] == ["retry: 3000"] * 2  # the first frame: both are registered
            third = httpx.get(f"{url}/api/v1/events", headers=headers, timeout=10)
            assert third.status_code == 429 and "live streams" in third.json()["detail"]
        finally:
            for stream in streams:
                stream.__exit__(None, None, None)


def test_object_ids_of_other_organizations_are_not_found(api_url, new_org):
    assert new_org().client.get(f"/invoices/{ObjectId()}").status_code == 404


def test_xml_e_invoices_are_accepted_and_other_xml_is_refused(api_url, new_org):
    admin = new_org()
    accepted = upload_json(admin, ubl_invoice(f"UBL-{uuid.uuid4().hex[:6]}"), filename="invoice.xml")
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["content_type"] == "application/xml"
    note = upload_json(admin, b'<?xml version="1.0"?><note>hello</note>', filename="note.xml")
    assert note.status_code == 415 and "not an e-invoice" in note.json()["detail"]
    entities = upload_json(admin, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', filename="x.xml")
    assert entities.status_code == 415 and "document type declaration" in entities.json()["detail"]

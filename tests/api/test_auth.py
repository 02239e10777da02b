"""Auth against a real API process: register, login, refresh rotation, logout, roles."""

from __future__ import annotations

from datetime import timedelta

import httpx
import jwt

from core.security import create_token
from tests.factories import PASSWORD, add_employee, login
from tests.support import base_env

SECRET = base_env("", "", "")["JWT_SECRET"]  # type: ignore[arg-type]


def test_register_creates_org_admin_with_normalised_email(api_url, new_org):
    admin = new_org()
    assert admin.user["role"] == "admin"
    assert admin.user["email"] == admin.email
    me = admin.client.get("/auth/me")
    assert me.status_code == 200 and me.json()["email"] == admin.email


def test_register_twice_is_a_conflict(api_url, new_org):
    admin = new_org()
    again = httpx.post(f"{api_url}/api/v1/auth/register", json={
        "email": admin.email.upper(), "password": PASSWORD, "name": "X", "organization": "Y"})
    assert again.status_code == 409
    assert "exists" in again.json()["detail"]


def test_short_password_states_the_rule(api_url):
    response = httpx.post(f"{api_url}/api/v1/auth/register", json={
        "email": "short@example.com", "password": "123456789", "name": "X", "organization": "Y"})
    assert response.status_code == 422
    assert "at least 10 characters" in response.text


def test_wrong_password_and_unknown_email_get_the_same_answer(api_url, new_org):
    admin = new_org()
    wrong = httpx.post(f"{api_url}/api/v1/auth/login", data={"username": admin.email, "password": "wrong password!"})
    unknown = httpx.post(f"{api_url}/api/v1/auth/login", data={"username": "nobody@example.com", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_login_is_case_insensitive_on_email(api_url, new_org):
    admin = new_org()
    assert login(api_url, admin.email.upper())["token_type"] == "bearer"


def test_refresh_rotates_and_a_used_token_no_longer_works(api_url, new_org):
    admin = new_org()
    first = admin.tokens["refresh_token"]
    rotated = httpx.post(f"{api_url}/api/v1/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    body = rotated.json()
    assert body["expires_in"] == 15 * 60 and body["refresh_token"] != first
    reused = httpx.post(f"{api_url}/api/v1/auth/refresh", json={"refresh_token": first})
    assert reused.status_code == 401
    # Reuse of a used token revokes the whole family: the rotated one dies too.
    assert httpx.post(f"{api_url}/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]}).status_code == 401


def test_logout_revokes_the_refresh_token(api_url, new_org):
    admin = new_org()
    token = admin.tokens["refresh_token"]
    assert httpx.post(f"{api_url}/api/v1/auth/logout", json={"refresh_token": token}).status_code == 204
    assert httpx.post(f"{api_url}/api/v1/auth/refresh", json={"refresh_token": token}).status_code == 401


def test_missing_expired_tampered_and_wrong_type_tokens_are_401(api_url, new_org):
    admin = new_org()
    me = f"{api_url}/api/v1/auth/me"
    assert httpx.get(me).status_code == 401
    expired, _ = create_token(secret=SECRET, algorithm="HS256", subject=admin.user["id"], org_id=admin.user["org_id"],
                              role="admin", token_type="access", lifetime=timedelta(seconds=-5))
    tampered = admin.tokens["access_token"][:-4] + ("AAAA" if not admin.tokens["access_token"].endswith("AAAA") else "BBBB")
    forged = jwt.encode({"sub": admin.user["id"], "type": "access", "exp": 9999999999}, "a-guessed-secret-that-is-long-enough-0123", "HS256")
    for token in (expired, tampered, forged, admin.tokens["refresh_token"], "garbage"):
        response = httpx.get(me, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert response.json()["detail"]


def test_admin_manages_users_and_employee_is_refused(api_url, new_org):
    admin = new_org()
    employee = add_employee(admin, api_url)
    listed = admin.client.get("/users").json()
    assert {u["email"] for u in listed} == {admin.email, employee.email}
    assert employee.client.get("/users").status_code == 403
    assert employee.client.post("/users", json={"email": "x@example.com", "password": PASSWORD, "name": "x"}).status_code == 403

    other = new_org()
    assert other.client.patch(f"/users/{employee.user['id']}", json={"role": "admin"}).status_code == 404

    disabled = admin.client.patch(f"/users/{employee.user['id']}", json={"disabled": True})
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert employee.client.get("/auth/me").status_code == 401  # takes effect at once
    last_admin = admin.client.patch(f"/users/{admin.user['id']}", json={"role": "employee"})
    assert last_admin.status_code == 409


def test_health_and_ready(api_url):
    assert httpx.get(f"{api_url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{api_url}/ready")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"
    assert ready.json()["realtime_stream"] == "open"

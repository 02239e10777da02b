"""The web app's session: the refresh token as an HttpOnly cookie, refresh guarded by a header, password change."""

from __future__ import annotations

import httpx

from tests.factories import PASSWORD, login

CSRF = {"X-Requested-With": "invoicer"}
NEW_PASSWORD = "a brand new passphrase"


def _browser(api_url: str, email: str, password: str = PASSWORD) -> tuple[httpx.Client, dict]:
    """A client that keeps cookies, as a browser does, signed in by the password form."""
    browser = httpx.Client(base_url=f"{api_url}/api/v1", timeout=30)
    response = browser.post("/auth/login", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return browser, response.json()


def test_login_sets_an_httponly_strict_cookie_scoped_to_auth(api_url, new_org):
    admin = new_org()
    response = httpx.post(f"{api_url}/api/v1/auth/login", data={"username": admin.email, "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith(f"invoicer_refresh={response.json()['refresh_token']};")
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "Path=/api/v1/auth" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "secure" not in attributes  # ENV=test serves plain http; any other ENV but development adds Secure


def test_refresh_with_the_cookie_needs_the_csrf_header(api_url, new_org):
    browser, tokens = _browser(api_url, new_org().email)
    refused = browser.post("/auth/refresh")
    assert refused.status_code == 403
    assert "X-Requested-With: invoicer" in refused.json()["detail"]

    refreshed = browser.post("/auth/refresh", headers=CSRF)
    assert refreshed.status_code == 200, refreshed.text
    new_refresh = refreshed.json()["refresh_token"]
    assert new_refresh != tokens["refresh_token"]
    assert browser.cookies.get("invoicer_refresh") == new_refresh  # rotated in the cookie too
    assert browser.get("/auth/me", headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"}).status_code == 200
    # The rotated-away token no longer works, from the body either.
    assert httpx.post(f"{api_url}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_refresh_without_body_or_cookie_is_401_with_a_message(api_url):
    response = httpx.post(f"{api_url}/api/v1/auth/refresh", headers=CSRF)
    assert response.status_code == 401
    assert "refresh_token" in response.json()["detail"]


def test_the_mobile_body_flow_is_unchanged(api_url, new_org):
    admin = new_org()
    response = httpx.post(f"{api_url}/api/v1/auth/refresh", json={"refresh_token": admin.tokens["refresh_token"]})
    assert response.status_code == 200, response.text
    assert set(response.json()) >= {"access_token", "refresh_token", "token_type", "expires_in"}
    logout = httpx.post(f"{api_url}/api/v1/auth/logout", json={"refresh_token": response.json()["refresh_token"]})
    assert logout.status_code == 204


def test_logout_with_the_cookie_revokes_it_and_clears_it(api_url, new_org):
    browser, tokens = _browser(api_url, new_org().email)
    response = browser.post("/auth/logout", headers=CSRF)
    assert response.status_code == 204
    assert "invoicer_refresh=" in response.headers["set-cookie"] and "Max-Age=0" in response.headers["set-cookie"]
    assert browser.cookies.get("invoicer_refresh") is None
    assert httpx.post(f"{api_url}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_password_change_keeps_this_session_and_revokes_the_others(api_url, new_org):
    admin = new_org()
    phone = login(api_url, admin.email)  # another session, as the mobile app holds it
    browser, tokens = _browser(api_url, admin.email)
    auth = {"Authorization": f"Bearer {tokens['access_token']}", **CSRF}

    wrong = browser.post("/auth/password", json={"old_password": "not my password", "new_password": NEW_PASSWORD},
                         headers=auth)
    assert wrong.status_code == 403 and "current password" in wrong.json()["detail"]
    short = browser.post("/auth/password", json={"old_password": PASSWORD, "new_password": "short"}, headers=auth)
    assert short.status_code == 422 and "at least" in short.json()["detail"]

    changed = browser.post("/auth/password", json={"old_password": PASSWORD, "new_password": NEW_PASSWORD},
                           headers=auth)
    assert changed.status_code == 204, changed.text
    # The other session's refresh token is revoked; this browser's cookie still refreshes.
    assert httpx.post(f"{api_url}/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]}).status_code == 401
    assert browser.post("/auth/refresh", headers=CSRF).status_code == 200
    assert httpx.post(f"{api_url}/api/v1/auth/login", data={"username": admin.email, "password": PASSWORD}).status_code == 401
    login(api_url, admin.email, NEW_PASSWORD)


def test_password_change_keeps_the_session_named_in_the_body(api_url, new_org):
    admin = new_org()
    other = login(api_url, admin.email)
    response = admin.client.post("/auth/password", json={
        "old_password": PASSWORD, "new_password": NEW_PASSWORD, "refresh_token": admin.tokens["refresh_token"]})
    assert response.status_code == 204, response.text
    assert httpx.post(f"{api_url}/api/v1/auth/refresh", json={"refresh_token": admin.tokens["refresh_token"]}).status_code == 200
    assert httpx.post(f"{api_url}/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}).status_code == 401


def test_the_new_routes_are_in_openapi_with_their_statuses(api_url):
    paths = httpx.get(f"{api_url}/openapi.json").json()["paths"]
    assert {"204", "401", "403", "422"} <= set(paths["/api/v1/auth/password"]["post"]["responses"])
    assert {"200", "401", "403"} <= set(paths["/api/v1/auth/refresh"]["post"]["responses"])
    assert {"204", "401", "403"} <= set(paths["/api/v1/auth/logout"]["post"]["responses"])

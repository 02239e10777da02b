"""Signing up, in and out in a real browser; what the server answers for the app's pages."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.web.support import PASSWORD, shot, sign_in, sign_up


def test_pages_have_security_headers_and_api_paths_keep_their_meaning(stack):
    page = httpx.get(f"{stack.base}/invoices/some/deep/link")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"]
    asset = next(part.split('"')[0] for part in page.text.split('src="')[1:] if part.startswith("/assets/"))
    cached = httpx.get(f"{stack.base}{asset}")
    assert cached.status_code == 200
    assert cached.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert cached.headers["content-encoding"] == "gzip"
    unknown = httpx.get(f"{stack.base}/api/v1/no-such-route")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/json"
    assert httpx.get(f"{stack.base}/health").json() == {"status": "ok"}
    assert httpx.get(f"{stack.base}/docs").status_code == 200


def test_sign_up_sign_out_back_button_and_sign_in(stack, browser_context):
    context = browser_context()
    page = context.new_page()
    page.goto(f"{stack.base}/signin")
    # The page is a lazy chunk: shoot the form, not the loading line before it.
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "01-sign-in")
    email = sign_up(page, stack.base, name="Ann Admin")
    expect(page.get_by_role("heading", name="Invoices of your organization")).to_be_visible()
    # The refresh token is an HttpOnly cookie scoped to the auth routes; nothing sits in storage.
    cookies = {c["name"]: c for c in context.cookies()}
    refresh = next(c for c in cookies.values() if c["httpOnly"])
    assert refresh["path"] == "/api/v1/auth" and refresh["sameSite"] == "Strict"
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0
    assert page.evaluate("() => document.cookie") == ""

    # A reload keeps the session (refreshed from the cookie), a deep link too.
    page.goto(f"{stack.base}/account")
    expect(page.get_by_text(email)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin")
    page.go_back()
    page.wait_for_url("**/signin**")
    expect(page.get_by_text(email)).to_have_count(0)

    # Wrong password: the API's own message.
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Incorrect email or password")

    sign_in(page, stack.base, email)
    expect(page.get_by_role("link", name="Dashboard")).to_be_visible()


def test_a_deep_link_survives_sign_in_and_a_revoked_session_sends_you_to_sign_in(stack, browser_context):
    email, token = stack.register(name="Rita Revoked")
    context = browser_context()
    page = context.new_page()
    page.goto(f"{stack.base}/review")
    page.wait_for_url("**/signin?next=%2Freview")
    sign_in(page, stack.base, email, path="/review", here=True)
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()

    # Changing the password elsewhere revokes this browser's refresh chain.
    changed = httpx.post(f"{stack.base}/api/v1/auth/password", headers={"Authorization": f"Bearer {token}"},
                         json={"old_password": PASSWORD, "new_password": PASSWORD + "-2"})
    assert changed.status_code == 204, changed.text
    # The app's next refresh (here: the reload's) finds the chain revoked: back to sign-in, with the place kept.
    page.goto(f"{stack.base}/review")
    page.wait_for_url("**/signin**")
    assert "next=%2Freview" in page.url


def test_a_disabled_account_is_sent_to_sign_in_at_its_next_request(stack, browser_context):
    _, admin = stack.register(name="Dora Disabler")
    email, _ = stack.create_user(admin, role="employee", name="Walt Walkedout")
    page = browser_context().new_page()
    sign_in(page, stack.base, email)
    expect(page.get_by_role("heading", name="Your invoices")).to_be_visible()
    user_id = next(u["id"] for u in stack.get(admin, "/users") if u["email"] == email)
    disabled = httpx.patch(f"{stack.base}/api/v1/users/{user_id}", headers={"Authorization": f"Bearer {admin}"},
                           json={"disabled": True})
    assert disabled.status_code == 200, disabled.text
    # The live connection is dropped, or the next request answers 401; either way the silent refresh is refused
    # too: back to sign-in, the place kept and the reason shown.
    try:
        page.get_by_role("link", name="Review").click(timeout=3000)
    except PlaywrightError:
        pass  # already on its way to sign-in
    page.wait_for_url(re.compile(r"/signin\?next=%2F(invoices|review)&reason=revoked"))
    expect(page.get_by_text("Your session was ended")).to_be_visible()
    shot(page, "23-session-ended")

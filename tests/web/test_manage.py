"""Looking after things in the browser: people, your password, and what can be done to one invoice."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.support import EINVOICE_PDF, PASSWORD, RECEIPT, TEXT_PDF, shot, sign_in, sign_up, start_stack


def test_users_add_change_role_disable_and_the_last_admin_guard(stack, browser_context):
    page = browser_context().new_page()
    sign_up(page, stack.base, name="Uma Admin", organization="People Inc")
    page.get_by_role("link", name="Users").click()
    form = page.get_by_role("region", name="Add a person")
    form.get_by_label("Name").fill("Ed Employee")
    form.get_by_label("Email").fill("ed@example.com")
    form.get_by_label("Initial password").fill(PASSWORD)
    form.get_by_role("button", name="Add").click()
    expect(page.get_by_text("ed@example.com can now sign in.")).to_be_visible()
    page.get_by_label("Role of ed@example.com").select_option("admin")
    expect(page.get_by_label("Role of ed@example.com")).to_have_value("admin")
    page.get_by_label("Role of ed@example.com").select_option("employee")
    page.get_by_role("button", name="Disable ed@example.com").click()
    expect(page.get_by_role("button", name="Enable ed@example.com")).to_be_visible()

    # Making yourself an employee would leave the organization without an admin: the API says so.
    me = page.locator("tr", has_text="Uma Admin")
    me.get_by_role("combobox").select_option("employee")
    expect(page.get_by_role("alert")).to_contain_text("last active admin")
    shot(page, "16-users")


def test_change_your_password(stack, browser_context):
    page = browser_context().new_page()
    email = sign_up(page, stack.base, name="Pat Password")
    page.get_by_role("link", name="Pat Password").click()
    page.get_by_label("Current password").fill("wrong-password-here")
    page.get_by_label("New password").fill(PASSWORD + "-new")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("current password")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill(PASSWORD + "-new")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Password changed.")).to_be_visible()
    shot(page, "17-account")
    assert stack.token(email, PASSWORD + "-new")


def test_invoice_actions_download_reprocess_replace_and_delete(stack, browser_context):
    page = browser_context().new_page()
    email = sign_up(page, stack.base, name="Ivy Invoices")
    invoice = stack.upload(stack.token(email), TEXT_PDF)
    page.goto(f"{stack.base}/invoices/{invoice['id']}")
    detail = page.get_by_test_id("invoice-detail")
    expect(detail).to_have_attribute("data-status", "processed", timeout=180_000)
    expect(page.get_by_test_id("page-image")).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("button", name="Download original").click()
    assert download.value.suggested_filename == TEXT_PDF.name
    assert download.value.path().read_bytes() == TEXT_PDF.read_bytes()

    token = stack.token(email)
    first_result = stack.get(token, f"/invoices/{invoice['id']}")["processed_at"]
    page.get_by_role("button", name="Reprocess").click()
    expect(page.get_by_test_id("invoice-detail")).to_have_attribute("data-status", "processed", timeout=180_000)
    expect(page.get_by_text("Sent back for extraction")).to_have_count(0, timeout=180_000)
    assert stack.get(token, f"/invoices/{invoice['id']}")["processed_at"] != first_result

    page.get_by_label("Replace file").set_input_files(str(EINVOICE_PDF))
    expect(page.locator("[data-testid=field-row][data-field=vendor_name] [data-testid=field-value]")).to_contain_text(
        "Verkehrsbetriebe", timeout=180_000)
    expect(page.locator("[data-testid=field-row][data-field=total]")).to_contain_text("e-invoice XML")
    expect(page.get_by_test_id("page-image")).to_have_count(2)  # the e-invoice has two pages
    shot(page, "18-invoice-einvoice")

    page.get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Yes, delete").click()
    page.wait_for_url("**/invoices")
    expect(page.get_by_text("No invoices here yet.")).to_be_visible()


def test_review_edit_the_next_doubtful_field_from_the_keyboard(stack, browser_context):
    page = browser_context().new_page()
    email = sign_up(page, stack.base, name="Kim Keys")
    token = stack.token(email)
    invoice = stack.upload(token, RECEIPT)
    page.goto(f"{stack.base}/invoices/{invoice['id']}")
    expect(page.get_by_test_id("invoice-detail")).to_have_attribute("data-status", "processed", timeout=180_000)
    if stack.get(token, f"/invoices/{invoice['id']}")["review"]["state"] != "needs_review":
        return  # read with confidence everywhere: nothing to edit
    page.goto(f"{stack.base}/review")
    expect(page.get_by_test_id("invoice-detail")).to_be_visible()
    page.locator("body").press("e")
    editor = page.get_by_test_id("field-input")
    expect(editor).to_be_focused()
    first_field = page.locator("[data-testid=field-row]", has=editor).get_attribute("data-field")
    editor.press("Shift+Enter")  # save as it is and go to the next doubtful field (or confirm when none is left)
    page.wait_for_timeout(500)
    stored = stack.get(token, f"/invoices/{invoice['id']}")
    assert first_field in stored["corrections"]
    shot(page, "19-review-edit")


def test_sign_up_switched_off_and_a_lockout_show_the_apis_words(tmp_path, mongo_uri, browser_context):
    closed = start_stack(tmp_path, mongo_uri, watcher=False, ALLOW_SIGNUP="false", LOGIN_ATTEMPTS_PER_MINUTE="2")
    try:
        page = browser_context().new_page()
        page.goto(f"{closed.base}/signup")
        page.get_by_label("Your name", exact=True).fill("Nobody")
        page.get_by_label("Organization", exact=True).fill("Closed")
        page.get_by_label("Email", exact=True).fill("nobody@example.com")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Create organization").click()
        expect(page.get_by_role("alert")).to_contain_text("Sign-up is switched off")
        page.goto(f"{closed.base}/signin")
        for _ in range(3):
            page.get_by_label("Email", exact=True).fill("nobody@example.com")
            page.get_by_label("Password", exact=True).fill("not-the-password")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_timeout(200)
        expect(page.get_by_role("alert")).to_contain_text("try again in")
        shot(page, "20-locked-out")
    finally:
        closed.api.stop()


def test_sign_in_page_is_usable_before_any_data(stack, browser_context):
    page = browser_context(color_scheme="dark").new_page()
    page.goto(f"{stack.base}/signin")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    background = page.evaluate("() => getComputedStyle(document.querySelector('.auth-card')).backgroundColor")
    assert background != "rgb(255, 255, 255)", "dark mode does not follow the system"
    shot(page, "21-sign-in-dark")
    sign_in(page, stack.base, sign_up(browser_context().new_page(), stack.base, name="Dee Dark"))
    expect(page.get_by_text("No invoices here yet.")).to_be_visible()
    shot(page, "22-list-dark")

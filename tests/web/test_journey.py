"""A day with the web app, in a real browser against the real stack: upload, watch, correct, review, dashboard.

The tests of this module share one stack and one admin, in order: each step starts where the last ended.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bson import ObjectId
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pymongo import MongoClient

from tests.web.support import (
    EINVOICE_PDF, RECEIPT, TEXT_PDF, Stack, axe_violations, drop_files, shot, sign_in, sign_up,
)

PROCESSED_WITHIN_MS = 180_000


class Journey:
    """What the steps hand on to each other."""

    def __init__(self, stack: Stack, context: BrowserContext) -> None:
        self.stack = stack
        self.context = context
        self.page: Page = context.new_page()
        self.email = ""
        self.token = ""
        self.invoices: dict[str, dict[str, Any]] = {}

    def api_token(self) -> str:
        if not self.token:
            self.token = self.stack.token(self.email)
        return self.token


@pytest.fixture(scope="module")
def journey(stack: Stack, system_chromium: Browser) -> Iterator[Journey]:
    context = system_chromium.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(20_000)
    state = Journey(stack, context)
    state.email = sign_up(state.page, stack.base, name="Ann Admin", organization="Acme Web")
    yield state
    context.close()


def test_upload_three_real_documents_by_drag_and_drop_and_watch_them_processed(journey: Journey):
    base = journey.stack.base
    # A second tab keeps the list open: its rows must appear and change by themselves.
    watcher_tab = journey.context.new_page()
    watcher_tab.goto(f"{base}/invoices")
    expect(watcher_tab.get_by_text("No invoices here yet.")).to_be_visible()
    watcher_tab.evaluate("() => { window.__sameDocument = true; }")

    page = journey.page
    page.goto(f"{base}/upload")
    drop_files(page, "[data-testid=dropzone]", [RECEIPT, TEXT_PDF, EINVOICE_PDF])
    items = page.get_by_test_id("upload-item")
    expect(items).to_have_count(3)
    # The receipt photo can be turned before it is sent; turn it right and back.
    page.get_by_role("button", name=f"Rotate {RECEIPT.name} right").click()
    page.get_by_role("button", name=f"Rotate {RECEIPT.name} left").click()
    shot(page, "02-upload-preview")
    page.get_by_role("button", name="Upload 3 files").click()
    for name in (RECEIPT.name, TEXT_PDF.name, EINVOICE_PDF.name):
        item = page.locator(f"[data-testid=upload-item][data-filename='{name}']")
        expect(item.locator("progress")).to_have_attribute("value", "1")
        expect(item.locator(".badge[data-status=processed]")).to_be_visible(timeout=PROCESSED_WITHIN_MS)
    shot(page, "03-upload-processed")

    rows = watcher_tab.get_by_test_id("invoice-row")
    expect(rows).to_have_count(3)
    expect(watcher_tab.locator("[data-testid=invoice-row][data-status=processed]")).to_have_count(3)
    assert watcher_tab.evaluate("() => window.__sameDocument === true"), "the list reloaded"
    shot(watcher_tab, "04-invoice-list")
    watcher_tab.close()

    listed = journey.stack.get(journey.api_token(), "/invoices")["items"]
    journey.invoices = {invoice["filename"]: invoice for invoice in listed}
    assert set(journey.invoices) == {RECEIPT.name, TEXT_PDF.name, EINVOICE_PDF.name}

    # Search and filters live in the URL, so a deep link and the back button bring them back.
    page.goto(f"{base}/invoices")
    page.get_by_label("Search").fill("AzureInterior")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("invoice-row")).to_have_count(1)
    assert "q=AzureInterior" in page.url
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("No invoices match these filters.")).to_be_visible()
    page.go_back()
    expect(page.get_by_test_id("invoice-row")).to_have_count(1)
    expect(page.get_by_label("Search")).to_have_value("AzureInterior")


def test_open_the_receipt_see_its_boxes_correct_the_total_and_keep_it(journey: Journey):
    receipt = journey.invoices[RECEIPT.name]
    page = journey.page
    page.goto(f"{journey.stack.base}/invoices/{receipt['id']}")
    expect(page.get_by_test_id("page-image")).to_be_visible()
    boxes = page.get_by_test_id("field-box")
    assert boxes.count() > 0, "no field box drawn on the receipt"
    field_with_box = boxes.first.get_attribute("data-field")
    page.locator(f"[data-testid=field-row][data-field={field_with_box}]").hover()
    expect(page.locator(f"[data-testid=field-box][data-field={field_with_box}]")).to_have_class(re.compile("box-active"))
    shot(page, "05-invoice-receipt")

    # A list row carries current values only; the machine's reading comes with the whole invoice.
    whole = journey.stack.get(journey.api_token(), f"/invoices/{receipt['id']}")
    machine_total = (whole["extraction"]["fields"].get("total") or {}).get("value")
    total = page.locator("[data-testid=field-row][data-field=total]")
    total.get_by_test_id("field-value").click()
    editor = total.get_by_test_id("field-input")
    editor.fill("12.3.4")
    expect(total.get_by_role("alert")).to_contain_text("amount")
    editor.fill("1.234,56")
    editor.press("Enter")
    expect(total.get_by_test_id("field-value")).to_have_text("1234.56")

    page.reload()
    total = page.locator("[data-testid=field-row][data-field=total]")
    expect(total.get_by_test_id("field-value")).to_have_text("1234.56")
    expect(total.get_by_test_id("machine-value")).to_contain_text(f"machine read: {machine_total or '—'}")
    expect(total).to_contain_text("person")
    shot(page, "06-invoice-corrected")
    stored = journey.stack.get(journey.api_token(), f"/invoices/{receipt['id']}")
    assert stored["corrections"]["total"]["value"] == "1234.56"


def test_review_queue_confirm_one_with_the_keyboard(journey: Journey):
    token = journey.api_token()
    waiting = journey.stack.get(token, "/invoices", review="needs_review")["items"]
    if not waiting:
        pytest.skip("none of the three documents needs a review")
    page = journey.page
    page.goto(f"{journey.stack.base}/review")
    count = page.get_by_test_id("review-count")
    expect(count).to_have_text(f"{len(waiting)} to review")
    expect(page.get_by_test_id("invoice-detail")).to_be_visible()
    shot(page, "07-review-queue")
    page.locator("body").press("Enter")
    expect(count).to_have_text(f"{len(waiting) - 1} to review")
    confirmed = journey.stack.get(token, "/invoices", review="confirmed")["items"]
    assert len(confirmed) == 1 and confirmed[0]["review"]["by"]


def _cards(page: Page) -> dict[str, str]:
    return {
        key: page.get_by_test_id(f"card-{key}").locator(".stat-value").inner_text()
        for key in ("uploads-today", "processed", "failed", "in-queue", "needs-review")
    }


def _expected_cards(stats: dict[str, Any]) -> dict[str, str]:
    cards = stats["cards"]
    return {
        "uploads-today": str(cards["uploads_today"]), "processed": str(cards["processed"]),
        "failed": str(cards["failed"]), "in-queue": str(cards["in_queue"]), "needs-review": str(cards["needs_review"]),
    }


def test_dashboard_matches_the_api_and_moves_live(journey: Journey):
    stack, page, token = journey.stack, journey.page, journey.api_token()
    page.goto(f"{stack.base}/dashboard")
    # The first look counts the organization's history in the background; the page asks until it is complete.
    expect(page.locator("section.stats[data-complete=true]")).to_be_visible(timeout=30_000)
    expect(page.locator(".chart canvas")).to_be_visible()
    stats = stack.get(token, "/admin/stats", range="7d")
    assert _cards(page) == _expected_cards(stats)
    shot(page, "08-dashboard")

    # A colleague uploads through the API: the feed and the counts change without a reload.
    _, colleague = stack.create_user(token, role="employee", name="Carl Colleague")
    uploaded = stack.upload(colleague, TEXT_PDF)
    feed = page.get_by_test_id("activity-feed")
    expect(feed.get_by_text("Carl Colleague").first).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("card-uploads-today").locator(".stat-value")).to_have_text(
        str(stats["cards"]["uploads_today"] + 1), timeout=30_000)
    expect(feed.locator(".badge[data-status=processed]").first).to_be_visible(timeout=PROCESSED_WITHIN_MS)
    journey.invoices["colleague"] = uploaded
    # Settled: the page shows what the API says.
    expect(page.get_by_test_id("card-in-queue").locator(".stat-value")).to_have_text("0", timeout=PROCESSED_WITHIN_MS)
    page.wait_for_timeout(1500)
    assert _cards(page) == _expected_cards(stack.get(token, "/admin/stats", range="7d"))
    shot(page, "09-dashboard-live")


def test_an_employee_sees_neither_the_dashboard_nor_someone_elses_invoice(journey: Journey, browser_context):
    stack = journey.stack
    email, token = stack.create_user(journey.api_token(), role="employee", name="Emma Employee")
    assert httpx.get(f"{stack.base}/api/v1/admin/stats", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    page = browser_context().new_page()
    sign_in(page, stack.base, email)
    expect(page.get_by_role("link", name="Dashboard")).to_have_count(0)
    page.goto(f"{stack.base}/dashboard")
    page.wait_for_url("**/invoices")
    receipt = journey.invoices[RECEIPT.name]
    page.goto(f"{stack.base}/invoices/{receipt['id']}")
    expect(page.get_by_test_id("not-found")).to_contain_text("Invoice not found")
    expect(page.get_by_text(receipt["filename"])).to_have_count(0)
    shot(page, "10-employee-not-found")


def test_no_serious_accessibility_violations(journey: Journey, browser_context):
    # axe-core is injected from node_modules, which the app's CSP (rightly) refuses: this profile bypasses it.
    page = browser_context(bypass_csp=True).new_page()
    page.goto(f"{journey.stack.base}/signin")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    found = {"sign-in": axe_violations(page)}
    sign_in(page, journey.stack.base, journey.email)
    expect(page.get_by_test_id("invoice-row").first).to_be_visible()
    found["list"] = axe_violations(page)
    page.goto(f"{journey.stack.base}/invoices/{journey.invoices[RECEIPT.name]['id']}")
    expect(page.get_by_test_id("page-image")).to_be_visible()
    found["invoice"] = axe_violations(page)
    page.goto(f"{journey.stack.base}/dashboard")
    expect(page.locator(".chart canvas")).to_be_visible()
    found["dashboard"] = axe_violations(page)
    # Dark mode has colours of its own: the same pass on the same pages.
    page.emulate_media(color_scheme="dark")
    found["dashboard (dark)"] = axe_violations(page)
    page.goto(f"{journey.stack.base}/invoices/{journey.invoices[RECEIPT.name]['id']}")
    expect(page.get_by_test_id("page-image")).to_be_visible()
    found["invoice (dark)"] = axe_violations(page)
    page.goto(f"{journey.stack.base}/invoices")
    expect(page.get_by_test_id("invoice-row").first).to_be_visible()
    found["list (dark)"] = axe_violations(page)
    assert found == {"sign-in": [], "list": [], "invoice": [], "dashboard": [], "dashboard (dark)": [],
                     "invoice (dark)": [], "list (dark)": []}


def test_on_a_phone_upload_and_list(journey: Journey, browser_context):
    context = browser_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    sign_in(page, journey.stack.base, journey.email)
    page.goto(f"{journey.stack.base}/upload")
    expect(page.locator("input[capture]")).to_have_attribute("accept", "image/*")
    page.get_by_test_id("file-input").set_input_files(str(EINVOICE_PDF))
    page.get_by_role("button", name="Upload 1 file").click()
    item = page.get_by_test_id("upload-item")
    expect(item.get_by_text("Duplicate of")).to_be_visible()
    expect(item.locator(".badge[data-status=processed]")).to_be_visible(timeout=PROCESSED_WITHIN_MS)
    shot(page, "11-phone-upload")
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Invoices", exact=True).click()
    expect(page.get_by_test_id("invoice-row").first).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, "the list overflows a phone screen"
    shot(page, "12-phone-list")


def test_a_rejected_file_shows_the_reason_and_the_batch_goes_on(journey: Journey, tmp_path):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not an invoice")
    page = journey.page
    page.goto(f"{journey.stack.base}/upload")
    drop_files(page, "[data-testid=dropzone]", [bogus, RECEIPT])
    page.get_by_role("button", name="Upload 2 files").click()
    rejected = page.locator(f"[data-testid=upload-item][data-filename='{bogus.name}']")
    expect(rejected.get_by_role("alert")).not_to_be_empty()
    expect(rejected).to_have_attribute("data-stage", "rejected")
    accepted = page.locator(f"[data-testid=upload-item][data-filename='{RECEIPT.name}']")
    expect(accepted).to_have_attribute("data-stage", "uploaded")
    expect(accepted.get_by_text("Duplicate of")).to_be_visible()
    shot(page, "13-upload-rejected")


def test_the_api_going_away_shows_reconnecting_and_recovers_by_itself(journey: Journey):
    stack, page = journey.stack, journey.page
    page.goto(f"{stack.base}/invoices")
    expect(page.get_by_test_id("invoice-row").first).to_be_visible()
    # An upload the watcher finishes while the API is away: the page catches up when the API is back.
    uploaded = stack.upload(journey.api_token(), TEXT_PDF)
    row = page.locator(f"[data-testid=invoice-row][data-id='{uploaded['id']}']")
    expect(row).to_be_visible()
    stack.api.stop()
    expect(page.get_by_test_id("reconnecting")).to_be_visible(timeout=30_000)
    shot(page, "14-reconnecting")
    database = MongoClient(stack.mongo_uri)[stack.db_name]
    deadline = time.monotonic() + PROCESSED_WITHIN_MS / 1000
    while database.invoices.find_one({"_id": ObjectId(uploaded["id"])})["status"] != "processed":
        assert time.monotonic() < deadline, "the watcher did not finish while the API was away"
        time.sleep(0.5)
    stack.api.start()
    expect(page.get_by_test_id("reconnecting")).to_have_count(0, timeout=60_000)
    expect(row).to_have_attribute("data-status", "processed", timeout=30_000)
    assert "/signin" not in page.url  # the session survived: no sign-in was needed

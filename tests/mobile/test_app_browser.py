"""The mobile app's web export at phone size (390×844, touch) in Debian's chromium, against the real stack.

A person signs in, picks a receipt photo that was taken sideways, turns it upright, crops it, sends it, sees it
processed live, opens it and corrects the total; then, offline, captures two more (one a full 12-megapixel photo),
comes back online and sees both sent exactly once and processed.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect
from pymongo import MongoClient

from tests.mobile.support import phone_shot
from tests.web.support import PASSWORD, RECEIPT, Stack, auth

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TWELVE_MEGAPIXELS = (3000, 4000)


def _sideways_receipt(tmp: Path) -> Path:
    """The receipt as a phone often takes it: turned a quarter to the left."""
    path = tmp / "sideways-receipt.jpg"
    Image.open(RECEIPT).convert("RGB").rotate(90, expand=True).save(path, quality=92)
    return path


def _twelve_megapixel_photo(tmp: Path, source: Path) -> Path:
    path = tmp / "photo-12mp.jpg"
    Image.open(source).convert("RGB").resize(TWELVE_MEGAPIXELS, Image.Resampling.LANCZOS).save(path, quality=92)
    return path


def _pick(page: Page, path: Path) -> None:
    page.get_by_test_id("new-invoice").click()
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("pick-images").click()
    chooser.value.set_files(str(path))
    expect(page.get_by_label("Page preview")).to_be_visible()


def _invoices(stack: Stack, token: str) -> list[dict]:
    response = httpx.get(f"{stack.base}/api/v1/invoices", params={"limit": 100}, headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_capture_send_review_and_offline_queue_at_phone_size(
    mobile_stack: Stack, app_url: str, phone: BrowserContext, tmp_path: Path
) -> None:
    email, token = mobile_stack.register("Pia Phone", "Field Team")
    page = phone.new_page()
    page.goto(app_url)

    # Sign in: server URL, email, password.
    expect(page.get_by_label("Server URL")).to_be_visible()
    page.get_by_label("Server URL").fill(mobile_stack.base)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    phone_shot(page, "mobile-1-sign-in")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("No invoices yet")).to_be_visible()
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    phone_shot(page, "mobile-2-empty-list")

    # Capture: pick the sideways receipt, turn it upright, crop a little off the top-left corner.
    _pick(page, _sideways_receipt(tmp_path))
    page.get_by_test_id("rotate-right").click()
    page.get_by_test_id("crop").click()
    corner = page.get_by_test_id("corner-0").bounding_box()
    assert corner is not None
    page.mouse.move(corner["x"] + corner["width"] / 2, corner["y"] + corner["height"] / 2)
    page.mouse.down()
    page.mouse.move(corner["x"] + corner["width"] / 2 + 6, corner["y"] + corner["height"] / 2 + 6, steps=4)
    page.mouse.up()
    page.get_by_test_id("zoom").click()
    phone_shot(page, "mobile-3-capture-rotate-crop-zoom")
    page.get_by_test_id("zoom").click()

    # Send: the processed toast arrives live; tapping it opens the invoice.
    started = time.monotonic()
    page.get_by_test_id("send").click()
    toast = page.get_by_test_id("toast")
    expect(toast).to_contain_text("processed", timeout=90_000)
    send_to_toast = time.monotonic() - started
    print(f"\nmobile: tap send -> processed toast {send_to_toast:.2f} s")
    phone_shot(page, "mobile-4-processed-toast")
    [sent] = _invoices(mobile_stack, token)
    assert sent["status"] == "processed" and sent["content_type"] == "image/jpeg"
    toast.click()
    expect(page.get_by_text("Total", exact=False).first).to_be_visible()

    # One invoice: fields with confidences; correct the total.
    page.get_by_test_id("edit-total").click()
    page.get_by_label("Total value").fill("123.45")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_label("Total: 123.45")).to_be_visible()
    phone_shot(page, "mobile-5-invoice-corrected")
    corrected = httpx.get(f"{mobile_stack.base}/api/v1/invoices/{sent['id']}", headers=auth(token)).json()
    assert corrected["corrections"]["total"]["value"] == "123.45"
    page.go_back()
    expect(page.get_by_test_id("new-invoice")).to_be_visible()

    # Offline: two captures are kept on the device and shown as waiting.
    phone.set_offline(True)
    _pick(page, _twelve_megapixel_photo(tmp_path, RECEIPT))
    page.get_by_test_id("send").click()
    expect(page.get_by_text("1 waiting to send")).to_be_visible(timeout=60_000)
    second = tmp_path / "second.jpg"
    Image.open(RECEIPT.with_name("012.jpg")).convert("RGB").save(second, quality=90)
    _pick(page, second)
    page.get_by_test_id("send").click()
    expect(page.get_by_text("2 waiting to send")).to_be_visible(timeout=60_000)
    page.get_by_text("2 waiting to send").click()
    expect(page.get_by_text("Offline:", exact=False)).to_be_visible()
    phone_shot(page, "mobile-6-offline-queue")
    assert len(_invoices(mobile_stack, token)) == 1
    page.go_back()

    # Back online: both are sent once and processed, live.
    phone.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.get_by_text("waiting to send")).to_have_count(0, timeout=60_000)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        items = _invoices(mobile_stack, token)
        if len(items) == 3 and all(i["status"] in ("processed", "failed") for i in items):
            break
        time.sleep(1)
    items = _invoices(mobile_stack, token)
    assert len(items) == 3, [i["filename"] for i in items]
    assert [i["status"] for i in items] == ["processed"] * 3
    expect(page.get_by_role("button", name="processed", exact=False)).to_have_count(3, timeout=30_000)
    phone_shot(page, "mobile-7-list-live")

    with MongoClient(mobile_stack.mongo_uri) as client:
        keys = list(client[mobile_stack.db_name].idempotency_keys.find({}, {"invoice_id": 1, "completed": 1}))
    assert sorted(str(k["invoice_id"]) for k in keys) == sorted(i["id"] for i in items)
    assert all(k["completed"] for k in keys)

    photo = items[1]  # newest first: the second offline capture, the 12-megapixel photo, the first receipt
    original = (tmp_path / "photo-12mp.jpg").stat().st_size
    print(f"mobile: a 12-megapixel photo of {original} bytes was sent as {photo['size']} bytes")
    assert photo["size"] < original / 2


def test_time_from_send_to_processed_toast(mobile_stack: Stack, app_url: str, phone: BrowserContext,
                                           tmp_path: Path) -> None:
    """The median over several receipts (MOBILE_TIMING_RUNS: 3 in the suite, 10 for the closing figures)."""
    runs = int(os.environ.get("MOBILE_TIMING_RUNS", "3"))
    email, _ = mobile_stack.register("Tim Timer", "Timing")
    page = phone.new_page()
    page.goto(app_url)
    page.get_by_label("Server URL").fill(mobile_stack.base)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    timings = []
    for run in range(runs):
        receipt = tmp_path / f"receipt-{run}.jpg"
        # A distinct file each time (no duplicate shortcut), the same receipt content.
        image = Image.open(RECEIPT).convert("RGB")
        image.putpixel((0, 0), (run, run, run))
        image.save(receipt, quality=95)
        _pick(page, receipt)
        started = time.monotonic()
        page.get_by_test_id("send").click()
        toast = page.get_by_test_id("toast")
        expect(toast).to_contain_text("processed", timeout=90_000)
        timings.append(time.monotonic() - started)
        toast.click()
        page.go_back()
        expect(page.get_by_test_id("new-invoice")).to_be_visible()
    print(f"\nmobile: tap send -> processed toast over {runs} receipts: p50 {statistics.median(timings):.2f} s, "
          f"all {[round(t, 2) for t in timings]}")

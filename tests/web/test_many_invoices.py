"""The invoice list with 10,000 invoices: paging through stays quick and no request asks for more than a page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from bson import ObjectId
from playwright.sync_api import expect
from pymongo import MongoClient

from core.embedded import start_embedded
from tests.web.support import TEXT_PDF, Stack, shot, sign_in, start_stack

INVOICES = 10_000
PAGES_TO_WALK = 12


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    # A database server of its own: ten thousand invoices stay out of every other test's way.
    tmp = tmp_path_factory.mktemp("web-many")
    server = start_embedded(":memory:", durable=False, log_file=tmp / "secantusd.log")
    mongo_uri = server.uri
    stack = start_stack(tmp, mongo_uri, watcher=False)
    email, token = stack.register(name="Bulk Admin", organization="Bulk")
    template = stack.upload(token, TEXT_PDF)
    client = MongoClient(mongo_uri)
    invoices = client[stack.db_name]["invoices"]
    original = invoices.find_one({"_id": ObjectId(template["id"])})
    assert original is not None
    copies = []
    # What a list shows, without the full text read from the page (only the invoice page needs it).
    if original.get("extraction"):
        original["extraction"] = {**original["extraction"], "text": None}
    for number in range(INVOICES - 1):
        copy = dict(original, _id=ObjectId(), filename=f"bulk-{number:05d}.pdf", status="processed")
        copy["created_at"] = original["created_at"] - timedelta(seconds=number + 1)
        copy["updated_at"] = copy["created_at"]
        copies.append(copy)
    for start in range(0, len(copies), 500):
        invoices.insert_many(copies[start:start + 500], ordered=False)
    client.close()
    yield stack, email
    stack.api.stop()
    server.stop()


def test_paging_through_ten_thousand_invoices(crowded, browser_context):
    stack, email = crowded
    page = browser_context().new_page()
    limits: list[int] = []
    page.on("request", lambda request: limits.append(int(parse_qs(urlparse(request.url).query).get("limit", ["0"])[0]))
            if urlparse(request.url).path == "/api/v1/invoices" else None)
    sign_in(page, stack.base, email)
    rows = page.get_by_test_id("invoice-row")
    expect(rows).to_have_count(50)
    started = time.monotonic()
    for number in range(2, PAGES_TO_WALK + 1):
        first = rows.first.get_attribute("data-id")
        page.get_by_role("button", name="Next →").click()
        expect(page.get_by_text(f"Page {number}", exact=True)).to_be_visible()
        expect(rows.first).not_to_have_attribute("data-id", first or "")
    walked = time.monotonic() - started
    shot(page, "15-list-10000")
    token = stack.token(email)
    api_started = time.monotonic()
    stack.get(token, "/invoices", limit=50)
    print(f"{PAGES_TO_WALK - 1} pages of 50 among {INVOICES} invoices in {walked:.1f} s in the browser; "
          f"one GET /invoices?limit=50 takes {time.monotonic() - api_started:.2f} s")
    assert limits and all(0 < limit <= 100 for limit in limits), limits
    assert walked < PAGES_TO_WALK * 2, f"paging took {walked:.1f} s"
    page.get_by_role("button", name="← Previous").click()
    expect(page.get_by_text(f"Page {PAGES_TO_WALK - 1}", exact=True)).to_be_visible()

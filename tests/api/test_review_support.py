"""Support for the review and admin tests (no tests here): a real API and watcher on one database, the
watcher running a scripted extractor that reads its orders from the uploaded JPEG's comment."""

from __future__ import annotations

import io
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

from core.embedded import free_port
from extraction.models import ErrorCode, ExtractionOptions, ExtractionResult, FieldValue, InvoiceFields
from tests.support import REPO, Process, base_env, wait_http

EXTRACTOR = "tests.api.test_review_support:scripted"
_ORDER = re.compile(rb"SCRIPT (?P<kind>ok|low|warn|fail) (?P<total>[\d.]+) (?P<currency>[A-Z]{3})")


def scripted(data: bytes, content_type: str | None, *, options: ExtractionOptions) -> ExtractionResult:
    """`ok`: every field confident; `low`: the total read with confidence 0.5; `warn`: a validation warning;
    `fail`: an unreadable file. The total and currency come from the order too."""
    order = _ORDER.search(data)
    kind, total, currency = (order["kind"].decode(), order["total"].decode(), order["currency"].decode()) if order \
        else ("ok", "1.00", "EUR")
    if kind == "fail":
        return ExtractionResult.failure(ErrorCode.unreadable_file, "The scripted extractor could not read it")
    return ExtractionResult(
        ok=True, pages=1, content_type=content_type, method="ocr", text="scripted",
        warnings=["subtotal + tax does not equal the total"] if kind == "warn" else [],
        fields=InvoiceFields(
            invoice_number=FieldValue(value="R-1", confidence=0.95, source="ocr", page=1, bbox=(10, 10, 60, 20)),
            total=FieldValue(value=Decimal(total), confidence=0.5 if kind == "low" else 0.95, source="ocr", page=1,
                             bbox=(100, 200, 160, 215)),
            currency=FieldValue(value=currency, confidence=0.95, source="ocr"),
        ),
    )


def scripted_jpeg(kind: str = "ok", total: str = "10.00", currency: str = "EUR", size: tuple[int, int] = (400, 300),
                  exif_orientation: int | None = None) -> bytes:
    """A JPEG carrying the extractor's order in its comment (and a random mark, so no two are duplicates)."""
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((20, 20), f"INVOICE {uuid.uuid4().hex[:6]}", fill="black")
    out = io.BytesIO()
    extra = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        extra["exif"] = exif.tobytes()
    image.save(out, "JPEG", quality=85, comment=f"SCRIPT {kind} {total} {currency} {uuid.uuid4().hex}".encode(),
               **extra)
    return out.getvalue()


@dataclass
class Stack:
    url: str
    db_name: str
    api: Process
    watcher: Process


@contextmanager
def running_stack(mongo_uri: str, tmp: Path) -> Iterator[Stack]:
    """`invoicer api` and `invoicer watcher` on a fresh database; neither may log a traceback."""
    db_name = f"review_{uuid.uuid4().hex[:10]}"
    env = base_env(mongo_uri, db_name, tmp / "data", WATCHER_TEST_EXTRACTOR=EXTRACTOR, PYTHONPATH=str(REPO),
                   HEARTBEAT_SECONDS="1", SWEEP_INTERVAL_SECONDS="2")
    port = free_port()
    api = Process(["api", "--port", str(port)], env, tmp / "api.log").start()
    watcher = Process(["watcher", "--concurrency", "1"], env, tmp / "watcher.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", process=api)
        yield Stack(url, db_name, api, watcher)
    finally:
        for process in (watcher, api):
            process.stop()
        for process in (api, watcher):
            assert "Traceback" not in process.log(), process.log()[-5000:]


def wait_status(client: httpx.Client, invoice_id: str, *statuses: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        invoice = client.get(f"/invoices/{invoice_id}").json()
        if invoice.get("status") in statuses:
            return invoice
        assert time.monotonic() < deadline, f"invoice {invoice_id} stayed {invoice.get('status')}"
        time.sleep(0.1)

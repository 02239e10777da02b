"""End to end with the real extraction: upload through the real API, a real watcher reads the image with
OCR, the result is stored exactly (money as Decimal128) and the invoice is findable by what it says."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import httpx
import pytest
from bson import ObjectId
from bson.decimal128 import Decimal128
from PIL import Image, ImageDraw, ImageFont

from tests.conftest import DATASETS
from tests.factories import register_org
from tests.watcher.support import FAST_WATCHER, wait_final

LINES = [
    "ACME Office Supplies Ltd", "12 Market Street, Springfield", "", "INVOICE", "Invoice No: INV-2024-0042",
    "Date: 15/03/2024", "", "Paper A4 x 10      45.00", "Toner cartridge     55.00", "", "Subtotal: 100.00",
    "VAT 18%: 18.00", "Total: 118.00 EUR",
]


def rendered_invoice() -> bytes:
    image = Image.new("RGB", (1240, 900), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=34)
    for number, line in enumerate(LINES):
        draw.text((60, 40 + 60 * number), line, fill="black", font=font)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def upload(client: httpx.Client, filename: str, data: bytes) -> str:
    response = client.post("/invoices", json={"filename": filename, "content_base64": base64.b64encode(data).decode()})
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    return response.json()["id"]


@pytest.mark.slow
async def test_uploaded_images_are_read_by_the_real_extraction_and_become_searchable(db, start_api, start_process):
    url = start_api()
    env = {name: value for name, value in FAST_WATCHER.items() if name not in ("WATCHER_TEST_EXTRACTOR", "PYTHONPATH")}
    watcher = start_process("watcher", "--concurrency", "2", **env)
    client = register_org(url).client
    receipt = Path(DATASETS / "sroie" / "006.jpg")
    invoice_id = upload(client, "acme.png", rendered_invoice())
    receipt_id = upload(client, receipt.name, receipt.read_bytes())

    invoice = wait_final(client, invoice_id, 120)
    assert invoice["status"] == "processed", (invoice, watcher.log()[-4000:])
    fields = invoice["extraction"]["fields"]
    assert fields["invoice_number"]["value"] == "INV-2024-0042"
    assert fields["total"]["value"] == "118.00"
    assert invoice["timings"]["extract_ms"] > 0 and invoice["timings"]["total_ms"] >= invoice["timings"]["extract_ms"]
    stored = await db["invoices"].find_one({"_id": ObjectId(invoice_id)})
    assert stored["extraction"]["fields"]["total"]["value"] == Decimal128("118.00")
    found = client.get("/invoices", params={"q": "springfield"}).json()
    assert [item["id"] for item in found["items"]] == [invoice_id]

    receipt_invoice = wait_final(client, receipt_id, 120)
    assert receipt_invoice["status"] == "processed", receipt_invoice
    assert receipt_invoice["extraction"]["method"] == "ocr" and receipt_invoice["extraction"]["pages"] == 1
    assert "Traceback" not in watcher.log()

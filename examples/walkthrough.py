"""A walk through the API as the mobile app uses it: register, log in, upload (base64 JSON and multipart),
list, get, download, correct, delete. Prints every request and its answer.

    .venv/bin/python examples/walkthrough.py [--url http://localhost:8000] [--file invoice.jpg]

With `invoicer up` (or `make up`) running, it also waits for the watcher to process the upload.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import sys
import time
import uuid
from pathlib import Path

import httpx
from PIL import Image, ImageDraw


def sample_invoice() -> bytes:
    image = Image.new("RGB", (1240, 1754), "white")
    draw = ImageDraw.Draw(image)
    lines = ["ACME Office Supplies GmbH", "Hauptstrasse 1, 10115 Berlin", "", "INVOICE", "Invoice No: INV-2024-0042",
             "Date: 2024-03-01", "", "Paper A4        2 x 4.50      9.00", "Toner           1 x 89.00    89.00", "",
             "Subtotal                      98.00", "VAT 19%                       18.62", "Total EUR                    116.62"]
    for i, line in enumerate(lines):
        draw.text((100, 100 + i * 40), line, fill="black", font_size=28)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def show(step: str, response: httpx.Response) -> dict:
    body: object
    try:
        body = response.json()
    except ValueError:
        body = f"<{len(response.content)} bytes of {response.headers.get('content-type')}>"
    text = json.dumps(body, indent=None, default=str) if not isinstance(body, str) else body
    print(f"\n== {step}\n{response.request.method} {response.request.url.path} -> {response.status_code}\n{text[:600]}")
    return body if isinstance(body, dict) else {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://localhost:8000")
    parser.add_argument("--file", type=Path, help="an invoice image or PDF to upload (default: one drawn here)")
    parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for processing (0: don't)")
    args = parser.parse_args()
    api = httpx.Client(base_url=f"{args.url}/api/v1", timeout=60)
    data = args.file.read_bytes() if args.file else sample_invoice()
    email, password = f"walkthrough-{uuid.uuid4().hex[:6]}@example.com", "a long enough password"

    show("register a new organization", api.post("/auth/register", json={
        "email": email, "password": password, "name": "Walter Through", "organization": "Walkthrough Ltd"}))
    tokens = show("log in (OAuth2 password form)", api.post("/auth/login", data={"username": email, "password": password}))
    api.headers["Authorization"] = f"Bearer {tokens['access_token']}"

    created = show("upload as JSON with base64, as the phone does", api.post("/invoices", json={
        "filename": "invoice.jpg", "content_base64": base64.b64encode(data).decode()}))
    show("upload as multipart", api.post("/invoices/upload", files={"file": ("scan.jpg", data, "image/jpeg")}))
    show("list my invoices", api.get("/invoices", params={"limit": 10}))
    invoice_id = created["id"]
    deadline = time.monotonic() + args.wait
    invoice = show("get one", api.get(f"/invoices/{invoice_id}"))
    while invoice.get("status") in ("pending", "processing") and time.monotonic() < deadline:
        time.sleep(1)
        invoice = api.get(f"/invoices/{invoice_id}").json()
    if args.wait:
        print(f"\nafter waiting: status={invoice.get('status')} values={json.dumps(invoice.get('values'), default=str)[:400]}")
    show("download the original file", api.get(f"/invoices/{invoice_id}/file"))
    show("correct two fields", api.patch(f"/invoices/{invoice_id}", json={
        "fields": {"total": "116.62", "vendor_name": "ACME Office Supplies GmbH"}}))
    show("search by the corrected vendor", api.get("/invoices", params={"q": "acme"}))
    deleted = api.delete(f"/invoices/{invoice_id}")
    print(f"\n== delete\nDELETE /api/v1/invoices/{invoice_id} -> {deleted.status_code}")
    show("it is gone", api.get(f"/invoices/{invoice_id}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

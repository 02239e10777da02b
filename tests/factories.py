"""Things tests make: accounts on a running API, signed-in clients, invoice files and uploads.

Imported by test modules and fixtures alike; no test module imports another test module or a conftest.
"""

from __future__ import annotations

import base64
import io
import uuid
from dataclasses import dataclass

import httpx
from PIL import Image, ImageDraw

PASSWORD = "correct horse battery"


@dataclass
class Account:
    client: httpx.Client  # base URL <api>/api/v1, with the access token
    email: str
    user: dict
    tokens: dict


def login(url: str, email: str, password: str = PASSWORD) -> dict:
    response = httpx.post(f"{url}/api/v1/auth/login", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def bearer_client(url: str, access_token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {access_token}"}, timeout=30)


def signed_in(url: str, email: str, password: str = PASSWORD) -> httpx.Client:
    return bearer_client(url, login(url, email, password)["access_token"])


def register_org(url: str, email: str | None = None, password: str = PASSWORD) -> Account:
    """A fresh organization with its admin signed in."""
    email = email or f"admin-{uuid.uuid4().hex[:8]}@Example.com"
    response = httpx.post(f"{url}/api/v1/auth/register", json={
        "email": email, "password": password, "name": "Ada Admin", "organization": f"Org {uuid.uuid4().hex[:6]}"})
    assert response.status_code == 201, response.text
    tokens = login(url, email, password)
    return Account(bearer_client(url, tokens["access_token"]), email.lower(), response.json(), tokens)


def add_employee(admin: Account, url: str) -> Account:
    email = f"emp-{uuid.uuid4().hex[:8]}@example.com"
    response = admin.client.post("/users", json={"email": email, "password": PASSWORD, "name": "Eve Employee"})
    assert response.status_code == 201, response.text
    tokens = login(url, email)
    return Account(bearer_client(url, tokens["access_token"]), email, response.json(), tokens)


def invoice_jpeg(text: str = "INVOICE 42  TOTAL 118.00 EUR", size: tuple[int, int] = (800, 600)) -> bytes:
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((40, 40), text, fill="black")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def upload_json(account: Account, data: bytes, filename: str = "receipt.jpg", **extra: object) -> httpx.Response:
    return account.client.post("/invoices", json={
        "filename": filename, "content_base64": base64.b64encode(data).decode(), **extra})


def upload_multipart(account: Account, data: bytes, filename: str = "receipt.jpg",
                     content_type: str = "application/octet-stream") -> httpx.Response:
    return account.client.post("/invoices/upload", files={"file": (filename, data, content_type)})


def ubl_invoice(number: str = "UBL-1", total: str = "121.00") -> bytes:
    """A small UBL 2.1 e-invoice, as an accounting system exports it."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
    xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>{number}</cbc:ID>
  <cbc:IssueDate>2024-02-01</cbc:IssueDate>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PartyLegalEntity><cbc:RegistrationName>Verkoper B.V.</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:LegalMonetaryTotal>
    <cbc:PayableAmount currencyID="EUR">{total}</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
</Invoice>""".encode()

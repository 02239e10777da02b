"""Bad input gets a clear 4xx, and nothing from a rejected upload is stored."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import pytest
from pymongo import MongoClient
from pypdf import PdfWriter

from tests.factories import invoice_jpeg


def _png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG that declares 900 megapixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b"")


def _pdf(pages: int, password: str | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


CASES = {
    "invalid base64": (422, "not valid base64", "@@@not base64@@@"),
    "empty file": (422, "empty", ""),
    "not an image": (415, "not an image or a PDF", base64.b64encode(b"hello, I am a text file" * 10).decode()),
    "decompression bomb": (422, "decompression bomb", base64.b64encode(_png_bomb()).decode()),
    "too many pixels": (422, "megapixels", base64.b64encode(_png_bomb(6000, 5000)).decode()),
    "truncated jpeg": (422, "truncated", base64.b64encode(invoice_jpeg()[:-2000]).decode()),
    "encrypted pdf": (422, "password", base64.b64encode(_pdf(1, "secret")).decode()),
    "too many pdf pages": (422, "pages", base64.b64encode(_pdf(6)).decode()),
}


def _stored_counts(mongo_uri: str) -> tuple[int, int]:
    with MongoClient(mongo_uri) as client:
        names = [n for n in client.list_database_names() if n.startswith("api_")]
        return (sum(client[n].invoices.count_documents({}) for n in names),
                sum(client[n]["invoice_files.files"].count_documents({}) for n in names))


@pytest.mark.parametrize("case", CASES)
def test_bad_json_upload_is_refused_and_nothing_is_stored(api_url, new_org, mongo_uri, case):
    status, message, content = CASES[case]
    admin = new_org()
    before = _stored_counts(mongo_uri)
    response = admin.client.post("/invoices", json={"filename": "x.jpg", "content_base64": content})
    assert response.status_code == status, response.text
    assert message in str(response.json()["detail"])
    assert _stored_counts(mongo_uri) == before


def test_unknown_json_field_is_422(api_url, new_org):
    response = new_org().client.post("/invoices", json={
        "filename": "a.jpg", "content_base64": base64.b64encode(invoice_jpeg()).decode(), "colour": "blue"})
    assert response.status_code == 422
    assert "colour" in response.text


def test_missing_fields_and_non_json_are_422(api_url, new_org):
    admin = new_org()
    assert admin.client.post("/invoices", json={"filename": "a.jpg"}).status_code == 422
    assert admin.client.post("/invoices", content=b"{not json", headers={"content-type": "application/json"}).status_code == 422


def test_over_the_size_limit_is_413_for_both_upload_kinds(api_url, new_org, mongo_uri):
    admin = new_org()
    before = _stored_counts(mongo_uri)
    big = b"\xff\xd8\xff" + b"\0" * 2_100_000  # the test API's limit is 2 MB
    as_json = admin.client.post("/invoices", json={"filename": "big.jpg", "content_base64": base64.b64encode(big).decode()})
    assert as_json.status_code == 413, as_json.text
    multipart = admin.client.post("/invoices/upload", files={"file": ("big.jpg", big, "image/jpeg")})
    assert multipart.status_code == 413, multipart.text
    assert "MB" in multipart.json()["detail"]
    assert _stored_counts(mongo_uri) == before


def test_body_far_over_the_limit_is_cut_off_while_streaming(api_url, new_org):
    """No Content-Length (chunked): the server stops reading once the limit is passed."""
    admin = new_org()

    def chunks():  # noqa: ANN202
        for _ in range(100):  # 100 MB offered; the server must refuse long before
            yield b"A" * 1_000_000

    response = admin.client.post("/invoices", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_multipart_without_file_and_bad_file_are_clear(api_url, new_org):
    admin = new_org()
    assert admin.client.post("/invoices/upload", data={"x": "1"}).status_code == 422
    response = admin.client.post("/invoices/upload", files={"file": ("notes.txt", b"plain text", "text/plain")})
    assert response.status_code == 415
    assert "accepted types" in response.json()["detail"]


def test_every_upload_route_needs_a_token(api_url):
    import httpx

    for method, path in (("POST", "/invoices"), ("POST", "/invoices/upload"), ("GET", "/invoices")):
        response = httpx.request(method, f"{api_url}/api/v1{path}")
        assert response.status_code == 401

"""`extract()` end to end: what it reads, how it reports, and that it never raises."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pypdfium2 as pdfium
import pytest
from PIL import Image

from extraction import extract
from extraction.models import ErrorCode, ExtractionOptions
from tests.extraction.conftest import INVOICE_LINES, encode, invoice_pdf, receipt_pdf, render, scanned_pdf

TESSERACT = ExtractionOptions(ocr_engine="tesseract")


def test_a_pdf_with_a_text_layer_is_read_without_ocr() -> None:
    result = extract(invoice_pdf(), "application/pdf")
    assert result.ok, result.error
    assert (result.method, result.ocr_engine, result.pages) == ("pdf_text", None, 1)
    assert result.content_type == "application/pdf"
    assert result.timing.ocr_ms == 0 and result.timing.total_ms > 0
    assert "Invoice No: INV-1001" in (result.text or "")
    assert result.fields.total is not None and result.fields.total.value == Decimal("120.00")
    assert result.fields.total.source == "pdf_text" and result.fields.total.page == 1


def test_a_photo_of_an_invoice_is_ocred(invoice_image: Image.Image) -> None:
    result = extract(encode(invoice_image.convert("RGB"), "JPEG", quality=85), "image/jpeg", options=TESSERACT)
    assert result.ok, result.error
    assert (result.method, result.ocr_engine, result.pages, result.content_type) == ("ocr", "tesseract", 1, "image/jpeg")
    assert result.timing.ocr_ms > 0 and result.timing.decode_ms > 0
    assert result.timing.total_ms >= result.timing.ocr_ms
    assert result.fields.total is not None and result.fields.total.value == Decimal("120.00")
    assert result.fields.total.source == "ocr" and result.fields.total.bbox is not None


def test_auto_reads_receipts_with_rapidocr_and_documents_with_tesseract() -> None:
    receipt = extract(encode(render(receipt_pdf(), dpi=300), "PNG"))
    assert receipt.ok, receipt.error
    assert receipt.ocr_engine == "rapidocr"  # receipt-shaped: straight to the engine that reads till print
    assert receipt.fields.total is not None and receipt.fields.total.value == Decimal("34.00")

    # A page full of print, as wide as A4 allows: Tesseract's kind of page.
    items = [(72, 490 - 14 * i, 10, f"{i + 1:02d}  Archive box, brown cardboard, 40 x 30 x 25 cm, pack of ten  ") for i in range(8)]
    amounts = [(480, 490 - 14 * i, 10, "12.50") for i in range(8)]
    document = extract(encode(render(invoice_pdf(lines=INVOICE_LINES + items + amounts), dpi=300), "PNG"))
    assert document.ok, document.error
    assert document.ocr_engine is not None and document.ocr_engine.startswith("tesseract")


def test_a_rotated_and_skewed_scan_is_straightened(invoice_image: Image.Image) -> None:
    crooked = invoice_image.rotate(90, expand=True).rotate(4, expand=True, fillcolor=255)
    result = extract(encode(crooked, "PNG"), options=TESSERACT)
    assert result.ok, result.error
    assert "INV-1001" in (result.text or "")
    assert result.fields.total is not None and result.fields.total.value == Decimal("120.00")


@pytest.mark.parametrize("turn", [180, 270])
def test_an_upside_down_or_sideways_receipt_is_read_the_right_way_up(turn: int) -> None:
    receipt = render(receipt_pdf(), dpi=300).rotate(turn, expand=True)
    result = extract(encode(receipt, "PNG"))
    assert result.ok, result.error
    assert result.fields.total is not None and result.fields.total.value == Decimal("34.00")
    assert result.text is not None and result.text.index("KEDAI") < result.text.index("THANK YOU")  # top to bottom


def test_mixed_pdf_uses_the_text_layer_and_ocr_per_page(invoice_image: Image.Image) -> None:
    document = pdfium.PdfDocument(invoice_pdf())
    scan = pdfium.PdfDocument(scanned_pdf(invoice_image.reduce(2)))
    document.import_pages(scan)
    buffer = io.BytesIO()
    document.save(buffer)
    result = extract(buffer.getvalue(), options=TESSERACT)
    assert result.ok, result.error
    assert (result.method, result.pages, result.ocr_engine) == ("mixed", 2, "tesseract")
    assert (result.text or "").count("INV-1001") == 2


def test_ocr_only_renders_text_pages_too() -> None:
    result = extract(invoice_pdf(), options=ExtractionOptions(ocr_only=True, ocr_engine="tesseract"))
    assert result.ok and result.method == "ocr" and result.ocr_engine == "tesseract"


def test_every_page_of_a_multi_page_tiff_is_read(invoice_image: Image.Image) -> None:
    page = invoice_image.reduce(2)
    data = encode(page, "TIFF", save_all=True, append_images=[page], compression="tiff_deflate")
    result = extract(data, "image/tiff", options=TESSERACT)
    assert result.ok and result.pages == 2
    assert (result.text or "").count("INV-1001") == 2


def test_a_blank_page_is_an_empty_document() -> None:
    result = extract(encode(Image.new("L", (1240, 1754), 255), "PNG"), options=TESSERACT)
    assert not result.ok and result.error is not None
    assert result.error.code == ErrorCode.empty_document


def test_text_can_be_left_out() -> None:
    result = extract(invoice_pdf(), options=ExtractionOptions(include_text=False))
    assert result.ok and result.text is None


def test_an_unexpected_fault_becomes_an_internal_error(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    def broken_parser(document: object) -> None:
        raise RuntimeError("parser bug")

    monkeypatch.setattr("extraction.pipeline.parse_fields", broken_parser)
    result = extract(invoice_pdf())
    assert not result.ok and result.error is not None
    assert result.error.code == ErrorCode.internal_error
    assert "parser bug" not in result.error.message  # internals are logged, not shown
    assert "parser bug" in caplog.text
    assert result.timing.total_ms > 0


def test_a_twenty_page_pdf_is_read_page_by_page() -> None:
    result = extract(invoice_pdf(pages=20))
    assert result.ok and result.pages == 20 and result.method == "pdf_text"
    assert (result.text or "").count("INV-1001") == 20


def test_the_result_serialises_money_as_decimal_strings() -> None:
    result = extract(invoice_pdf())
    payload = json.loads(result.model_dump_json())
    assert payload["fields"]["total"]["value"] == "120.00"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["189.jpg", "113.jpg", "348.jpg"])
def test_real_receipts_through_the_default_pipeline(datasets, name: str) -> None:
    labels = {
        record["file"]: record["fields"]
        for record in map(json.loads, (datasets / "sroie" / "labels.jsonl").read_text().splitlines())
    }
    result = extract((datasets / "sroie" / name).read_bytes(), "image/jpeg")
    assert result.ok, result.error
    assert (result.method, result.ocr_engine) == ("ocr", "rapidocr")
    assert labels[name]["total"] in (result.text or "")
    assert result.fields.total is not None
    assert str(result.fields.total.value) == labels[name]["total"]

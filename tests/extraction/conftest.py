"""Documents the extraction tests render themselves: a simple invoice as a PDF (reportlab) and as images."""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from tests.conftest import DATASETS

INVOICE_LINES = [
    (72, 780, 18, "ACME Office Supplies Ltd"),
    (72, 760, 11, "12 Market Street, Bristol BS1 4DJ"),
    (360, 700, 12, "Invoice No: INV-1001"),
    (360, 682, 12, "Date: 15/03/2024"),
    (72, 600, 12, "Printer paper A4"),
    (430, 600, 12, "100.00"),
    (72, 560, 12, "Subtotal"),
    (430, 560, 12, "100.00"),
    (72, 542, 12, "VAT 20%"),
    (430, 542, 12, "20.00"),
    (72, 524, 14, "Total"),
    (430, 524, 14, "120.00"),
]


def invoice_pdf(pages: int = 1, lines: list[tuple[int, int, int, str]] = INVOICE_LINES) -> bytes:
    """An A4 invoice with a text layer; every page carries the same lines."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for _ in range(pages):
        for x, y, size, text in lines:
            pdf.setFont("Helvetica", size)
            pdf.drawString(x, y, text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


RECEIPT_LINES = [
    "KEDAI RUNCIT MAJU JAYA",
    "NO 12, JALAN BUNGA RAYA",
    "43000 KAJANG, SELANGOR",
    "DATE: 03/02/2018  TIME: 10:15",
    "RECEIPT #: CS00012345",
    "-" * 32,
    "MILO 1KG            1   18.90",
    "ROTI GARDENIA       2    5.60",
    "TELUR GRED A        1    9.50",
    "-" * 32,
    "TOTAL                    34.00",
    "CASH                     50.00",
    "CHANGE                   16.00",
    "THANK YOU, PLEASE COME AGAIN",
]


def receipt_pdf() -> bytes:
    """A till receipt: an 80 mm roll, 32 monospaced characters per line."""
    width, height = 80 * 72 / 25.4, 110 * 72 / 25.4
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(width, height))
    pdf.setFont("Courier", 8.5)
    for index, text in enumerate(RECEIPT_LINES):
        pdf.drawString(10, height - 20 - index * 12, text)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def render(pdf_bytes: bytes, dpi: int = 300, page: int = 0) -> Image.Image:
    """One PDF page as a grayscale image, the way a scanner would deliver it."""
    document = pdfium.PdfDocument(pdf_bytes)
    try:
        return document[page].render(scale=dpi / 72, grayscale=True).to_pil().copy()
    finally:
        document.close()


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def scanned_pdf(image: Image.Image) -> bytes:
    """A PDF whose only page is a picture (no text layer), like a scanner's output."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.drawInlineImage(image, 0, 0, width=A4[0], height=A4[1])
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@pytest.fixture(scope="session")
def invoice_image() -> Image.Image:
    """The test invoice rendered at 300 dpi."""
    return render(invoice_pdf())


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.is_dir():
        pytest.skip(f"datasets not found at {DATASETS}")
    return DATASETS

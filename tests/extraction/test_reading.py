"""The reading half of extraction: decoding, limits, PDF text layers, embedded e-invoices, OCR engines."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pypdfium2 as pdfium
import pytest
from facturx import generate_from_binary
from PIL import Image
from reportlab.pdfgen import canvas

from extraction import extract
from extraction.decode import DecodeError, decode, sniff
from extraction.models import ErrorCode, ExtractionOptions, Word
from extraction.ocr import get_engine
from extraction.ocr.layout import Segment, build_lines
from extraction.pdf import embedded_invoice_xml, join_surrogates, read_text_layer
from tests.extraction.conftest import encode, invoice_pdf, render, scanned_pdf

OPTIONS = ExtractionOptions()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png_with_header(width: int, height: int) -> bytes:
    """A PNG that declares `width` x `height` grayscale pixels but carries almost no data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + _png_chunk(b"IEND", b"")
    )


def _zero_size_bmp() -> bytes:
    data = encode(Image.new("RGB", (1, 1)), "BMP")
    return data[:18] + struct.pack("<ii", 0, 0) + data[26:]  # width and height fields of the header


def _bomb_png() -> bytes:
    """A real decompression bomb: 100 megapixels of white compress to a few hundred KiB."""
    return encode(Image.new("1", (10_000, 10_000), 1), "PNG")


def _encrypted_pdf() -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, encrypt="a-user-password")
    pdf.drawString(72, 720, "Invoice 1 Total 10.00")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _blank_pdf(pages: int) -> bytes:
    document = pdfium.PdfDocument.new()
    for _ in range(pages):
        document.new_page(595, 842)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _receipt_jpeg() -> bytes:
    return encode(Image.new("RGB", (400, 600), "white"), "JPEG")


BAD_INPUTS = {
    "empty file": (lambda: b"", ErrorCode.empty_document),
    "random bytes": (lambda: np.random.default_rng(1).bytes(4096), ErrorCode.unsupported_type),
    "text file": (lambda: b"Invoice 123, total 10.00 EUR\n", ErrorCode.unsupported_type),
    "text file starting like a BMP": (lambda: b"BMW service invoice, total 10.00 EUR\n", ErrorCode.unsupported_type),
    "truncated jpeg": (lambda: _receipt_jpeg()[:300], ErrorCode.unreadable_file),
    "corrupt jpeg body": (lambda: _receipt_jpeg()[:20] + b"\x00" * 4000, ErrorCode.unreadable_file),
    "corrupt png": (lambda: b"\x89PNG\r\n\x1a\n" + b"garbage" * 100, ErrorCode.unreadable_file),
    "0x0 png": (lambda: _png_with_header(0, 0), ErrorCode.unreadable_file),
    "0x0 bmp": (lambda: _zero_size_bmp(), ErrorCode.unreadable_file),
    "declared gigapixel png": (lambda: _png_with_header(100_000, 100_000), ErrorCode.too_many_pixels),
    "decompression bomb": (_bomb_png, ErrorCode.too_many_pixels),
    "encrypted pdf": (_encrypted_pdf, ErrorCode.encrypted_pdf),
    "zero-page pdf": (lambda: _blank_pdf(0), ErrorCode.empty_document),
    "too many pages": (lambda: _blank_pdf(OPTIONS.max_pages + 1), ErrorCode.too_many_pages),
    "truncated pdf": (lambda: invoice_pdf()[:400], ErrorCode.unreadable_file),
    "pdf header only": (lambda: b"%PDF-1.7\n%%EOF\n", ErrorCode.unreadable_file),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_fails_with_its_code(name: str) -> None:
    make, code = BAD_INPUTS[name]
    result = extract(make(), "application/octet-stream")
    assert not result.ok
    assert result.error is not None and result.error.code == code, result.error
    assert result.error.message  # a person can read why


def test_too_many_pixels_follows_the_option(invoice_image: Image.Image) -> None:
    data = encode(invoice_image, "PNG")
    small_limit = ExtractionOptions(max_pixels=invoice_image.width * invoice_image.height - 1)
    result = extract(data, options=small_limit)
    assert result.error is not None and result.error.code == ErrorCode.too_many_pixels


@pytest.mark.parametrize(
    ("fmt", "content_type", "params"),
    [
        ("JPEG", "image/jpeg", {"quality": 90}),
        ("PNG", "image/png", {}),
        ("WEBP", "image/webp", {"quality": 90}),
        ("BMP", "image/bmp", {}),
        ("HEIF", "image/heic", {"quality": 90}),
    ],
)
def test_each_image_format_decodes(invoice_image: Image.Image, fmt: str, content_type: str, params: dict) -> None:
    small = invoice_image.reduce(4).convert("RGB")
    data = encode(small, fmt, **params)
    assert sniff(data) == content_type
    decoded = decode(data, "application/octet-stream", OPTIONS)  # the claimed type is only a hint
    try:
        assert (decoded.content_type, decoded.page_count) == (content_type, 1)
        [frame] = list(decoded.frames())
        assert frame.shape[:2] == (small.height, small.width) and frame.dtype == np.uint8
    finally:
        decoded.close()


def test_multi_page_tiff_yields_every_page(invoice_image: Image.Image) -> None:
    first = invoice_image.reduce(4)
    second = Image.new("L", (300, 200), 255)
    data = encode(first, "TIFF", save_all=True, append_images=[second], compression="tiff_deflate")
    decoded = decode(data, None, OPTIONS)
    try:
        assert (decoded.content_type, decoded.page_count) == ("image/tiff", 2)
        assert [f.shape for f in decoded.frames()] == [(first.height, first.width), (200, 300)]
    finally:
        decoded.close()


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (200, 100), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    decoded = decode(encode(image, "JPEG", exif=exif), None, OPTIONS)
    try:
        [frame] = list(decoded.frames())
        assert frame.shape[:2] == (200, 100)
    finally:
        decoded.close()


def test_pdf_text_layer_gives_words_with_boxes_in_points_from_the_top_left() -> None:
    document = pdfium.PdfDocument(invoice_pdf())
    page = read_text_layer(document[0], 1)
    assert page is not None and page.source == "pdf_text"
    assert (round(page.width), round(page.height)) == (595, 842)
    total_line = next(line for line in page.lines if line.words[0].text == "Total")
    # Label and amount are far apart on the page but on one row: one line, two boxes.
    assert total_line.text == "Total 120.00"
    label, amount = total_line.words
    assert label.bbox[0] == pytest.approx(72, abs=1)
    assert amount.bbox[0] == pytest.approx(430, abs=1)
    assert label.bbox[3] == pytest.approx(842 - 524, abs=5)  # baseline y=524 from the bottom
    assert "Invoice No: INV-1001" in page.text
    document.close()


def test_a_scanned_pdf_has_no_text_layer_and_is_ocred(invoice_image: Image.Image) -> None:
    data = scanned_pdf(invoice_image.reduce(2))
    document = pdfium.PdfDocument(data)
    assert read_text_layer(document[0], 1) is None
    document.close()
    result = extract(data, options=ExtractionOptions(ocr_engine="tesseract"))
    assert result.ok and result.method == "ocr" and result.ocr_engine == "tesseract"
    assert "INV-1001" in (result.text or "")


@pytest.mark.parametrize("engine_name", ["tesseract", "rapidocr"])
def test_ocr_engines_return_words_with_boxes_in_lines(invoice_image: Image.Image, engine_name: str) -> None:
    # The top half at 150 dpi: enough to read, quick for both engines.
    image = np.asarray(invoice_image.crop((0, 0, invoice_image.width, invoice_image.height // 2)).reduce(2))
    page = get_engine(engine_name).read(image, page_number=3)
    assert (page.number, page.source, page.engine) == (3, "ocr", engine_name)
    assert (page.width, page.height) == (image.shape[1], image.shape[0])
    words = [w for line in page.lines for w in line.words]
    assert all(0 <= w.confidence <= 1 for w in words)
    total = next(line for line in page.lines if line.words[0].text == "Total")
    assert total.text == "Total 120.00"  # one row, although the engine sees two separate pieces
    label, amount = total.words
    # 150 dpi: the amount starts at x = 430 pt = 896 px
    assert amount.bbox[0] == pytest.approx(430 * 150 / 72, abs=20)
    assert label.bbox[2] < amount.bbox[0]
    assert any("INV-1001" in line.text for line in page.lines)


def test_rows_merge_but_stacked_segments_do_not() -> None:
    def word(text: str, x0: float, y0: float, x1: float, y1: float) -> Word:
        return Word(text=text, bbox=(x0, y0, x1, y1), confidence=0.9)

    lines = build_lines(
        [
            Segment(words=[word("120.00", 400, 101, 460, 119)]),
            Segment(words=[word("Total", 10, 100, 60, 120)]),
            Segment(words=[word("Thank", 10, 250, 60, 270), word("you", 65, 250, 90, 270)]),
            Segment(words=[word("Wide", 10, 130, 400, 190)]),  # tall, overlaps neither row by half
        ]
    )
    assert [line.text for line in lines] == ["Total 120.00", "Wide", "Thank you"]
    assert lines[0].bbox == (10, 100, 460, 120)
    assert lines[2].block > lines[0].block  # a gap of more than a line starts a new block


def test_embedded_factur_x_xml_is_found_in_a_pdf_a3_we_build(datasets) -> None:
    xml = embedded_invoice_xml((datasets / "zugferd-corpus" / "EN16931_2_Teilrechnung.pdf").read_bytes())
    assert xml is not None and b"CrossIndustryInvoice" in xml
    pdf_a3 = generate_from_binary(invoice_pdf(), xml, check_xsd=False)
    assert embedded_invoice_xml(pdf_a3) == xml
    assert embedded_invoice_xml(invoice_pdf()) is None

    result = extract(pdf_a3, "application/pdf")
    assert result.ok and result.method == "xml" and result.ocr_engine is None
    assert result.fields.invoice_number is not None
    assert (result.fields.invoice_number.value, result.fields.invoice_number.source) == ("471113", "xml")
    assert result.fields.total is not None and str(result.fields.total.value) == "23.54"
    assert "ACME Office Supplies" in (result.text or "")  # the visible text is still kept for search


@pytest.mark.parametrize(
    "name", ["ZUGFeRD_1p0_BASIC_Rechnungskorrektur.pdf", "zugferd_2p0_EN16931_OEPNV.pdf", "Facture_FR_BASICWL.pdf"]
)
def test_real_e_invoices_are_read_from_their_xml(datasets, name: str) -> None:
    result = extract((datasets / "zugferd-corpus" / name).read_bytes())
    assert result.ok and result.method == "xml"
    assert result.fields.total is not None and result.fields.total.confidence == 1.0
    assert result.timing.ocr_ms == 0


def test_ocr_only_ignores_the_embedded_xml_and_text_layer(datasets) -> None:
    data = (datasets / "zugferd-corpus" / "Facture_FR_BASICWL.pdf").read_bytes()
    result = extract(data, options=ExtractionOptions(ocr_only=True, ocr_engine="tesseract"))
    assert result.ok and result.method == "ocr" and result.ocr_engine == "tesseract"
    assert result.timing.ocr_ms > 0


def test_decode_error_carries_code_and_message() -> None:
    with pytest.raises(DecodeError) as caught:
        decode(b"\x00" * 64, "image/jpeg", OPTIONS)
    assert caught.value.code == ErrorCode.unsupported_type
    assert "image/jpeg" in caught.value.message


def test_surrogate_pairs_from_the_text_layer_become_one_character() -> None:
    box = (0.0, 0.0, 1.0, 1.0)
    chars = [("a", box), ("\ud83d", box), ("\ude00", box), ("\udc00", box), ("b", box)]
    assert [text for text, _ in join_surrogates(chars)] == ["a", "\U0001f600", "b"]  # the lone half is dropped

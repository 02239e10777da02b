"""Boxes land where the text is on the page as it is shown: the upright original image (its own
pixels) or the PDF page (points), whatever the reading did to the image on the way (decoding at a
lower resolution, cropping, quarter and half turns, deskewing, rescaling)."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfmetrics import stringWidth

from extraction import extract
from extraction.models import BBox, PageSize, PageTransform
from tests.extraction.conftest import RECEIPT_LINES, encode, invoice_pdf, receipt_pdf, render, scanned_pdf

Map = Callable[[np.ndarray], np.ndarray]  # points (N, 2) on the old image -> on the new one


def invoice_total() -> BBox:
    """Where conftest's invoice prints its total amount ("120.00", Helvetica 14 pt at x 430, baseline
    524 pt from the bottom), in points from the top-left: from the baseline up to the digits' height."""
    baseline = A4[1] - 524
    return (430, baseline - 0.72 * 14, 430 + stringWidth("120.00", "Helvetica", 14), baseline)


def receipt_total() -> BBox:
    """The receipt's "34.00": Courier 8.5 pt (5.1 pt a character), 25 characters into line 10."""
    line = RECEIPT_LINES.index("TOTAL                    34.00")
    baseline = 20 + line * 12  # drawn at 20 + 12 pt a line below the top
    x0 = 10 + 25 * 0.6 * 8.5
    return (x0, baseline - 0.62 * 8.5, x0 + 5 * 0.6 * 8.5, baseline)


class Photo:
    """A page image being made into a photo, and where a box of the page ends up on it."""

    def __init__(self, pixels: np.ndarray, points_to_pixels: float) -> None:
        self.pixels = pixels
        self.maps: list[Map] = [lambda p: p * points_to_pixels]

    def apply(self, pixels: np.ndarray, move: Map) -> Photo:
        self.pixels = pixels
        self.maps.append(move)
        return self

    def pad(self, border: int, shade: int) -> Photo:
        """Laid on a table (dark) or a scanner bed (white): a border the reader must crop away."""
        return self.apply(np.pad(self.pixels, border, constant_values=shade), lambda p: p + border)

    def turn(self, quarters: int) -> Photo:
        """Turned counter-clockwise by `quarters` quarter turns (pixels, no EXIF)."""
        for _ in range(quarters % 4):
            width = self.pixels.shape[1]
            self.apply(np.rot90(self.pixels), lambda p, w=width: np.column_stack([p[:, 1], w - p[:, 0]]))
        return self

    def skew(self, degrees: float) -> Photo:
        """Rotated a little counter-clockwise about the centre, the canvas grown to hold it."""
        height, width = self.pixels.shape
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
        cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
        size = (int(height * sin + width * cos), int(height * cos + width * sin))
        matrix[0, 2] += size[0] / 2 - width / 2
        matrix[1, 2] += size[1] / 2 - height / 2
        turned = cv2.warpAffine(self.pixels, matrix, size, flags=cv2.INTER_CUBIC, borderValue=255)
        return self.apply(turned, lambda p: p @ matrix[:, :2].T + matrix[:, 2])

    def where(self, box: BBox) -> BBox:
        """The box of the page (points) on this image: the box around its moved corners."""
        corners = np.array([(x, y) for x in (box[0], box[2]) for y in (box[1], box[3])], dtype=float)
        for move in self.maps:
            corners = move(corners)
        return (*corners.min(axis=0), *corners.max(axis=0))  # type: ignore[return-value]

    @property
    def size(self) -> PageSize:
        return PageSize(width=self.pixels.shape[1], height=self.pixels.shape[0])

    def jpeg(self, exif_quarters: int = 0) -> bytes:
        """As a JPEG; with `exif_quarters`, the pixels are stored turned and EXIF says how to turn them back."""
        image = Image.fromarray(self.pixels)
        if not exif_quarters:
            return encode(image, "JPEG", quality=90)
        # Stored turned counter-clockwise by 90° (ROTATE_90): orientation 6 turns it back clockwise.
        assert exif_quarters == 1
        exif = Image.Exif()
        exif[0x0112] = 6
        out = io.BytesIO()
        image.transpose(Image.Transpose.ROTATE_90).save(out, "JPEG", quality=90, exif=exif)
        return out.getvalue()


def photo(pdf: bytes, dpi: int) -> Photo:
    return Photo(np.asarray(render(pdf, dpi=dpi)), dpi / 72)


def iou(a: BBox, b: BBox) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def grown(box: BBox, by: float) -> BBox:
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def inside(inner: BBox, outer: BBox) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def assert_on(found: BBox | None, drawn: BBox) -> None:
    """The box found covers the place the amount was drawn, give or take a few pixels, and reaches no
    further than a text line's height beyond it (OCR line boxes carry some padding)."""
    assert found is not None
    text_height = min(drawn[2] - drawn[0], drawn[3] - drawn[1])  # sideways text: its width
    assert inside(drawn, grown(found, 0.3 * text_height)), (found, drawn)
    assert inside(found, grown(drawn, text_height)), (found, drawn)


def read_total(data: bytes, value: str = "120.00"):  # noqa: ANN201
    result = extract(data)
    assert result.ok, result.error
    assert result.fields.total is not None and result.fields.total.value == Decimal(value)
    return result


@pytest.mark.parametrize(
    ("name", "make"),
    [
        # On a dark table, sideways: cropped, then turned a quarter by the reader.
        ("sideways on a table", lambda: photo(invoice_pdf(), 150).pad(120, 40).turn(1)),
        # On a white scanner bed, a few degrees crooked: cropped to the ink, then deskewed.
        ("crooked on a scanner bed", lambda: photo(invoice_pdf(), 200).skew(4).pad(400, 255)),
        # Small print: the reader enlarges it.
        ("small print", lambda: photo(invoice_pdf(), 90).pad(30, 40)),
    ],
)
def test_an_ocred_photo_has_its_boxes_on_the_image_as_shown(name: str, make: Callable[[], Photo]) -> None:
    page = make()
    result = read_total(page.jpeg())
    assert result.page_sizes == [page.size]
    assert_on(result.fields.total.bbox, page.where(invoice_total()))
    for field in (result.fields.invoice_number, result.fields.invoice_date):
        assert field is not None and field.bbox is not None
        assert 0 <= field.bbox[0] < field.bbox[2] <= page.size.width and 0 <= field.bbox[1] < field.bbox[3] <= page.size.height


def test_boxes_are_on_the_exif_upright_image() -> None:
    page = photo(invoice_pdf(), 150).pad(100, 40)
    result = read_total(page.jpeg(exif_quarters=1))
    assert result.page_sizes == [page.size]  # upright: as tall as the page, not as the stored pixels
    assert_on(result.fields.total.bbox, page.where(invoice_total()))


def test_an_upside_down_receipt_has_its_boxes_on_the_image_as_shown() -> None:
    page = photo(receipt_pdf(), 300).pad(60, 40).turn(2)
    result = read_total(page.jpeg(), value="34.00")
    assert result.ocr_engine == "rapidocr"
    assert_on(result.fields.total.bbox, page.where(receipt_total()))


def test_a_big_photo_decoded_at_half_size_has_its_boxes_at_full_size() -> None:
    page = photo(invoice_pdf(), 300).pad(1000, 40)  # > 2 A4 pages at 300 dpi: decoded at half size
    result = read_total(page.jpeg())
    assert result.page_sizes == [page.size]
    assert_on(result.fields.total.bbox, page.where(invoice_total()))


def test_a_scanned_pdf_and_a_text_pdf_put_the_box_in_the_same_place() -> None:
    """Both in PDF points, the space the API's page images are measured in."""
    drawn = invoice_total()
    text = read_total(invoice_pdf())
    scan = read_total(scanned_pdf(render(invoice_pdf(), dpi=200)))
    assert (text.method, scan.method) == ("pdf_text", "ocr")
    assert text.page_sizes == scan.page_sizes
    assert [(size.width, size.height) for size in scan.page_sizes] == [pytest.approx(A4, abs=0.01)]
    assert_on(text.fields.total.bbox, drawn)
    assert_on(scan.fields.total.bbox, drawn)
    assert iou(text.fields.total.bbox, scan.fields.total.bbox) >= 0.5


def test_a_transform_takes_boxes_back_through_every_step() -> None:
    # A 200 x 100 page drawn at half size, cropped, turned a quarter clockwise, scaled 2x.
    transform = (
        PageTransform.drawn_at(200, 100, 100, 50)
        .then((1, 0, -10, 0, 1, -20))  # crop: (x, y) -> (x - 10, y - 20), the crop being 80 x 30
        .then((0, -1, 30, 1, 0, 0))  # a quarter turn clockwise of a 30-high image
        .then((2, 0, 0, 0, 2, 0))
    )
    # The page box (30, 40)-(50, 60) is (15, 20)-(25, 30) at half size, (5, 0)-(15, 10) cropped,
    # (20, 5)-(30, 15) turned, (40, 10)-(60, 30) scaled.
    assert transform.box((40, 10, 60, 30)) == pytest.approx((30, 40, 50, 60))
    assert transform.box((-50, -50, 1000, 1000)) == (0, 0, 200, 100)  # kept on the page


def turned(pdf: bytes) -> bytes:
    """The PDF with its page marked /Rotate 90: displayed turned a quarter clockwise, landscape."""
    document = pdfium.PdfDocument(pdf)
    try:
        document[0].set_rotation(90)
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()
    finally:
        document.close()


def test_a_turned_pdf_page_has_its_boxes_on_the_page_as_displayed() -> None:
    """A scan marked /Rotate 90 shows its text sideways; the reader turns it upright to read it, and
    the boxes are on the page as displayed (landscape), like the text layer's and the API's image."""
    x0, y0, x1, y1 = invoice_total()
    drawn = (A4[1] - y1, x0, A4[1] - y0, x1)  # a quarter clockwise: the left edge becomes the top
    scan = read_total(turned(scanned_pdf(render(invoice_pdf(), dpi=200))))
    text = extract(turned(invoice_pdf()))
    assert (text.method, scan.method) == ("pdf_text", "ocr")
    landscape = [pytest.approx((A4[1], A4[0]), abs=0.01)]
    assert [(size.width, size.height) for size in scan.page_sizes] == landscape
    assert [(size.width, size.height) for size in text.page_sizes] == landscape
    assert_on(scan.fields.total.bbox, drawn)


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_text_layer_displayed_sideways_is_read_the_way_its_text_runs(degrees: int) -> None:
    """A PDF drawn upright and marked /Rotate shows its text sideways (or upside down): the text layer is
    read on the page turned so that the text runs left to right, and the boxes are on the page as displayed."""
    document = pdfium.PdfDocument(invoice_pdf())
    try:
        document[0].set_rotation(degrees)
        out = io.BytesIO()
        document.save(out)
    finally:
        document.close()
    result = read_total(out.getvalue())
    assert result.method == "pdf_text"
    assert result.fields.invoice_number is not None and result.fields.invoice_number.value == "INV-1001"
    assert result.fields.vendor_name is not None and result.fields.vendor_name.value == "ACME Office Supplies Ltd"
    x0, y0, x1, y1 = invoice_total()
    width, height = A4
    drawn = {
        90: (height - y1, x0, height - y0, x1),  # a quarter clockwise: the left edge becomes the top
        180: (width - x1, height - y1, width - x0, height - y0),
        270: (y0, width - x1, y1, width - x0),
    }[degrees]
    assert_on(result.fields.total.bbox, drawn)

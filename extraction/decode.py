"""Decoding: recognise the file by its magic number, open it, and enforce the page and pixel limits.

Nothing here loads pixels before the limits are checked: Pillow reads only the header on `open`,
so a decompression bomb (a small PNG that expands to gigapixels) is refused by its declared size.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pillow_heif
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from extraction.models import ErrorCode, ExtractionOptions, PageSize

pillow_heif.register_heif_opener()

PDF = "application/pdf"
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


class DecodeError(Exception):
    """The file cannot be read as an invoice; `code` says why, `message` says it to a person."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def sniff(data: bytes) -> str | None:
    """The content type the bytes really are (the client's claim is only a hint), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"BM") and int.from_bytes(data[14:18], "little") in _BMP_HEADER_SIZES:
        return "image/bmp"  # "BM" alone starts too many text files
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "image/heic"
    # PDF readers accept a header anywhere in the first KiB (some generators prepend junk).
    if b"%PDF-" in data[:1024]:
        return PDF
    # Imported here: xml_invoice imports this module (DecodeError).
    from extraction.xml_invoice import XML, looks_like_xml

    if looks_like_xml(data):
        return XML  # an e-invoice or not: `xml_invoice.check_xml_invoice` says which, with a reason
    return None


@dataclass
class Decoded:
    """An opened document: a PDF (pages read by `extraction.pdf`) or a stack of image frames."""

    content_type: str
    page_count: int
    pdf: pdfium.PdfDocument | None = None
    image_data: bytes | None = field(default=None, repr=False)

    def frames(self) -> Iterator[np.ndarray]:
        """Image frames as grayscale uint8 arrays (what OCR reads), EXIF-upright, one at a time.

        Each frame is decoded on its own and released before the next; JPEGs are decoded straight to
        grayscale (libjpeg's draft mode), and at half size when they hold more than twice an A4 page
        at 300 dpi (a 600-dpi scan: OCR needs no more), so a 35-megapixel scan costs ~9 MB, not 200.
        """
        assert self.image_data is not None, "frames() is for images; read PDFs with extraction.pdf"
        for index in range(self.page_count):
            try:
                with Image.open(io.BytesIO(self.image_data)) as image:
                    image.seek(index)
                    if image.format == "JPEG":
                        image.draft("L", _draft_size(image.size))
                    ImageOps.exif_transpose(image, in_place=True)
                    frame = to_gray_array(image)
            except (OSError, ValueError, SyntaxError) as exc:
                raise DecodeError(
                    ErrorCode.unreadable_file,
                    f"The image is damaged or truncated (page {index + 1}): {exc}. Please upload the file again.",
                ) from exc
            yield frame

    def page_size(self, number: int) -> PageSize:
        """Page `number`'s own size (1-based), the space results' boxes are in: PDF points, or pixels
        of the EXIF-upright image at full resolution (`frames()` may be smaller)."""
        if self.pdf is not None:
            width, height = self.pdf[number - 1].get_size()  # as displayed: /Rotate applied
            return PageSize(width=width, height=height)
        assert self.image_data is not None
        with Image.open(io.BytesIO(self.image_data)) as image:
            image.seek(number - 1)
            width, height = image.size
            if image.getexif().get(ExifTags.Base.Orientation) in (5, 6, 7, 8):  # a quarter turn
                width, height = height, width
        return PageSize(width=width, height=height)

    def close(self) -> None:
        if self.pdf is not None:
            self.pdf.close()


# An A4 page at 300 dpi: all the resolution OCR needs.
A4_300_DPI_PIXELS = 2480 * 3508


def _draft_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size to ask libjpeg for: half size for very large scans (decoding then costs nothing extra)."""
    width, height = size
    if width * height > 2 * A4_300_DPI_PIXELS:
        return width // 2, height // 2
    return size


def decode(data: bytes, content_type: str | None, options: ExtractionOptions) -> Decoded:
    """Open `data`, or raise DecodeError with the reason it cannot be read."""
    if not data:
        raise DecodeError(ErrorCode.empty_document, "The file is empty.")
    sniffed = sniff(data)
    if sniffed is None:
        claimed = f" (sent as {content_type})" if content_type else ""
        raise DecodeError(
            ErrorCode.unsupported_type,
            f"This file type is not supported{claimed}. Send a PDF, JPEG, PNG, TIFF, WebP, BMP or HEIC file, "
            "or an XML e-invoice.",
        )
    if sniffed == PDF:
        pdf = _open_pdf(data)
        try:
            _check_page_count(len(pdf), options)
        except DecodeError:
            pdf.close()
            raise
        return Decoded(content_type=PDF, page_count=len(pdf), pdf=pdf)
    if sniffed == "application/xml":
        raise DecodeError(ErrorCode.unsupported_type, "An XML file is read by extraction.xml_invoice, not decoded as pages.")
    return _open_image(data, sniffed, options)


def _open_pdf(data: bytes) -> pdfium.PdfDocument:
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise _pdf_open_error(data) from exc
    pdf.init_forms()  # so filled-in form fields are drawn when a page is rendered
    return pdf


def _pdf_open_error(data: bytes) -> DecodeError:
    """Why pdfium refused the PDF. pypdfium2 also refuses PDFs with zero pages, and then reports
    pdfium's last error code, which may be stale; so load it once more through the raw API."""
    raw = pdfium_c.FPDF_LoadMemDocument64(data, len(data), None)
    if raw:
        pdfium_c.FPDF_CloseDocument(raw)
        return DecodeError(ErrorCode.empty_document, "The PDF has no pages.")
    if pdfium_c.FPDF_GetLastError() in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
        return DecodeError(
            ErrorCode.encrypted_pdf, "The PDF is password-protected. Please send a copy without a password."
        )
    return DecodeError(ErrorCode.unreadable_file, "The PDF cannot be read; it is damaged or incomplete.")


def _open_image(data: bytes, content_type: str, options: ExtractionOptions) -> Decoded:
    """Check an image's frames against the limits from their headers; pixels are decoded later."""
    try:
        with warnings.catch_warnings():
            # Pillow warns about big images; the explicit pixel limit below is what decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # BytesIO shares the bytes, no copy
                frames = getattr(image, "n_frames", 1)
                _check_page_count(frames, options)
                for index in range(frames):
                    image.seek(index)
                    # (Pillow itself refuses images of 0x0 pixels as unidentifiable.)
                    _check_pixels(*image.size, options)
    except Image.DecompressionBombError as exc:
        raise DecodeError(
            ErrorCode.too_many_pixels,
            f"The image is too large (more than {Image.MAX_IMAGE_PIXELS * 2:,} pixels). Please send a smaller image.",
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        kind = content_type.removeprefix("image/").upper()
        raise DecodeError(ErrorCode.unreadable_file, f"The {kind} image cannot be read; it is damaged or incomplete.") from exc
    return Decoded(content_type=content_type, page_count=frames, image_data=data)


def _check_page_count(pages: int, options: ExtractionOptions) -> None:
    if pages == 0:
        raise DecodeError(ErrorCode.empty_document, "The document has no pages.")
    if pages > options.max_pages:
        raise DecodeError(
            ErrorCode.too_many_pages,
            f"The document has {pages} pages; at most {options.max_pages} are accepted. Please split it.",
        )


def _check_pixels(width: int, height: int, options: ExtractionOptions) -> None:
    if width * height > options.max_pixels:
        raise DecodeError(
            ErrorCode.too_many_pixels,
            f"The image is {width}x{height} pixels; at most {options.max_pixels:,} pixels per page are accepted. "
            "Please send a smaller image.",
        )


def to_gray_array(image: Image.Image) -> np.ndarray:
    """Pillow image -> grayscale uint8 array; transparent parts count as white paper."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float32)
        span = float(values.max() - values.min()) or 1.0
        return ((values - values.min()) * (255.0 / span)).astype(np.uint8)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("L") if image.mode != "L" else image)

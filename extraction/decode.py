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
from PIL import Image, ImageOps, UnidentifiedImageError

from extraction.models import ErrorCode, ExtractionOptions

pillow_heif.register_heif_opener()

PDF = "application/pdf"
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
    if data.startswith(b"BM"):
        return "image/bmp"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "image/heic"
    # PDF readers accept a header anywhere in the first KiB (some generators prepend junk).
    if b"%PDF-" in data[:1024]:
        return PDF
    return None


@dataclass
class Decoded:
    """An opened document: a PDF (pages read by `extraction.pdf`) or a stack of image frames."""

    content_type: str
    page_count: int
    pdf: pdfium.PdfDocument | None = None
    _image: Image.Image | None = field(default=None, repr=False)

    def frames(self) -> Iterator[np.ndarray]:
        """Image frames as uint8 arrays (grayscale or RGB), EXIF-upright, one at a time."""
        assert self._image is not None, "frames() is for images; read PDFs with extraction.pdf"
        for index in range(self.page_count):
            try:
                self._image.seek(index)
                yield to_array(ImageOps.exif_transpose(self._image))
            except (OSError, ValueError, SyntaxError) as exc:
                raise DecodeError(
                    ErrorCode.unreadable_file,
                    f"The image is damaged or truncated (page {index + 1}): {exc}. Please upload the file again.",
                ) from exc

    def close(self) -> None:
        if self.pdf is not None:
            self.pdf.close()
        if self._image is not None:
            self._image.close()


def decode(data: bytes, content_type: str | None, options: ExtractionOptions) -> Decoded:
    """Open `data`, or raise DecodeError with the reason it cannot be read."""
    if not data:
        raise DecodeError(ErrorCode.empty_document, "The file is empty.")
    sniffed = sniff(data)
    if sniffed is None:
        claimed = f" (sent as {content_type})" if content_type else ""
        raise DecodeError(
            ErrorCode.unsupported_type,
            f"This file type is not supported{claimed}. Send a PDF, JPEG, PNG, TIFF, WebP, BMP or HEIC file.",
        )
    if sniffed == PDF:
        pdf = _open_pdf(data)
        pages = len(pdf)
        _check_page_count(pages, options, pdf.close)
        return Decoded(content_type=PDF, page_count=pages, pdf=pdf)
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
    try:
        with warnings.catch_warnings():
            # Pillow warns about big images; the explicit pixel limit below is what decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # BytesIO shares the bytes, no copy
            frames = getattr(image, "n_frames", 1)
    except Image.DecompressionBombError as exc:
        raise DecodeError(
            ErrorCode.too_many_pixels,
            f"The image is too large (more than {Image.MAX_IMAGE_PIXELS * 2:,} pixels). Please send a smaller image.",
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        kind = content_type.removeprefix("image/").upper()
        raise DecodeError(ErrorCode.unreadable_file, f"The {kind} image cannot be read; it is damaged or incomplete.") from exc

    _check_page_count(frames, options, image.close)
    for index in range(frames):
        try:
            image.seek(index)
        except (OSError, ValueError, EOFError) as exc:
            image.close()
            raise DecodeError(ErrorCode.unreadable_file, f"Page {index + 1} of the image cannot be read: {exc}") from exc
        # (Pillow itself refuses images of 0x0 pixels as unidentifiable.)
        width, height = image.size
        if width * height > options.max_pixels:
            image.close()
            raise DecodeError(
                ErrorCode.too_many_pixels,
                f"The image is {width}x{height} pixels; at most {options.max_pixels:,} pixels per page are accepted. "
                "Please send a smaller image.",
            )
    return Decoded(content_type=content_type, page_count=frames, _image=image)


def _check_page_count(pages: int, options: ExtractionOptions, close: object) -> None:
    if pages == 0:
        close()  # type: ignore[operator]
        raise DecodeError(ErrorCode.empty_document, "The document has no pages.")
    if pages > options.max_pages:
        close()  # type: ignore[operator]
        raise DecodeError(
            ErrorCode.too_many_pages,
            f"The document has {pages} pages; at most {options.max_pages} are accepted. Please split it.",
        )


def to_array(image: Image.Image) -> np.ndarray:
    """Pillow image -> uint8 array: grayscale stays (H, W), everything else becomes RGB on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float32)
        span = float(values.max() - values.min()) or 1.0
        return ((values - values.min()) * (255.0 / span)).astype(np.uint8)
    if image.mode in ("1", "L"):
        return np.asarray(image.convert("L"))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(image.convert("RGB"))


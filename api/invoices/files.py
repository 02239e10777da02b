"""Checking uploaded bytes before anything is stored: type by magic number, size, pixels, pages, integrity.

A rejected file raises `FileRejected` with the HTTP status and a message a person can act on.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from dataclasses import dataclass

import pillow_heif
import pypdfium2 as pdfium
from PIL import Image, UnidentifiedImageError

from core.config import Settings
from extraction.decode import sniff

pillow_heif.register_heif_opener()

ACCEPTED = "JPEG, PNG, TIFF, WebP, BMP, HEIC/HEIF or PDF"


class FileRejected(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass(frozen=True)
class CheckedFile:
    content_type: str
    pages: int


def check_file(data: bytes, settings: Settings) -> CheckedFile:
    if not data:
        raise FileRejected(422, "The file is empty")
    if len(data) > settings.max_upload_bytes:
        raise FileRejected(413, _too_large(len(data), settings))
    content_type = sniff(data)  # the real type of the bytes, whatever the client declared
    if content_type is None:
        raise FileRejected(415, f"This is not an image or a PDF; accepted types are {ACCEPTED}")
    if content_type == "application/pdf":
        return CheckedFile(content_type, _check_pdf(data, settings))
    return CheckedFile(content_type, _check_image(data, content_type, settings))


def _too_large(size: int, settings: Settings) -> str:
    return f"The file is {size / 1e6:.1f} MB; the limit is {settings.max_upload_bytes / 1e6:.1f} MB"


def _check_image(data: bytes, content_type: str, settings: Settings) -> int:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width == 0 or height == 0:
                raise FileRejected(422, "The image has no pixels (0 width or height)")
            if width * height > settings.max_image_pixels:
                raise FileRejected(
                    422,
                    f"The image is {width}x{height} ({width * height / 1e6:.0f} megapixels), over the limit of "
                    f"{settings.max_image_pixels / 1e6:.0f} megapixels (a decompression bomb is refused too)",
                )
            if content_type == "image/jpeg":
                # Decoding at 1/8 scale still walks the whole entropy stream, so truncation shows, at little cost.
                image.draft("L", (max(1, width // 8), max(1, height // 8)))
            image.load()
            pages = getattr(image, "n_frames", 1)
    except FileRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FileRejected(422, "The image declares far more pixels than its size allows (a decompression bomb)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise FileRejected(422, f"The image is damaged or truncated and cannot be read ({exc})") from None
    return pages


def _check_pdf(data: bytes, settings: Settings) -> int:
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise FileRejected(422, "The PDF is password-protected; upload a copy without a password") from None
        raise FileRejected(422, f"The PDF is damaged and cannot be read ({exc})") from None
    try:
        pages = len(pdf)
    finally:
        pdf.close()
    if pages == 0:
        raise FileRejected(422, "The PDF has no pages")
    if pages > settings.max_pdf_pages:
        raise FileRejected(422, f"The PDF has {pages} pages; the limit is {settings.max_pdf_pages}")
    return pages


_DATA_URL = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(;[\w-]+=[^;,]*)*;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(rb"\s+")


def decode_base64(content: str, settings: Settings) -> tuple[bytes, str | None]:
    """Decode standard or URL-safe base64 (with or without a `data:` prefix and line breaks).

    Returns the bytes and the type named in a data URL, if any.
    """
    declared = None
    if match := _DATA_URL.match(content[:200]):
        declared = match.group("type")
        content = content[match.end():]
    if len(content) * 3 // 4 > settings.max_upload_bytes + 3:
        raise FileRejected(413, _too_large(len(content) * 3 // 4, settings))
    try:
        # The common case, one strict pass; anything else (line breaks, URL-safe alphabet, no padding) is cleaned first.
        return binascii.a2b_base64(content, strict_mode=True), declared
    except (binascii.Error, ValueError):
        pass
    raw = _WHITESPACE.sub(b"", content.encode("ascii", errors="replace"))
    raw = raw.replace(b"-", b"+").replace(b"_", b"/")
    raw += b"=" * (-len(raw) % 4)
    try:
        return base64.b64decode(raw, validate=True), declared
    except (binascii.Error, ValueError):
        raise FileRejected(422, "content_base64 is not valid base64") from None

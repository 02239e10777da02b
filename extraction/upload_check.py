"""Is this upload a file we can read? The one check of uploaded bytes, before anything is stored.

`check_upload(data, limits)` recognises the type by its magic number (the client's claim is only a hint),
enforces the size, page and pixel limits, and checks integrity without holding whole frames:
- PNG: every chunk's CRC is checked and the compressed pixel stream is inflated in 1 MiB pieces that are
  thrown away, so a truncated or damaged file is found at the cost of a buffer, not of its pixels;
- JPEG: decoded at 1/8 scale in grey (libjpeg still walks the whole entropy stream, so truncation shows);
- PDF: opened by pdfium (damaged, encrypted, page count);
- other images (TIFF, WebP, BMP, HEIC): each frame decoded on its own and released before the next;
  callers bound how many checks run at once.
Each type has one checker in `CHECKERS`; a new type (XML e-invoices) is a new entry there.

A refusal raises `UploadRefused` with a `Refusal` (what kind of problem, for the caller to map onto its
own answer) and a message a person can act on.
"""

from __future__ import annotations

import io
import threading
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import pillow_heif
import pypdfium2 as pdfium
from PIL import Image, UnidentifiedImageError

from extraction.decode import DecodeError, sniff

pillow_heif.register_heif_opener()

# PDFium is not thread-safe, not even across documents: every pdfium call of a process that runs them in
# threads (the API: upload checks, page images) holds this lock.
PDFIUM_LOCK = threading.Lock()

ACCEPTED = "JPEG, PNG, TIFF, WebP, BMP, HEIC/HEIF, PDF or an XML e-invoice (UBL, CII)"
_INFLATE_PIECE = 1 << 20


class Refusal(StrEnum):
    empty = "empty"
    too_large = "too_large"
    unsupported_type = "unsupported_type"
    unreadable = "unreadable"
    encrypted = "encrypted"
    too_many_pages = "too_many_pages"
    too_many_pixels = "too_many_pixels"


class UploadRefused(Exception):
    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.message = message


@dataclass(frozen=True)
class UploadLimits:
    """The limits an upload must keep; the same numbers bound decoding in the pipeline."""

    max_bytes: int = 25 * 1024 * 1024
    max_pixels: int = 80_000_000
    max_pages: int = 50


@dataclass(frozen=True)
class CheckedUpload:
    content_type: str
    pages: int


def check_upload(data: bytes, limits: UploadLimits) -> CheckedUpload:
    """The type and page count of `data`, or `UploadRefused` saying why it cannot be accepted."""
    if not data:
        raise UploadRefused(Refusal.empty, "The file is empty")
    if len(data) > limits.max_bytes:
        raise UploadRefused(Refusal.too_large, too_large_message(len(data), limits))
    content_type = sniff(data)
    checker = CHECKERS.get(content_type or "")
    if checker is None:
        raise UploadRefused(Refusal.unsupported_type, f"This is not an image or a PDF; accepted types are {ACCEPTED}")
    return CheckedUpload(content_type, checker(data, limits))  # type: ignore[arg-type]


def too_large_message(size: int, limits: UploadLimits) -> str:
    return f"The file is {size / 1e6:.1f} MB; the limit is {limits.max_bytes / 1e6:.1f} MB"


def check_pages(pages: int, limits: UploadLimits, kind: str) -> None:
    """The page (or frame) limit: the one rule for uploads and for decoding."""
    if pages == 0:
        raise UploadRefused(Refusal.empty, f"The {kind} has no pages")
    if pages > limits.max_pages:
        raise UploadRefused(Refusal.too_many_pages, f"The {kind} has {pages} pages; the limit is {limits.max_pages}")


def check_pixels(width: int, height: int, limits: UploadLimits) -> None:
    """The pixel limit of one page or frame: the one rule for uploads and for decoding."""
    if width == 0 or height == 0:
        raise UploadRefused(Refusal.unreadable, "The image has no pixels (0 width or height)")
    if width * height > limits.max_pixels:
        raise UploadRefused(
            Refusal.too_many_pixels,
            f"The image is {width}x{height} ({width * height / 1e6:.0f} megapixels), over the limit of "
            f"{limits.max_pixels / 1e6:.0f} megapixels (a decompression bomb is refused too)",
        )


def _damaged(exc: BaseException | str) -> UploadRefused:
    return UploadRefused(Refusal.unreadable, f"The image is damaged or truncated and cannot be read ({exc})")


def _check_pdf(data: bytes, limits: UploadLimits) -> int:
    with PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise UploadRefused(Refusal.encrypted, "The PDF is password-protected; upload a copy without a password") from None
            raise UploadRefused(Refusal.unreadable, f"The PDF is damaged and cannot be read ({exc})") from None
        try:
            pages = len(pdf)
        finally:
            pdf.close()
    check_pages(pages, limits, "PDF")
    return pages


def _check_image(data: bytes, limits: UploadLimits) -> int:
    try:
        with warnings.catch_warnings():
            # The explicit pixel limit decides; Pillow's own bomb check (twice its limit) still raises an error.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                frames = getattr(image, "n_frames", 1)
                check_pages(frames, limits, "image")
                check_pixels(*image.size, limits)
                if image.format == "PNG":
                    _check_png_stream(data, image.size)
                    return frames
                if image.format == "JPEG":
                    image.draft("L", (max(1, image.width // 8), max(1, image.height // 8)))
                    image.load()
                    return frames
                for index in range(frames):
                    image.seek(index)
                    check_pixels(*image.size, limits)
                    image.load()
                    image.im = None  # release this frame's pixels before the next one is decoded
    except UploadRefused:
        raise
    except Image.DecompressionBombError:
        raise UploadRefused(
            Refusal.too_many_pixels, "The image declares far more pixels than its size allows (a decompression bomb)"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise _damaged(exc) from None
    return frames


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _check_png_stream(data: bytes, size: tuple[int, int]) -> None:
    """Walk the chunks (each CRC checked) up to IEND and inflate the image data in pieces, keeping none."""
    view = memoryview(data)
    position, inflated, header = 8, 0, b""
    inflater = zlib.decompressobj()
    while True:
        if position + 12 > len(view):
            raise _damaged("the file ends before its last chunk")
        length = int.from_bytes(view[position:position + 4], "big")
        kind = bytes(view[position + 4:position + 8])
        end = position + 12 + length
        if end > len(view):
            raise _damaged(f"the file ends inside a {kind.decode(errors='replace')} chunk")
        body = view[position + 8:position + 8 + length]
        if zlib.crc32(view[position + 4:position + 8 + length]) != int.from_bytes(view[end - 4:end], "big"):
            raise _damaged(f"a {kind.decode(errors='replace')} chunk fails its checksum")
        if kind == b"IHDR":
            header = bytes(body)
        elif kind == b"IDAT":
            try:
                pending: bytes | memoryview = body
                while pending:
                    inflated += len(inflater.decompress(pending, _INFLATE_PIECE))
                    pending = inflater.unconsumed_tail
            except zlib.error as exc:
                raise _damaged(f"the image data is corrupt: {exc}") from None
        elif kind == b"IEND":
            break
        position = end
    if not inflater.eof:
        raise _damaged("the image data ends early")
    if len(header) == 13 and header[12] == 0:  # not interlaced: the stream's exact length is known
        width, height = size
        bits = header[8] * _PNG_CHANNELS.get(header[9], 4)
        expected = height * (1 + (width * bits + 7) // 8)
        if inflated != expected:
            raise _damaged(f"the image data holds {inflated:,} bytes where its size needs {expected:,}")


def _check_xml(data: bytes, limits: UploadLimits) -> int:
    # Imported here: only XML uploads need lxml and the e-invoice readers.
    from extraction.xml_invoice import check_xml_invoice

    try:
        check_xml_invoice(data)
    except DecodeError as exc:
        refusal = Refusal.unsupported_type if exc.code == "unsupported_type" else Refusal.unreadable
        raise UploadRefused(refusal, exc.message) from None
    return 1


CHECKERS: dict[str, Callable[[bytes, UploadLimits], int]] = {
    "application/pdf": _check_pdf,
    "application/xml": _check_xml,
    **{kind: _check_image for kind in
       ("image/jpeg", "image/png", "image/tiff", "image/webp", "image/bmp", "image/heic")},
}

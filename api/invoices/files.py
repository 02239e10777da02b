"""Uploaded bytes on their way in and out: reading within the size limit, base64, the check, filenames.

Whether bytes are a file we can read is decided by `extraction.upload_check` (the one owner of that rule);
this module runs it off the event loop, a bounded number at a time, and turns a refusal into an answer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ctypes
import ctypes.util
import re
import unicodedata
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from api.errors import ApiError, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from core.config import Settings
from extraction.upload_check import CheckedUpload, Refusal, UploadLimits, UploadRefused, check_upload

_REFUSAL_ERRORS: dict[Refusal, type[ApiError]] = {
    Refusal.too_large: PayloadTooLarge, Refusal.unsupported_type: UnsupportedMediaType,
}
# Checks of bytes smaller than this leave nothing worth handing back to the OS.
_TRIM_AFTER_BYTES = 1 << 20


def upload_limits(settings: Settings) -> UploadLimits:
    return UploadLimits(
        max_bytes=settings.max_upload_bytes, max_pixels=settings.max_image_pixels, max_pages=settings.max_pdf_pages
    )


class UploadChecker:
    """Runs `check_upload` in worker threads, at most `upload_checks_at_once` at a time: each check may hold
    one decoded frame, so the number at once is what bounds the API's memory under a burst of uploads."""

    def __init__(self, settings: Settings) -> None:
        self.limits = upload_limits(settings)
        self._slots = asyncio.Semaphore(max(1, settings.upload_checks_at_once))

    async def check(self, data: bytes) -> CheckedUpload:
        async with self._slots:
            try:
                return await run_in_threadpool(check_upload, data, self.limits)
            except UploadRefused as refused:
                raise _REFUSAL_ERRORS.get(refused.refusal, Unprocessable)(refused.message) from None
            finally:
                if len(data) >= _TRIM_AFTER_BYTES:
                    await run_in_threadpool(release_free_memory)


def get_upload_checker(request: Request) -> UploadChecker:
    return request.app.state.upload_checker


UploadCheckerDep = Annotated[UploadChecker, Depends(get_upload_checker)]


def _load_malloc_trim():  # noqa: ANN202
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None


_MALLOC_TRIM = _load_malloc_trim()


def release_free_memory() -> None:
    """Hand memory freed by a decode back to the OS. glibc keeps freed blocks of worker-thread arenas for
    reuse, so without this a burst of large checks leaves the process at its peak size for good."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


async def read_upload(file: UploadFile, settings: Settings) -> bytes:
    """Read an uploaded part, stopping as soon as it passes the size limit."""
    chunks, size = [], 0
    while chunk := await file.read(1 << 20):
        size += len(chunk)
        if size > settings.max_upload_bytes:
            raise PayloadTooLarge(f"The file is over the limit of {settings.max_upload_bytes / 1e6:.1f} MB")
        chunks.append(chunk)
    return b"".join(chunks)


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
        size = len(content) * 3 // 4
        raise PayloadTooLarge(f"The file is {size / 1e6:.1f} MB; the limit is {settings.max_upload_bytes / 1e6:.1f} MB")
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
        raise Unprocessable("content_base64 is not valid base64") from None


MAX_FILENAME_CHARS = 255


def safe_filename(name: str | None) -> str:
    """A filename that is safe in a header and on a disk: no control characters, no path, not empty."""
    name = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(name.split()).strip(" .")
    return name[:MAX_FILENAME_CHARS] or "upload"


def escaped_filename(name: str | None) -> str | None:
    """The name as the person sent it, with control characters written as escapes (`\\n`, `\\x00`), kept
    beside the safe name so nothing they typed is lost; None when it is the safe name already."""
    if name is None:
        return None
    escaped = "".join(c.encode("unicode_escape").decode() if unicodedata.category(c) in ("Cc", "Cf") else c
                      for c in name)[:1024]
    return escaped if escaped != safe_filename(name) else None


def attachment(filename: str) -> str:
    """`Content-Disposition: attachment` with an ASCII fallback and the exact name as RFC 6266 `filename*`."""
    name = safe_filename(filename)
    fallback = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_").replace("\\", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"

"""GET /invoices/{id}/pages/{n}: one page of the original file as an image a browser shows, at a chosen width.

Pages are EXIF-upright (images) or rendered by pdfium (PDFs), scaled to exactly `width` pixels wide. The
headers `X-Page-Width` / `X-Page-Height` give the page's own size, the space the extraction's boxes are in
(image pixels of the upright original, PDF points): a box maps onto this image by `width / X-Page-Width`.

Rendered pages are kept in an in-process LRU cache bounded by bytes, keyed by the stored file's id, the page,
the width and the format; a replaced file has a new id, so nothing stale is ever served. Rendering runs in
worker threads, at most `RENDER_CONCURRENCY` at a time per process; pdfium calls hold the process's one
pdfium lock (pdfium is not thread-safe), image scaling and encoding run beside it.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated, Literal

import pillow_heif
import pypdfium2 as pdfium
from beanie import PydanticObjectId
from fastapi import APIRouter, Header, Path, Query, Response
from PIL import Image, ImageOps
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentUser, DatabaseDep
from api.errors import NotFound, Unprocessable, error_responses
from api.invoices import service
from core import storage
from extraction.upload_check import PDFIUM_LOCK

pillow_heif.register_heif_opener()

router = APIRouter(prefix="/invoices", tags=["invoices"])

MIN_WIDTH, MAX_WIDTH = 100, 2000
RENDER_CONCURRENCY = 2
CACHE_BYTES = 64 * 1024 * 1024
ImageFormat = Literal["png", "webp"]
MEDIA_TYPES: dict[str, str] = {"png": "image/png", "webp": "image/webp"}


@dataclass(frozen=True)
class RenderedPage:
    data: bytes
    page_width: float  # the page's own size: image pixels (upright) or PDF points
    page_height: float


class PageCache:
    """Least recently used rendered pages, at most `limit` bytes in all."""

    def __init__(self, limit: int = CACHE_BYTES) -> None:
        self.limit = limit
        self.size = 0
        self._items: OrderedDict[tuple, RenderedPage] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> RenderedPage | None:
        with self._lock:
            page = self._items.get(key)
            if page is not None:
                self._items.move_to_end(key)
            return page

    def put(self, key: tuple, page: RenderedPage) -> None:
        if len(page.data) > self.limit:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = page
            self.size += len(page.data)
            while self.size > self.limit:
                _, dropped = self._items.popitem(last=False)
                self.size -= len(dropped.data)


CACHE = PageCache()
_RENDERING = asyncio.Semaphore(RENDER_CONCURRENCY)


def render_page(data: bytes, content_type: str, number: int, width: int, image_format: ImageFormat) -> RenderedPage:
    """Page `number` (1-based) of the file, `width` pixels wide, encoded as `image_format`. Blocking."""
    if content_type == "application/pdf":
        with PDFIUM_LOCK:  # encoding below runs outside it
            pdf = pdfium.PdfDocument(data)
            try:
                page = pdf[number - 1]
                page_width, page_height = page.get_size()
                bitmap = page.render(scale=width / page_width, may_draw_forms=True)
                image = bitmap.to_pil().copy()  # the copy owns its pixels; the bitmap's go with the document
                bitmap.close()
                page.close()
            finally:
                pdf.close()
    else:
        with Image.open(io.BytesIO(data)) as original:
            original.seek(number - 1)
            page_width, page_height = _upright_size(original)
            if original.format == "JPEG":  # decode at the smallest scale that is still at least `width` wide
                original.draft("RGB", (width, width * original.height // max(1, original.width)))
            upright = ImageOps.exif_transpose(original)
            if upright.mode not in ("RGB", "RGBA", "L"):
                upright = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
            height = max(1, round(upright.height * width / upright.width))
            image = upright.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if image_format == "webp":
        image.save(out, "WEBP", quality=85, method=2)  # method 2: near the smallest files, far faster than 3+
    else:
        image.save(out, "PNG", compress_level=3)  # higher levels cost more time than they save bytes
    return RenderedPage(out.getvalue(), float(page_width), float(page_height))


def _upright_size(image: Image.Image) -> tuple[int, int]:
    """The image's size turned as its EXIF orientation says."""
    width, height = image.size
    if image.getexif().get(0x0112) in (5, 6, 7, 8):  # orientations that swap width and height
        return height, width
    return width, height


def _format(requested: ImageFormat | None, accept: str | None) -> ImageFormat:
    if requested is not None:
        return requested
    return "webp" if accept and "image/webp" in accept else "png"


@router.get(
    "/{invoice_id}/pages/{number}",
    response_class=Response,
    responses={
        200: {
            "description": "The page as an image; `X-Page-Width`/`X-Page-Height` give the box coordinates' space",
            "content": {"image/png": {}, "image/webp": {}},
            "headers": {
                "X-Page-Width": {"description": "Page width in box units", "schema": {"type": "number"}},
                "X-Page-Height": {"description": "Page height in box units", "schema": {"type": "number"}},
            },
        },
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
        **error_responses(404, 422),
    },
)
async def page_image(
    invoice_id: PydanticObjectId,
    number: Annotated[int, Path(ge=1, description="1-based page number")],
    user: CurrentUser,
    database: DatabaseDep,
    width: Annotated[int, Query(ge=MIN_WIDTH, le=MAX_WIDTH, description="Width of the image in pixels")] = 1000,
    format: Annotated[ImageFormat | None, Query(description="png or webp; default from Accept, else png")] = None,  # noqa: A002
    accept: Annotated[str | None, Header()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Page `number` of the invoice's file as PNG or WebP, `width` pixels wide (100–2000). Someone else's
    invoice and a page past the last both answer 404."""
    invoice = await service.get_visible(invoice_id, user)
    if invoice is None:
        raise NotFound("No such invoice")
    pages = invoice.pages or 1
    if number > pages:
        raise NotFound(f"The invoice has {pages} page{'s' if pages != 1 else ''}; there is no page {number}")
    image_format = _format(format, accept)
    key = (str(invoice.file_id), number, width, image_format)
    etag = '"' + "-".join(map(str, key)) + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Accept"}
    if if_none_match == etag:
        return Response(status_code=304, headers=headers)
    rendered = CACHE.get(key)
    if rendered is None:
        data = await storage.read_file(database, invoice.file_id)
        async with _RENDERING:
            try:
                rendered = await run_in_threadpool(render_page, data, invoice.content_type, number, width, image_format)
            except (OSError, ValueError, SyntaxError, EOFError, IndexError, pdfium.PdfiumError) as exc:
                raise Unprocessable(f"Page {number} of this file cannot be rendered ({exc})") from None
        CACHE.put(key, rendered)
    headers.update({"X-Page-Width": f"{rendered.page_width:g}", "X-Page-Height": f"{rendered.page_height:g}"})
    return Response(rendered.data, media_type=MEDIA_TYPES[image_format], headers=headers)

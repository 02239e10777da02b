"""/invoices: upload (JSON base64 or multipart), list, read, correct, replace, reprocess, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from beanie import PydanticObjectId
from fastapi import APIRouter, HTTPException, Query, Response, UploadFile, status
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentUser, DatabaseDep, SettingsDep
from api.invoices import service
from api.invoices.files import CheckedFile, FileRejected, check_file, decode_base64
from api.invoices.schemas import InvoiceCreate, InvoicePage, InvoicePatch, InvoicePublic, SortKey
from core import storage
from core.config import Settings
from core.models import Invoice, InvoiceStatus, User
from core.review import ReviewState

router = APIRouter(prefix="/invoices", tags=["invoices"])

NOT_FOUND = "No such invoice"

REJECTIONS = {
    413: {"description": "The file is over the size limit"},
    415: {"description": "The bytes are not an image or a PDF"},
    422: {"description": "The file is empty, damaged, truncated, too large in pixels or pages, or not valid base64"},
}


async def _visible_or_404(invoice_id: PydanticObjectId, user: User) -> Invoice:
    invoice = await service.get_visible(invoice_id, user)
    if invoice is None:
        # The same answer whether it does not exist or belongs to someone else: existence is not revealed.
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)
    return invoice


async def _check(data: bytes, settings: Settings) -> CheckedFile:
    """Check the bytes off the event loop: Pillow and pdfium release the GIL while decoding."""
    return await run_in_threadpool(check_file, data, settings)


async def _read_upload(file: UploadFile, settings: Settings) -> bytes:
    """Read an uploaded part, stopping as soon as it passes the size limit."""
    chunks, size = [], 0
    while chunk := await file.read(1 << 20):
        size += len(chunk)
        if size > settings.max_upload_bytes:
            raise FileRejected(413, f"The file is over the limit of {settings.max_upload_bytes / 1e6:.1f} MB")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("", response_model=InvoicePublic, status_code=status.HTTP_202_ACCEPTED, responses=REJECTIONS)
async def upload_base64(body: InvoiceCreate, user: CurrentUser, settings: SettingsDep, database: DatabaseDep):  # noqa: ANN201
    """Upload as the mobile app does: JSON with the file in base64. Extraction runs in the background."""
    data, _ = decode_base64(body.content_base64, settings)
    checked = await _check(data, settings)
    invoice = await service.create(database, user, data, body.filename, checked)
    return service.to_public(invoice)


@router.post("/upload", response_model=InvoicePublic, status_code=status.HTTP_202_ACCEPTED, responses=REJECTIONS)
async def upload_multipart(file: UploadFile, user: CurrentUser, settings: SettingsDep, database: DatabaseDep):  # noqa: ANN201
    """Upload a file as multipart/form-data (field `file`)."""
    data = await _read_upload(file, settings)
    checked = await _check(data, settings)
    invoice = await service.create(database, user, data, file.filename or "upload", checked)
    return service.to_public(invoice)


@router.get("", response_model=InvoicePage)
async def list_invoices(
    user: CurrentUser,
    status_: Annotated[InvoiceStatus | None, Query(alias="status")] = None,
    review: Annotated[ReviewState | None, Query(description="The review queue: `needs_review`")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Prefix search: vendor, invoice number, filename")] = None,
    date_from: Annotated[datetime | None, Query(description="Uploaded at or after (ISO 8601)")] = None,
    date_to: Annotated[datetime | None, Query(description="Uploaded before (ISO 8601)")] = None,
    sort: SortKey = "-created_at",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
) -> InvoicePage:
    try:
        items, next_cursor = await service.list_visible(
            user, status=status_, review=review, q=q, date_from=date_from, date_to=date_to, sort=sort, limit=limit,
            cursor=cursor,
        )
    except service.BadCursor as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from None
    return InvoicePage(items=[service.to_public(i) for i in items], next_cursor=next_cursor)


@router.get("/{invoice_id}", response_model=InvoicePublic)
async def get_invoice(invoice_id: PydanticObjectId, user: CurrentUser):  # noqa: ANN201
    return service.to_public(await _visible_or_404(invoice_id, user))


@router.get("/{invoice_id}/file", response_class=Response, responses={200: {"description": "The original bytes"}})
async def download_file(invoice_id: PydanticObjectId, user: CurrentUser, database: DatabaseDep) -> Response:
    invoice = await _visible_or_404(invoice_id, user)
    data = await storage.read_file(database, invoice.file_id)
    safe_name = invoice.filename.replace('"', "").encode("ascii", "replace").decode()
    return Response(
        content=data, media_type=invoice.content_type,
        headers={"Content-Disposition": f'inline; filename="{safe_name}"'},
    )


@router.patch("/{invoice_id}", response_model=InvoicePublic)
async def correct_invoice(invoice_id: PydanticObjectId, body: InvoicePatch, user: CurrentUser):  # noqa: ANN201
    """Correct extracted fields. The machine's values stay in `extraction`; yours go to `corrections`."""
    invoice = await _visible_or_404(invoice_id, user)
    try:
        return service.to_public(await service.correct(invoice, body.fields, user))
    except service.BadCorrection as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from None


@router.put("/{invoice_id}/file", response_model=InvoicePublic, status_code=status.HTTP_202_ACCEPTED,
            responses=REJECTIONS)
async def replace_file(  # noqa: ANN201
    invoice_id: PydanticObjectId, file: UploadFile, user: CurrentUser, settings: SettingsDep, database: DatabaseDep
):
    """Replace the file (e.g. a better photo). The invoice is extracted again."""
    invoice = await _visible_or_404(invoice_id, user)
    data = await _read_upload(file, settings)
    checked = await _check(data, settings)
    return service.to_public(await service.replace_file(database, invoice, data, file.filename, checked))


@router.post("/{invoice_id}/reprocess", response_model=InvoicePublic, status_code=status.HTTP_202_ACCEPTED)
async def reprocess(invoice_id: PydanticObjectId, user: CurrentUser):  # noqa: ANN201
    """Run the extraction again (corrections are kept)."""
    return service.to_public(await service.requeue(await _visible_or_404(invoice_id, user)))


@router.delete("/{invoice_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_invoice(invoice_id: PydanticObjectId, user: CurrentUser, database: DatabaseDep) -> Response:
    await service.delete(database, await _visible_or_404(invoice_id, user))
    return Response(status_code=status.HTTP_204_NO_CONTENT)

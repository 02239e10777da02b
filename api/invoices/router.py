"""/invoices: upload (JSON base64 or multipart), list, read, correct, replace, reprocess, delete."""

from __future__ import annotations

from typing import Annotated

from beanie import PydanticObjectId
from fastapi import APIRouter, Query, Response, UploadFile, status
from starlette.convertors import Convertor, register_url_convertor

from api.deps import CurrentUser, DatabaseDep, SettingsDep
from api.idempotency import IDEMPOTENCY_ERRORS, IdempotencyKey, create_once
from api.errors import NotFound, PayloadTooLarge, Unprocessable, error_responses
from api.invoices import listing, service
from api.invoices.files import UploadCheckerDep, attachment, decode_base64, read_upload
from api.invoices.schemas import CURSOR_PATTERN, InvoiceCreate, IsoDatetime, InvoicePage, InvoicePatch, InvoicePublic, SortKey
from core import storage
from core.models import Invoice, InvoiceStatus, User
from core.review import ReviewState


class InvoiceIdConvertor(Convertor[str]):
    """A path segment that can name an invoice: anything but the fixed word `upload`, so that
    `PATCH /invoices/upload` is a wrong method on the upload route (405) rather than a bad invoice id."""

    regex = r"(?!upload(?:/|$))[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("invoice_id", InvoiceIdConvertor())

router = APIRouter(prefix="/invoices", tags=["invoices"])

NOT_FOUND = "No such invoice"
ONE_INVOICE = "/{invoice_id:invoice_id}"

UPLOAD_ERRORS = {
    **error_responses(413, 415, 422),
    413: {"description": "The file is over the size limit"},
    415: {"description": "The bytes are not an image, a PDF or an XML e-invoice"},
    422: {"description": "The file is empty, damaged, truncated, too large in pixels or pages, or not valid base64"},
}
# Originals are shown by no page of ours: a browser must save them, never run what they hold.
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}


async def _visible_or_404(invoice_id: PydanticObjectId, user: User) -> Invoice:
    invoice = await service.get_visible(invoice_id, user)
    if invoice is None:
        # The same answer whether it does not exist or belongs to someone else: existence is not revealed.
        raise NotFound(NOT_FOUND)
    return invoice


@router.post("", response_model=InvoicePublic, status_code=status.HTTP_202_ACCEPTED,
             responses={**UPLOAD_ERRORS, **error_responses(409), **IDEMPOTENCY_ERRORS})
async def upload_base64(  # noqa: ANN201
    body: InvoiceCreate, user: CurrentUser, settings: SettingsDep, database: DatabaseDep, checker: UploadCheckerDep,
    response: Response, idempotency_key: IdempotencyKey = None,
):
    """Upload as the mobile app does: JSON with the file in base64. Extraction runs in the background."""
    data, _ = decode_base64(body.content_base64, settings)
    checked = await checker.check(data)
    invoice = await create_once(
        user, idempotency_key, data, response,
        lambda invoice_id: service.create(database, user, data, body.filename, checked, invoice_id))
    return service.to_public(invoice)


@router.post("/upload", response_model=InvoicePublic, status_code=status.HTTP_202_ACCEPTED,
             responses={**UPLOAD_ERRORS, **error_responses(409), **IDEMPOTENCY_ERRORS})
async def upload_multipart(  # noqa: ANN201
    file: UploadFile, user: CurrentUser, settings: SettingsDep, database: DatabaseDep, checker: UploadCheckerDep,
    response: Response, idempotency_key: IdempotencyKey = None,
):
    """Upload a file as multipart/form-data (field `file`)."""
    data = await read_upload(file, settings)
    checked = await checker.check(data)
    invoice = await create_once(
        user, idempotency_key, data, response,
        lambda invoice_id: service.create(database, user, data, file.filename, checked, invoice_id))
    return service.to_public(invoice)


@router.get("", response_model=InvoicePage, responses=error_responses(422))
async def list_invoices(
    user: CurrentUser,
    status_: Annotated[InvoiceStatus | None, Query(alias="status")] = None,
    review: Annotated[ReviewState | None, Query(description="The review queue: `needs_review`")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Prefix search: vendor, invoice number, filename")] = None,
    date_from: Annotated[IsoDatetime | None, Query(description="Uploaded at or after (ISO 8601)")] = None,
    date_to: Annotated[IsoDatetime | None, Query(description="Uploaded before (ISO 8601)")] = None,
    sort: SortKey = "-created_at",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(
        max_length=200, pattern=CURSOR_PATTERN, description="`next_cursor` of the previous page")] = None,
) -> InvoicePage:
    try:
        items, next_cursor = await listing.list_visible(
            user, status=status_, review=review, q=q, date_from=date_from, date_to=date_to, sort=sort, limit=limit,
            cursor=cursor,
        )
    except listing.BadCursor as exc:
        raise Unprocessable(str(exc)) from None
    return InvoicePage(items=items, next_cursor=next_cursor)


@router.get(ONE_INVOICE, response_model=InvoicePublic, responses=error_responses(404))
async def get_invoice(invoice_id: PydanticObjectId, user: CurrentUser):  # noqa: ANN201
    return service.to_public(await _visible_or_404(invoice_id, user))


@router.get(ONE_INVOICE + "/file", response_class=Response,
            responses={200: {"description": "The original bytes, as an attachment"}, **error_responses(404)})
async def download_file(invoice_id: PydanticObjectId, user: CurrentUser, database: DatabaseDep) -> Response:
    invoice = await _visible_or_404(invoice_id, user)
    data = await storage.read_file(database, invoice.file_id)
    return Response(
        content=data, media_type=invoice.content_type,
        headers={"Content-Disposition": attachment(invoice.filename), **FILE_HEADERS},
    )


@router.patch(ONE_INVOICE, response_model=InvoicePublic, responses=error_responses(404, 413, 422))
async def correct_invoice(  # noqa: ANN201
    invoice_id: PydanticObjectId, body: InvoicePatch, user: CurrentUser, settings: SettingsDep
):
    """Correct extracted fields. The machine's values stay in `extraction`; yours go to `corrections`.

    Limits: text fields up to MAX_TEXT_FIELD_CHARS characters, up to MAX_LINE_ITEMS line items, amounts up to
    MAX_MONEY_DIGITS significant digits with at most 4 after the point (422 states the rule broken)."""
    invoice = await _visible_or_404(invoice_id, user)
    try:
        return service.to_public(await service.correct(invoice, body.fields, user, settings))
    except service.BadCorrection as exc:
        raise Unprocessable(str(exc)) from None
    except service.TooLarge as exc:
        raise PayloadTooLarge(str(exc)) from None


@router.put(ONE_INVOICE + "/file", response_model=InvoicePublic, status_code=status.HTTP_202_ACCEPTED,
            responses={**UPLOAD_ERRORS, **error_responses(404)})
async def replace_file(  # noqa: ANN201
    invoice_id: PydanticObjectId, file: UploadFile, user: CurrentUser, settings: SettingsDep, database: DatabaseDep,
    checker: UploadCheckerDep,
):
    """Replace the file (e.g. a better photo). The invoice is extracted again."""
    invoice = await _visible_or_404(invoice_id, user)
    data = await read_upload(file, settings)
    checked = await checker.check(data)
    return service.to_public(await service.replace_file(database, invoice, data, file.filename, checked))


@router.post(ONE_INVOICE + "/reprocess", response_model=InvoicePublic, status_code=status.HTTP_202_ACCEPTED,
             responses=error_responses(404))
async def reprocess(invoice_id: PydanticObjectId, user: CurrentUser):  # noqa: ANN201
    """Run the extraction again (corrections are kept)."""
    return service.to_public(await service.requeue(await _visible_or_404(invoice_id, user)))


@router.delete(ONE_INVOICE, status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404))
async def delete_invoice(invoice_id: PydanticObjectId, user: CurrentUser, database: DatabaseDep) -> Response:
    await service.delete(database, await _visible_or_404(invoice_id, user))
    return Response(status_code=status.HTTP_204_NO_CONTENT)

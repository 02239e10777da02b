"""POST /invoices/{id}/confirm: a person checked the invoice; the review queue is `GET /invoices?review=…`."""

from __future__ import annotations

from beanie import PydanticObjectId
from fastapi import APIRouter

from api.deps import CurrentUser
from api.errors import Conflict, NotFound, error_responses
from api.invoices import service as invoices
from api.invoices.schemas import InvoicePublic
from api.review import service

router = APIRouter(prefix="/invoices", tags=["review"])


@router.post("/{invoice_id}/confirm", response_model=InvoicePublic, responses=error_responses(404, 409))
async def confirm_invoice(invoice_id: PydanticObjectId, user: CurrentUser):  # noqa: ANN201
    """Confirm the invoice: its review becomes `confirmed`, with who and when. Later corrections keep it
    confirmed; a reprocess or a new file starts a fresh review. 409 while it is pending or processing."""
    invoice = await invoices.get_visible(invoice_id, user)
    if invoice is None:
        raise NotFound("No such invoice")
    try:
        return invoices.to_public(await service.confirm(invoice, user))
    except service.NotFinished:
        raise Conflict(
            "Only a processed or failed invoice can be confirmed; wait for the extraction to finish"
        ) from None

"""Review: a person confirms an invoice the machine read; corrections recompute the review's reasons."""

from __future__ import annotations

from typing import Any

from core import transitions
from core.models import FINAL_STATUSES, Invoice, User, utcnow
from core.review import Review, ReviewState, review_document, review_of


class NotFinished(Exception):
    pass


def reviewed(invoice: Invoice, corrections: dict[str, Any]) -> dict[str, Any] | None:
    """The stored review of `invoice` once `corrections` (stored form: name -> {value, by, at}) apply."""
    previous = invoice.review.model_dump() if invoice.review else None
    return review_document(review_of(
        status=invoice.status.value, extraction=invoice.extraction, corrections=corrections,
        duplicate_of=invoice.duplicate_of, error=invoice.error.model_dump() if invoice.error else None,
        previous=previous,
    ))


async def confirm(invoice: Invoice, user: User) -> Invoice:
    """Record that `user` checked the invoice. Only a finished (processed or failed) invoice can be confirmed;
    confirming twice keeps the first person and time."""
    if invoice.status not in FINAL_STATUSES:
        raise NotFinished(invoice.status.value)
    if invoice.review is not None and invoice.review.state == ReviewState.confirmed:
        return invoice
    now = utcnow()
    current = review_of(
        status=invoice.status.value, extraction=invoice.extraction,
        corrections={name: c.model_dump() for name, c in invoice.corrections.items()},
        duplicate_of=invoice.duplicate_of, error=invoice.error.model_dump() if invoice.error else None,
    )
    confirmed = Review(state=ReviewState.confirmed, reasons=current.reasons if current else [], by=user.id, at=now)
    # Conditional on the status: a reprocess that started meanwhile wins, and the 409 tells the person.
    result = await Invoice.get_pymongo_collection().update_one(
        {"_id": invoice.id, "org_id": invoice.org_id, "status": invoice.status.value},  # the whole shard key
        {"$set": {"review": review_document(confirmed), "updated_at": now,
                  **transitions.last_event({"org_id": invoice.org_id}, invoice.owner_id, now)}},
    )
    if result.matched_count == 0:
        raise NotFinished("requeued")
    return await Invoice.find_one({"_id": invoice.id, "org_id": invoice.org_id})  # type: ignore[return-value]

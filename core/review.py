"""Whether an invoice needs a person: one pure function from the stored invoice's parts to its review state.

Rules (the one place they live):
- an invoice that is not finished (pending, processing) has no review yet;
- `failed` needs review (the reason carries the error);
- `processed` needs review when a field the machine found is below `CONFIDENT` and no person corrected it,
  when the extraction raised a validation warning (totals that do not add up, dates out of order, …; only
  a person's confirmation clears those, since the API cannot re-validate), or when the invoice duplicates an
  earlier one; otherwise it is `not_needed`;
- a confirmed review stays `confirmed` across later corrections (its reasons are recomputed, so a client can
  still show them); a reprocess or a new file clears the review, and the next final write computes it anew.

Works on the stored form (plain dicts, as in MongoDB), so the watcher's final write and the API's
correction both call it without importing the extraction package.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from beanie import PydanticObjectId
from pydantic import BaseModel, Field

CONFIDENT = 0.8


class ReviewState(StrEnum):
    needs_review = "needs_review"
    confirmed = "confirmed"
    not_needed = "not_needed"


class ReviewReasonCode(StrEnum):
    low_confidence = "low_confidence"
    validation_warning = "validation_warning"
    duplicate = "duplicate"
    failed = "failed"


class ReviewReason(BaseModel):
    code: ReviewReasonCode
    message: str = Field(description="For a person: what to check")
    field: str | None = Field(default=None, description="The field concerned, for `low_confidence`")


class Review(BaseModel):
    state: ReviewState
    reasons: list[ReviewReason] = Field(default_factory=list)
    by: PydanticObjectId | None = Field(default=None, description="Who confirmed it")
    at: datetime | None = Field(default=None, description="When it was confirmed")


def review_of(
    *,
    status: str,
    extraction: Mapping[str, Any] | None,
    corrections: Mapping[str, Any] | None = None,
    duplicate_of: Any = None,
    error: Mapping[str, Any] | None = None,
    previous: Mapping[str, Any] | None = None,
) -> Review | None:
    """The review state of an invoice from its stored parts; None while it is not finished.

    `previous` is the stored review: a `confirmed` one stays confirmed (with fresh reasons).
    """
    if status not in ("processed", "failed"):
        return None
    corrected = set(corrections or {})
    reasons: list[ReviewReason] = []
    if status == "failed":
        message = (error or {}).get("message") or "The extraction failed"
        reasons.append(ReviewReason(code=ReviewReasonCode.failed, message=message))
    else:
        reasons.extend(_doubtful_fields(extraction or {}, corrected))
        reasons.extend(
            ReviewReason(code=ReviewReasonCode.validation_warning, message=str(warning))
            for warning in (extraction or {}).get("warnings") or []
        )
    if duplicate_of is not None:
        reasons.append(ReviewReason(
            code=ReviewReasonCode.duplicate, message=f"The same file was uploaded before as invoice {duplicate_of}"
        ))
    if previous and previous.get("state") == ReviewState.confirmed:
        return Review(state=ReviewState.confirmed, reasons=reasons, by=previous.get("by"), at=previous.get("at"))
    return Review(state=ReviewState.needs_review if reasons else ReviewState.not_needed, reasons=reasons)


def _doubtful_fields(extraction: Mapping[str, Any], corrected: set[str]) -> list[ReviewReason]:
    fields = extraction.get("fields") or {}
    found: list[ReviewReason] = []
    for name, field in fields.items():
        if name == "line_items" or name in corrected or not isinstance(field, Mapping):
            continue
        confidence = field.get("confidence")
        if field.get("value") is not None and confidence is not None and confidence < CONFIDENT:
            found.append(_low(name, confidence))
    if "line_items" not in corrected:
        items = [item for item in fields.get("line_items") or [] if isinstance(item, Mapping)]
        lowest = min((item.get("confidence", 0.0) for item in items), default=None)
        if lowest is not None and lowest < CONFIDENT:
            found.append(_low("line_items", lowest))
    return found


def _low(name: str, confidence: float) -> ReviewReason:
    return ReviewReason(
        code=ReviewReasonCode.low_confidence, field=name,
        message=f"{name.replace('_', ' ')} was read with confidence {confidence:.2f} (below {CONFIDENT}); check it",
    )


def review_document(review: Review | None) -> dict[str, Any] | None:
    """The stored form (`$set: {"review": …}`): plain strings for the enums, ObjectId and datetime as BSON."""
    if review is None:
        return None
    return {**review.model_dump(mode="json", exclude={"by", "at"}), "by": review.by, "at": review.at}

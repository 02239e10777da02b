"""Invoice request and response bodies."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from beanie import PydanticObjectId
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

from core.models import InvoiceBase
from extraction.models import ExtractionResult, InvoiceFields, LineItem


class InvoiceCreate(BaseModel):
    """An upload as the mobile app sends it."""

    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=255)
    content_base64: str = Field(description="The file's bytes in base64; a `data:` URL is accepted")
    content_type: str | None = Field(
        default=None, max_length=255, deprecated=True,
        description="Ignored: the type is read from the bytes themselves. Accepted so older clients are not refused",
    )


class CorrectionPublic(BaseModel):
    value: Any
    by: PydanticObjectId
    at: datetime


class InvoiceSummary(InvoiceBase):
    """An invoice as a list row shows it: its state, review and the current value of each scalar field.
    The extraction (boxes, page sizes, line items, confidences) and the corrections' history are left to
    `InvoicePublic`, which `GET /invoices/{id}` answers."""

    id: PydanticObjectId
    values: dict[str, str | None] = Field(
        default_factory=dict,
        description="Each scalar field's current value (money as a decimal string, dates ISO 8601): a person's "
                    "correction, else the machine's. Absent until the invoice is read or corrected",
    )


class InvoicePublic(InvoiceSummary):
    """The whole invoice: the summary, the machine's extraction and a person's corrections side by side."""

    extraction: ExtractionResult | None = None
    corrections: dict[str, CorrectionPublic] = Field(default_factory=dict)
    values: dict[str, Any] = Field(  # type: ignore[assignment]
        default_factory=dict, description="Each field's current value: a person's correction, else the machine's"
    )


class InvoicePage(BaseModel):
    items: list[InvoiceSummary]
    next_cursor: str | None = None


def _iso_8601_only(value: Any) -> Any:
    """Pydantic would read `0.5` as seconds after 1970; a date filter is a date, written as one."""
    if isinstance(value, str) and not re.match(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("write the moment as ISO 8601, e.g. 2024-03-01T00:00:00Z")
    return value


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_8601_only)]

# What `next_cursor` looks like (URL-safe base64 without padding); anything else is refused with 422.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"

SortKey = Literal["created_at", "-created_at", "updated_at", "-updated_at"]

_FIELD_TYPES: dict[str, Any] = {
    name: field.annotation for name, field in InvoiceFields.model_fields.items() if name != "line_items"
}


def _value_adapter(name: str) -> TypeAdapter:
    """The type of a field's `value`: FieldValue[str] -> str, FieldValue[Money] -> Money, …"""
    annotation = _FIELD_TYPES[name]
    field_value_model = next(arg for arg in annotation.__args__ if arg is not type(None))
    return TypeAdapter(field_value_model.model_fields["value"].annotation)


CORRECTABLE: dict[str, TypeAdapter] = {name: _value_adapter(name) for name in _FIELD_TYPES}
LINE_ITEMS = TypeAdapter(list[LineItem])


class InvoicePatch(BaseModel):
    """A person's corrections. A value of null removes the correction (the machine's value shows again)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"fields": {"total": "118.00", "invoice_date": "2024-03-01", "vendor_name": "ACME GmbH"}}]
    })

    fields: dict[str, Any] = Field(
        min_length=1, max_length=len(CORRECTABLE) + 1,
        json_schema_extra={"propertyNames": {"enum": [*CORRECTABLE, "line_items"]}},
    )


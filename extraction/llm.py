"""Optional LLM structuring against any OpenAI-compatible endpoint (OpenAI, Groq, Ollama, vLLM, ...).

The model gets the read lines with their page and position and must answer JSON that follows the
schema below: `response_format` json_schema where the server supports it, json_object where it
rejects that. The answer is validated with Pydantic; values are then located in the lines so that
they carry a page and a box like the rule-based ones. Any failure raises `LLMError` with a message
a person can act on; the pipeline then keeps the rule-based fields.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import openai
from pydantic import BaseModel, ConfigDict, ValidationError

from extraction.models import BBox, DocumentText, ExtractionOptions, FieldValue, InvoiceFields, LineItem
from extraction.parsing.amounts import find_amounts

_RETRIES = 2  # the client retries timeouts, 429 and 5xx with backoff (honouring Retry-After)
_MAX_PROMPT_CHARS = 24_000  # long documents are cut: the fields sit on the first and last pages
# An LLM's reading is not calibrated; agreement with the rule-based parser raises it (see crosscheck).
LLM_CONFIDENCE = 0.6

_SYSTEM = (
    "You read invoices and receipts. You get the text lines of one document, each with its page and "
    "box (x0 y0 x1 y1, origin top-left). Return the invoice's fields as JSON following the schema. "
    "Use null for a field that is not printed. Dates as YYYY-MM-DD. Amounts as decimal strings with a "
    "dot and no currency or thousands separator (\"1234.50\"); credit notes keep their minus sign. "
    "currency is an ISO 4217 code. vendor is the company that issued the document, not the customer."
)


class LLMError(RuntimeError):
    """The LLM endpoint could not give a usable answer (unreachable, timeout, rate limit, bad JSON)."""


class _LineItemAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal | None


class LLMAnswer(BaseModel):
    """What the model must return; also the source of the JSON schema it is given."""

    model_config = ConfigDict(extra="forbid")

    invoice_number: str | None
    invoice_date: date | None
    due_date: date | None
    vendor_name: str | None
    vendor_address: str | None
    vendor_tax_id: str | None
    customer_name: str | None
    currency: str | None
    subtotal: Decimal | None
    tax: Decimal | None
    total: Decimal | None
    line_items: list[_LineItemAnswer]


_STRING_FIELDS = ("invoice_number", "vendor_name", "vendor_address", "vendor_tax_id", "customer_name", "currency")
_DATE_FIELDS = ("invoice_date", "due_date")
_MONEY_FIELDS = ("subtotal", "tax", "total")


def _nullable(kind: str, description: str) -> dict[str, object]:
    return {"type": [kind, "null"], "description": description}


def answer_schema() -> dict[str, object]:
    """The JSON schema of `LLMAnswer` in the strict form OpenAI's structured outputs accept."""
    line_item = {
        "type": "object",
        "additionalProperties": False,
        "required": ["description", "quantity", "unit_price", "amount"],
        "properties": {
            "description": _nullable("string", "what was sold"),
            "quantity": _nullable("string", "decimal string"),
            "unit_price": _nullable("string", "decimal string"),
            "amount": _nullable("string", "decimal string"),
        },
    }
    properties: dict[str, object] = {name: _nullable("string", name.replace("_", " ")) for name in _STRING_FIELDS}
    properties |= {name: _nullable("string", "YYYY-MM-DD") for name in _DATE_FIELDS}
    properties |= {name: _nullable("string", "decimal string, e.g. 1234.50") for name in _MONEY_FIELDS}
    properties["line_items"] = {"type": "array", "items": line_item}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties),
        "properties": properties,
    }


def _prompt(doc: DocumentText) -> str:
    lines = [
        f"p{page.number} [{line.bbox[0]:.0f} {line.bbox[1]:.0f} {line.bbox[2]:.0f} {line.bbox[3]:.0f}] {line.text}"
        for page in doc.pages
        for line in page.lines
    ]
    text = "\n".join(lines)
    if len(text) > _MAX_PROMPT_CHARS:
        half = _MAX_PROMPT_CHARS // 2
        text = text[:half] + "\n[...]\n" + text[-half:]
    return "Lines of the document (page, box, text):\n" + text


def _is_schema_rejection(error: openai.BadRequestError) -> bool:
    message = str(error).lower()
    return "response_format" in message or "json_schema" in message or "schema" in message


def _complete(client: openai.OpenAI, model: str, messages: list[dict[str, str]]) -> str:
    """The model's answer text: structured outputs first, plain JSON mode if the server rejects them."""
    formats = (
        {"type": "json_schema", "json_schema": {"name": "invoice", "strict": True, "schema": answer_schema()}},
        {"type": "json_object"},
    )
    for position, response_format in enumerate(formats):
        try:
            response = client.chat.completions.create(
                model=model, messages=messages, response_format=response_format, temperature=0  # type: ignore[arg-type]
            )
        except openai.BadRequestError as exc:
            if position == 0 and _is_schema_rejection(exc):
                continue
            raise LLMError(f"the LLM endpoint rejected the request: {exc.message}") from exc
        except openai.APITimeoutError as exc:
            raise LLMError(f"the LLM endpoint did not answer in time ({_RETRIES + 1} attempts)") from exc
        except openai.RateLimitError as exc:
            raise LLMError("the LLM endpoint keeps refusing requests (429 rate limit)") from exc
        except openai.APIStatusError as exc:
            raise LLMError(f"the LLM endpoint failed with HTTP {exc.status_code}") from exc
        except openai.APIConnectionError as exc:
            raise LLMError(f"the LLM endpoint is unreachable ({exc.__cause__ or exc})") from exc
        choices = response.choices or []
        content = choices[0].message.content if choices else None
        if not content:
            raise LLMError("the LLM answered without content")
        return content
    raise LLMError("the LLM endpoint supports neither json_schema nor json_object responses")


def _parse_answer(content: str) -> LLMAnswer:
    text = content.strip()
    if text.startswith("```"):  # some servers wrap JSON mode answers in a code fence
        text = text.strip("`").removeprefix("json").strip()
    try:
        return LLMAnswer.model_validate_json(text)
    except ValidationError as exc:
        try:
            json.loads(text)
        except json.JSONDecodeError:
            raise LLMError("the LLM did not answer valid JSON") from exc
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise LLMError(f"the LLM's JSON does not follow the schema ({problems})") from exc


def _locate(doc: DocumentText, value: object) -> tuple[int | None, BBox | None]:
    """Where the value is printed: the first line containing it (amounts compared as numbers)."""
    for page in doc.pages:
        for line in page.lines:
            if isinstance(value, Decimal):
                if any(amount.value == value for amount in find_amounts(line.text, whole_needs_marker=False)):
                    return page.number, line.bbox
            elif isinstance(value, str) and len(value) >= 3 and value.casefold() in line.text.casefold():
                return page.number, line.bbox
    return None, None


def _to_fields(answer: LLMAnswer, doc: DocumentText) -> InvoiceFields:
    values: dict[str, FieldValue] = {}
    for name in (*_STRING_FIELDS, *_DATE_FIELDS, *_MONEY_FIELDS):
        value = getattr(answer, name)
        if isinstance(value, str):
            value = " ".join(value.split()) or None
        if name == "currency" and value is not None:
            value = value.upper()
        if value is None:
            continue
        page, bbox = _locate(doc, value if not isinstance(value, date) else None)
        values[name] = FieldValue(value=value, confidence=LLM_CONFIDENCE, source="llm", page=page, bbox=bbox)
    items = [
        LineItem(
            description=item.description,
            quantity=item.quantity,
            unit_price=item.unit_price,
            amount=item.amount,
            confidence=LLM_CONFIDENCE,
            source="llm",
        )
        for item in answer.line_items
    ]
    return InvoiceFields(**values, line_items=items)


def llm_parse(doc: DocumentText, options: ExtractionOptions) -> InvoiceFields:
    """Ask the configured model for the fields. Raises LLMError when it cannot give a usable answer."""
    if not options.llm_base_url or not options.llm_model:
        raise LLMError("no LLM is configured (LLM_BASE_URL and LLM_MODEL)")
    client = openai.OpenAI(
        base_url=options.llm_base_url,
        api_key=options.llm_api_key or "not-needed",  # local servers (Ollama, vLLM) accept any key
        timeout=options.llm_timeout_seconds,
        max_retries=_RETRIES,
    )
    try:
        messages = [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": _prompt(doc)}]
        return _to_fields(_parse_answer(_complete(client, options.llm_model, messages)), doc)
    finally:
        client.close()

"""The optional LLM parser against a local chat-completions server running as a real process, and the
cross-check of its answer with the rule-based fields."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from extraction import extract
from extraction.choice import with_llm
from extraction.choice.model import MAX_CONFIDENCE
from extraction.crosscheck import merge
from extraction.llm import LLMError, answer_schema, llm_parse
from extraction.parsing import parse_fields
from extraction.models import DocumentText, ExtractionOptions, FieldValue, InvoiceFields, Line, Page, Word
from tests.extraction.conftest import invoice_pdf

SERVER = Path(__file__).with_name("llm_server.py")


@pytest.fixture(scope="module")
def llm_url() -> Iterator[str]:
    process = subprocess.Popen([sys.executable, str(SERVER)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("PORT "), line
        yield f"http://127.0.0.1:{line.split()[1]}/v1"
    finally:
        process.terminate()
        process.wait(10)


def options(url: str, model: str, timeout: float = 5.0) -> ExtractionOptions:
    return ExtractionOptions(
        use_llm=True, llm_base_url=url, llm_model=model, llm_api_key="test-key", llm_timeout_seconds=timeout
    )


def requests_for(url: str, model: str) -> list[dict[str, object]]:
    seen = httpx.get(url.removesuffix("/v1") + "/requests").json()["requests"]
    return [r for r in seen if r["model"] == model]


def document(*lines: str) -> DocumentText:
    rows = [
        Line(words=[Word(text=text, bbox=(10, 20 * i, 200, 20 * i + 12), confidence=0.99)], bbox=(10, 20 * i, 200, 20 * i + 12))
        for i, text in enumerate(lines)
    ]
    return DocumentText(pages=[Page(number=1, width=600, height=800, lines=rows, source="ocr")])


INVOICE = document("ACME Office Supplies Ltd", "Invoice No: INV-1001", "Date: 15/03/2024", "Total 120.00")


def test_the_answer_is_validated_and_located_in_the_lines(llm_url: str) -> None:
    fields = llm_parse(INVOICE, options(llm_url, "ok"))
    assert fields.total is not None and fields.total.value == Decimal("120.00")
    assert fields.total.source == "llm" and fields.total.page == 1 and fields.total.bbox == (10, 60, 200, 72)
    assert fields.invoice_date is not None and fields.invoice_date.value == date(2024, 3, 15)
    assert fields.vendor_name is not None and fields.vendor_name.bbox == (10, 0, 200, 12)
    assert fields.line_items[0].amount == Decimal("100.00")
    assert requests_for(llm_url, "ok")[-1]["response_format"] == "json_schema"


def test_a_server_without_structured_outputs_gets_json_mode(llm_url: str) -> None:
    fields = llm_parse(INVOICE, options(llm_url, "no-schema"))
    assert fields.invoice_number is not None and fields.invoice_number.value == "INV-1001"
    assert [r["response_format"] for r in requests_for(llm_url, "no-schema")] == ["json_schema", "json_object"]


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("invalid-json", "did not answer valid JSON"),
        ("wrong-schema", "does not follow the schema"),
    ],
)
def test_a_bad_answer_raises_a_clear_error(llm_url: str, model: str, message: str) -> None:
    with pytest.raises(LLMError, match=message):
        llm_parse(INVOICE, options(llm_url, model))


def test_rate_limits_and_server_errors_are_retried_then_reported(llm_url: str) -> None:
    for model, message in (("rate-limit", "429"), ("error", "HTTP 500")):
        with pytest.raises(LLMError, match=message):
            llm_parse(INVOICE, options(llm_url, model))
    assert len(requests_for(llm_url, "rate-limit")) >= 3  # one try and two retries per call
    assert len(requests_for(llm_url, "error")) >= 3


def test_a_server_that_does_not_answer_in_time_raises(llm_url: str) -> None:
    with pytest.raises(LLMError, match="did not answer in time"):
        llm_parse(INVOICE, options(llm_url, "slow", timeout=0.5))


def test_an_unreachable_or_unconfigured_server_raises() -> None:
    with pytest.raises(LLMError, match="unreachable"):
        llm_parse(INVOICE, options("http://127.0.0.1:9/v1", "ok", timeout=1))
    with pytest.raises(LLMError, match="no LLM is configured"):
        llm_parse(INVOICE, ExtractionOptions(use_llm=True))


@pytest.mark.parametrize("model", ["invalid-json", "rate-limit", "error", "slow"])
def test_extraction_keeps_the_rule_based_fields_when_the_llm_fails(llm_url: str, model: str) -> None:
    result = extract(invoice_pdf(), "application/pdf", options=options(llm_url, model, timeout=0.5))
    assert result.ok, result.error
    assert result.fields.total is not None and result.fields.total.value == Decimal("120.00")
    assert result.fields.total.source == "pdf_text"
    assert any("LLM" in warning for warning in result.warnings)


def test_extraction_with_an_agreeing_llm_raises_confidence(llm_url: str) -> None:
    plain = extract(invoice_pdf(), "application/pdf")
    checked = extract(invoice_pdf(), "application/pdf", options=options(llm_url, "ok"))
    assert checked.ok and plain.fields.total is not None and checked.fields.total is not None
    assert checked.fields.total.value == Decimal("120.00")
    assert checked.fields.total.confidence >= plain.fields.total.confidence
    assert checked.fields.total.source == "pdf_text"  # the rule-based value keeps where it was read
    assert not any("disagree" in warning for warning in checked.warnings)


def test_a_disagreeing_llm_lowers_the_choice_s_confidence_and_says_so(llm_url: str) -> None:
    plain = extract(invoice_pdf(), "application/pdf")
    checked = extract(invoice_pdf(), "application/pdf", options=options(llm_url, "disagrees"))
    assert checked.ok and plain.fields.invoice_number is not None and checked.fields.invoice_number is not None
    assert checked.fields.invoice_number.value == "INV-1001"  # printed and chosen; the LLM's word alone does not win
    assert checked.fields.invoice_number.confidence < plain.fields.invoice_number.confidence
    assert checked.fields.invoice_number.confidence == pytest.approx(
        with_llm("invoice_number", "INV-1001", plain.fields.invoice_number.confidence,
                 FieldValue(value="INV-9999", confidence=0.6, source="llm")), abs=0.001)
    assert any("disagree on invoice number" in warning for warning in checked.warnings)
    assert checked.fields.total is not None and plain.fields.total is not None
    assert checked.fields.total.value == plain.fields.total.value  # agreed on: surer, never lower
    assert checked.fields.total.confidence >= plain.fields.total.confidence


def test_the_llm_s_word_moves_a_choice_by_the_stated_prior() -> None:
    answer = FieldValue(value=Decimal("120.00"), confidence=0.6, source="llm")
    other = FieldValue(value=Decimal("12.00"), confidence=0.6, source="llm")
    assert with_llm("total", Decimal("120.00"), 0.7, None) == 0.7  # no answer: no change
    agreed, disagreed = with_llm("total", Decimal("120.00"), 0.7, answer), with_llm("total", Decimal("120.00"), 0.7, other)
    assert 0.7 < agreed <= MAX_CONFIDENCE and disagreed < 0.7
    # odds x 0.9 / (0.1 x 0.5) = 18 when they agree, x 0.1 / 0.95 when they do not
    assert agreed == pytest.approx(0.7 * 18 / (0.7 * 18 + 0.3))
    assert disagreed == pytest.approx(0.7 * (0.1 / 0.95) / (0.7 * (0.1 / 0.95) + 0.3))
    assert with_llm("total", Decimal("120.00"), 0.99, answer) == MAX_CONFIDENCE
    assert with_llm("vendor_name", "ACME Office Supplies Ltd.", 0.5,
                    FieldValue(value="acme office supplies ltd", confidence=0.6, source="llm")) > 0.5


def test_without_an_llm_answer_the_choice_is_unchanged() -> None:
    assert parse_fields(INVOICE) == parse_fields(INVOICE, llm=None)
    weighed = parse_fields(INVOICE, llm=InvoiceFields())  # an LLM that found nothing
    assert weighed == parse_fields(INVOICE)


def test_the_schema_is_strict() -> None:
    schema = answer_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])  # type: ignore[arg-type]


def money(value: str, source: str = "ocr", confidence: float = 0.6) -> FieldValue:
    return FieldValue(value=Decimal(value), confidence=confidence, source=source)  # type: ignore[arg-type]


def test_arithmetic_decides_where_the_parsers_disagree() -> None:
    rule = InvoiceFields(subtotal=money("100.00"), tax=money("20.00"), total=money("102.00"))
    llm = InvoiceFields(subtotal=money("100.00", "llm"), tax=money("20.00", "llm"), total=money("120.00", "llm"))
    merged, warnings = merge(rule, llm)
    assert merged.total is not None and merged.total.value == Decimal("120.00")
    assert merged.total.confidence >= 0.9
    assert len(warnings) == 1 and "total" in warnings[0] and "arithmetic chose 120.00" in warnings[0]


def test_disagreement_without_arithmetic_lowers_confidence() -> None:
    rule = InvoiceFields(invoice_number=FieldValue(value="INV-1", confidence=0.9, source="ocr"))
    llm = InvoiceFields(invoice_number=FieldValue(value="INV-7", confidence=0.6, source="llm"))
    merged, warnings = merge(rule, llm)
    assert merged.invoice_number is not None and merged.invoice_number.value == "INV-1"
    assert merged.invoice_number.confidence < 0.9 and "invoice number" in warnings[0]


def test_a_field_only_one_parser_found_is_kept_as_is() -> None:
    rule = InvoiceFields(total=money("5.00"))
    llm = InvoiceFields(vendor_name=FieldValue(value="ACME", confidence=0.6, source="llm"))
    merged, warnings = merge(rule, llm)
    assert merged.total == rule.total and merged.vendor_name == llm.vendor_name and warnings == []

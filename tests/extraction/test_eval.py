"""`invoicer eval` and `invoicer extract` as real CLI processes on a tiny labelled set made here, and the
scoring rules behind them (normalisation, token F1, the JSON contract of issue 5)."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from extraction.evaluation import DocumentOutcome, Report, Verdict, judge, normalise, text_f1, token_f1
from extraction.models import FieldValue, InvoiceFields
from tests.extraction.conftest import INVOICE_LINES, invoice_pdf
from tests.support import INVOICER, REPO

SECOND_INVOICE = [
    (72, 780, 18, "Lieferant GmbH"),
    (72, 760, 11, "Lieferantenstrasse 20, 80333 Muenchen"),
    (360, 700, 12, "Rechnungsnummer: R-2024-17"),
    (360, 682, 12, "Rechnungsdatum: 01.02.2024"),
    (72, 560, 12, "Nettobetrag"),
    (430, 560, 12, "50,00 EUR"),
    (72, 542, 12, "MwSt 19%"),
    (430, 542, 12, "9,50 EUR"),
    (72, 524, 14, "Gesamtbetrag"),
    (430, 524, 14, "59,50 EUR"),
]


@pytest.fixture
def labelled_set(tmp_path: Path) -> Path:
    directory = tmp_path / "set"
    directory.mkdir()
    (directory / "acme.pdf").write_bytes(invoice_pdf())
    (directory / "lieferant.pdf").write_bytes(invoice_pdf(lines=SECOND_INVOICE))
    labels = [
        {"file": "acme.pdf", "fields": {
            "invoice_number": "INV-1001", "invoice_date": "2024-03-15", "vendor_name": "ACME OFFICE SUPPLIES LTD",
            "total": "120.00", "subtotal": "100.00", "tax": "20.00",
        }},
        {"file": "lieferant.pdf", "fields": {
            "invoice_number": "R-2024-17", "invoice_date": "2024-02-01", "vendor_name": "Lieferant AG",
            "total": "59.5", "currency": "EUR", "profile": "not scored",
        }},
    ]
    (directory / "labels.jsonl").write_text("\n".join(json.dumps(label) for label in labels) + "\n")
    return directory


def invoicer(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [INVOICER, *args], cwd=REPO, capture_output=True, text=True, timeout=120, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"}
    )


def test_eval_prints_the_table_and_writes_the_json_contract(labelled_set: Path, tmp_path: Path) -> None:
    out = tmp_path / "figures" / "eval.json"
    run = invoicer("eval", str(labelled_set), "--json", str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "invoice_number" in run.stdout and "seconds per page" in run.stdout
    figures = json.loads(out.read_text())
    assert set(figures) == {"documents", "pages", "fields", "seconds_per_page", "calibration", "line_items"}
    assert figures["calibration"]["total"]["ece"] >= 0 and figures["line_items"] is None  # this set labels no items
    assert (figures["documents"], figures["pages"]) == (2, 2)
    assert set(figures["seconds_per_page"]) == {"p50", "p95"}
    assert 0 < figures["seconds_per_page"]["p50"] <= figures["seconds_per_page"]["p95"]
    fields = figures["fields"]
    assert set(fields) == {"invoice_number", "invoice_date", "vendor_name", "currency", "subtotal", "tax", "total"}
    assert fields["total"] == {"labelled": 2, "coverage": 1.0, "accuracy": 1.0, "accuracy_confident": 1.0}
    assert fields["invoice_number"]["accuracy"] == 1.0 and fields["invoice_date"]["accuracy"] == 1.0
    # the second vendor is labelled "Lieferant AG" but printed "Lieferant GmbH": wrong, half the tokens
    assert set(fields["vendor_name"]) == {"labelled", "coverage", "accuracy", "accuracy_confident", "token_f1"}
    assert fields["vendor_name"]["accuracy"] == 0.5 and fields["vendor_name"]["token_f1"] == 0.75
    assert "token_f1" not in fields["total"]


def test_eval_lists_the_misses_when_asked(labelled_set: Path) -> None:
    run = invoicer("eval", str(labelled_set), "--misses")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "misses (1)" in run.stdout  # the vendor labelled "Lieferant AG", printed "Lieferant GmbH"
    assert "Lieferant AG" in run.stdout and "lieferant.pdf" in run.stdout
    assert "misses (" not in invoicer("eval", str(labelled_set)).stdout


def test_eval_limit_and_workers(labelled_set: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    run = invoicer("eval", str(labelled_set), "--limit", "1", "--workers", "2", "--json", str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(out.read_text())["documents"] == 1


def test_eval_scores_saved_text_without_reading(labelled_set: Path, tmp_path: Path) -> None:
    run = invoicer("extract", str(labelled_set / "acme.pdf"), "--json")
    assert run.returncode == 0, run.stderr
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "acme.pdf.json").write_text(
        json.dumps({"pages": [{"number": 1, "width": 600, "height": 800, "source": "ocr", "lines": [
            {"bbox": [10, 10, 300, 30], "words": [{"text": "Total", "bbox": [10, 10, 60, 30], "confidence": 0.9},
                                                  {"text": "120.00", "bbox": [240, 10, 300, 30], "confidence": 0.9}]}]}]})
    )
    out = tmp_path / "eval.json"
    run = invoicer("eval", str(labelled_set), "--text-cache", str(cache), "--json", str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    figures = json.loads(out.read_text())
    assert figures["fields"]["total"]["accuracy"] == 0.5  # acme from its saved text; lieferant has none
    assert "cannot read" in run.stdout


def test_eval_of_a_directory_without_labels_says_so(tmp_path: Path) -> None:
    run = invoicer("eval", str(tmp_path))
    assert run.returncode == 2 and "labels.jsonl" in run.stdout


def test_eval_reports_a_missing_file_instead_of_crashing(labelled_set: Path) -> None:
    (labelled_set / "acme.pdf").unlink()
    run = invoicer("eval", str(labelled_set))
    assert run.returncode == 0, run.stderr
    assert "acme.pdf: cannot read" in run.stdout


def test_extract_prints_fields_and_json(labelled_set: Path) -> None:
    table = invoicer("extract", str(labelled_set / "acme.pdf"))
    assert table.returncode == 0, table.stderr
    assert "INV-1001" in table.stdout and "120.00" in table.stdout and "pdf_text" in table.stdout
    both = invoicer("extract", str(labelled_set / "acme.pdf"), str(labelled_set / "lieferant.pdf"), "--json")
    results = json.loads(both.stdout)
    assert [r["fields"]["total"]["value"] for r in results] == ["120.00", "59.50"]


def test_extract_of_a_broken_file_fails_with_its_code(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7 this is not really a pdf")
    run = invoicer("extract", str(broken))
    assert run.returncode == 1 and "unreadable_file" in run.stdout


def test_extract_with_llm_but_none_configured_says_what_is_missing(labelled_set: Path) -> None:
    run = invoicer("extract", str(labelled_set / "acme.pdf"), "--llm")
    assert run.returncode == 2 and "LLM_BASE_URL" in run.stdout


@pytest.mark.parametrize(
    ("field", "a", "b"),
    [
        ("total", Decimal("59.5"), "59.50"),
        ("invoice_date", date(2024, 2, 1), "2024-02-01"),
        ("vendor_name", "ACME  Office supplies", "acme office SUPPLIES"),
        ("invoice_number", "#FAKE-1", "fake-1"),
        ("vendor_tax_id", "FR 604 219 388 61", "FR60421938861"),
    ],
)
def test_values_match_after_normalisation(field: str, a: object, b: str) -> None:
    assert normalise(field, a) == normalise(field, b)


def test_token_f1() -> None:
    assert token_f1("SANYU STATIONERY SHOP", "SANYU STATIONERY SHOP") == 1.0
    assert token_f1("Lieferant GmbH", "Lieferant AG") == 0.5
    assert token_f1(None, "anything") == 0.0


def test_names_labelled_without_whitespace_are_compared_as_text() -> None:
    # A set that transcribes names without spaces ("CornerBakery") has no words to match: token F1 would
    # give a near-perfect reading nothing, so such labels are scored by character bigrams without whitespace.
    assert token_f1("CORNER BAKERY", "CornerBakery") == 0.0
    assert text_f1("CORNER BAKERY", "CornerBakery") == 1.0
    assert 0.5 < text_f1("CORNER BAKERY CAFE", "CornerBakery") < 1.0
    assert text_f1("Thank you", "CornerBakery") == 0.0
    assert text_f1(None, "CornerBakery") == 0.0
    assert text_f1("Corner Bakery Cafe", "Corner Bakery") == token_f1("Corner Bakery Cafe", "Corner Bakery")  # spaced labels: tokens
    name = InvoiceFields(vendor_name=FieldValue(value="CORNER BAKERY", confidence=0.7, source="ocr"))
    report = Report([
        DocumentOutcome("a", 1, 1.0, judge(name, {"vendor_name": "CornerBakery"})),
        DocumentOutcome("b", 1, 1.0, judge(name, {"vendor_name": "Corner Bakery Cafe"})),
    ])
    summary = report.field_summary()["vendor_name"]
    assert summary["accuracy"] == 0.5  # exact match (whitespace-insensitive) is unchanged
    assert summary["token_f1"] == round((1.0 + 0.8) / 2, 4)
    assert report.squashed_labels() == {"vendor_name": 1}


def test_report_figures_count_only_labelled_documents() -> None:
    confident = InvoiceFields(total=FieldValue(value=Decimal("10.00"), confidence=0.9, source="ocr"))
    unsure = InvoiceFields(total=FieldValue(value=Decimal("11.00"), confidence=0.5, source="ocr"))
    report = Report([
        DocumentOutcome("a", 1, 1.0, judge(confident, {"total": "10.00"})),
        DocumentOutcome("b", 2, 3.0, judge(unsure, {"total": "12.00"})),
        DocumentOutcome("c", 1, 2.0, judge(InvoiceFields(), {"vendor_name": "X"})),
    ])
    summary = report.field_summary()
    assert summary["total"] == {"labelled": 2, "coverage": 1.0, "accuracy": 0.5, "accuracy_confident": 1.0, "token_f1": None}
    assert summary["vendor_name"]["coverage"] == 0.0 and summary["vendor_name"]["token_f1"] == 0.0
    assert report.confident_counts() == (1, 1)
    assert report.seconds_per_page() == {"p50": 1.5, "p95": 1.95}
    assert isinstance(judge(confident, {"total": "10.00"})[0], Verdict)


def test_quantities_and_unit_prices_are_scored_on_the_matched_rows() -> None:
    from extraction.evaluation import judge_line_items
    from extraction.models import LineItem

    labels = {"lines": [
        {"name": "Garden hose", "qty": "2", "price_unit": "15.00", "price_subtotal": "30.00"},
        {"name": "Hose reel", "qty": "1.0", "price_unit": "40.00", "price_subtotal": "40.00"},
        {"name": "Nozzle", "qty": "3", "price_unit": "2.00", "price_subtotal": "6.00"},
    ]}
    fields = InvoiceFields(line_items=[
        LineItem(description="Garden hose", quantity=Decimal("2.00"), unit_price=Decimal("15.00"), amount=Decimal("30.00")),
        LineItem(description="Hose reel", quantity=Decimal("21"), unit_price=Decimal("0.00"), amount=Decimal("40.00")),
    ])
    verdict = judge_line_items(fields, labels)
    assert verdict is not None and (verdict.expected, verdict.predicted, verdict.matched) == (3, 2, 2)
    assert (verdict.quantities, verdict.quantities_right) == (2, 1)  # "21" was a rate, not a count
    assert (verdict.unit_prices, verdict.unit_prices_right) == (2, 1)
    report = Report([DocumentOutcome("a.pdf", 1, 0.1, [], line_items=verdict)])
    summary = report.line_item_summary()
    assert summary is not None and summary["quantities_right"] == 1 and summary["unit_prices_labelled"] == 2

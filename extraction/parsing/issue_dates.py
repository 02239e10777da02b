"""Which printed date is the invoice date and which the due date.

A date is claimed by the label that points at it (Invoice Date, Datum, Fälligkeit, Delivery date ...),
or by an invoice-number label on the same line ("Facture n° 562044387 du 02 Juillet 2015"). Dates no
label claims are weak candidates for the invoice date: on a receipt the one date printed is it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from extraction.models import FieldValue, Source
from extraction.parsing.dates import DateMatch, find_dates
from extraction.parsing.layout import Layout
from extraction.parsing.pairing import Evidence, Extractor, Found, LabelledCell, values_for_label

_DATE_LABELS = ("invoice_date", "due_date", "other_date")


@dataclass(frozen=True)
class IssueDates:
    invoice_date: FieldValue[date] | None
    due_date: FieldValue[date] | None


def _extractor(day_first: bool | None, guess_day_first: bool, *, compact: bool = False) -> Extractor:
    def extract(text: str) -> list[tuple[DateMatch, int, int]]:
        found = find_dates(text, day_first=day_first, guess_day_first=guess_day_first, compact=compact)
        return [(match, match.start, match.end) for match in found]

    return extract


def _single(found: Found, score: float) -> Evidence:
    evidence = Evidence(found.value.value)
    evidence.add(score, found)
    return evidence


def _field(evidence: Evidence, confidence: float, source: Source) -> FieldValue[date]:
    found = evidence.found[0]  # where the first cue found it
    match: DateMatch = found.value
    if match.ambiguous:
        confidence *= 0.85  # day and month could be swapped; the document did not settle it
    return found.field_value(match.value, confidence, source)


def choose_dates(
    layout: Layout, labelled: list[LabelledCell], source: Source, *, day_first: bool | None, guess_day_first: bool = True
) -> IssueDates:
    claims = date_claims(layout, labelled, day_first=day_first, guess_day_first=guess_day_first)
    unclaimed = _unclaimed_dates(layout, claims, _extractor(day_first, guess_day_first))
    invoice = _choose_invoice_date(claims, unclaimed, source)
    due_claims = claims.get("due_date", {})
    due = None
    if due_claims:
        best = max(due_claims.values(), key=lambda e: e.strength)
        due = _field(best, 0.5 + 0.45 * best.strength, source)
    return IssueDates(invoice_date=invoice, due_date=due)


def date_claims(
    layout: Layout, labelled: list[LabelledCell], *, day_first: bool | None, guess_day_first: bool = True
) -> dict[str, dict[date, Evidence]]:
    """Per role (invoice_date, due_date, other_date): the dates a label of that role points at, with its cues."""
    extract = _extractor(day_first, guess_day_first)
    after_label = _extractor(day_first, guess_day_first, compact=True)
    claims: dict[str, dict[date, Evidence]] = defaultdict(dict)
    for item in labelled:
        for label in item.labels:
            if label.field in _DATE_LABELS:
                found = next(values_for_label(layout, item, label, after_label), None)
                weight = label.strength * (found.link if found else 0)
                if label.strength < 0.5 and any(
                    other.field == "invoice_number" and other.strength >= 0.9 and other.end <= label.start
                    for other in item.labels
                ):
                    weight = 0.8 * (found.link if found else 0)  # "Rechnung Nr. 4711 vom 20.09.2018"
            elif label.field == "invoice_number":
                # "Rechnung Nr. 4711 vom 20.09.2018": a date right after the number is the issue date
                found = next((f for f in values_for_label(layout, item, label, extract) if f.where == "same_row"), None)
                weight = 0.8 * label.strength
            else:
                continue
            if found is None:
                continue
            role = "invoice_date" if label.field == "invoice_number" else label.field
            claims[role].setdefault(found.value.value, Evidence(found.value.value)).add(weight, found)
    return claims


def _unclaimed_dates(layout: Layout, claims: dict[str, dict[date, Evidence]], extract: Extractor) -> list[Found]:
    claimed = {value for role in claims.values() for value in role}
    unclaimed = []
    for cell in layout.cells:
        for match, start, end in extract(cell.text):
            if match.value not in claimed:
                unclaimed.append(Found(match, cell, start, end, 1.0, "same_row"))
    return unclaimed


def _choose_invoice_date(
    claims: dict[str, dict[date, Evidence]], unclaimed: list[Found], source: Source
) -> FieldValue[date] | None:
    labelled = claims.get("invoice_date", {})
    other = set(claims.get("due_date", {})) | set(claims.get("other_date", {}))
    # A document that prints a single date leaves little doubt about which one it is.
    only_date = len({*labelled, *other, *(f.value.value for f in unclaimed)}) == 1
    if labelled:
        ranked = sorted(labelled.values(), key=lambda e: (e.strength, -e.found[0].cell.row), reverse=True)
        best = ranked[0]
        confidence = 0.5 + 0.45 * best.strength + (0.1 if only_date else 0.0)
        distinct = {e.value for e in ranked}
        if len(distinct) > 1 and ranked[1].strength > 0.8 * best.strength:
            confidence -= 0.25  # two labelled dates that disagree
        if best.value in other:
            confidence -= 0.2  # the same date is also called a due / delivery date
        return _field(best, confidence, source)
    if not unclaimed:
        return None
    # No label: on receipts and simple bills the first printed date is the date of issue.
    first = min(unclaimed, key=lambda f: (f.cell.row, f.start))
    confidence = 0.85 if only_date else 0.55
    return _field(_single(first, confidence), confidence, source)


"""The invoice number: the id-like token an invoice-number label points at."""

from __future__ import annotations

import re

from extraction.models import FieldValue, Source
from extraction.parsing.dates import find_dates
from extraction.parsing.labels import find_labels
from extraction.parsing.layout import Layout
from extraction.parsing.pairing import Evidence, Found, LabelledCell, values_for_label

# An id: letters, digits and the joiners ids use (/ - _ .), with at least one digit.
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_/.\-]*[A-Za-z0-9]|[0-9]")
_LEADING = re.compile(r"[\s:#°º.\-]")


def _id_tokens(text: str) -> list[tuple[str, int, int]]:
    """Id-like tokens of a text: with a digit, and not a date, a label or an amount."""
    tokens = []
    dates = find_dates(text)
    for match in _TOKEN.finditer(text):
        token = match.group()
        if not any(ch.isdigit() for ch in token) or find_labels(token):
            continue
        if any(d.start <= match.start() < d.end for d in dates) or re.fullmatch(r"\d{1,3}([.,]\d{2})", token):
            continue
        tokens.append((token, match.start(), match.end()))
    return tokens


def _follows_label(found: Found) -> bool:
    """On the label's row the id must come first: right after the label, or first in the next cell."""
    if found.where == "below":
        return True
    gap = found.cell.text[found.label.end if found.in_label_cell and found.label else 0 : found.start]
    return _LEADING.sub("", gap) == ""


def choose_invoice_number(layout: Layout, labelled: list[LabelledCell], source: Source) -> FieldValue[str] | None:
    candidates = number_candidates(layout, labelled)
    if not candidates:
        return None
    ranked = sorted(candidates.items(), key=lambda item: item[1].strength, reverse=True)
    value, best = ranked[0]
    confidence = 0.4 + 0.55 * best.strength
    if len(ranked) > 1 and ranked[1][1].strength > 0.7 * best.strength:
        confidence -= 0.25  # two labelled ids compete
    return max(best.found, key=lambda f: f.link).field_value(value, confidence, source)


def number_candidates(layout: Layout, labelled: list[LabelledCell]) -> dict[str, Evidence]:
    """Every id an invoice-number label points at, with its cues."""
    candidates: dict[str, Evidence] = {}
    for item in labelled:
        for label in item.labels:
            if label.field != "invoice_number":
                continue
            weak_title = label.strength < 0.5
            for found in values_for_label(layout, item, label, _id_tokens):
                if not _follows_label(found):
                    continue
                if weak_title and (found.link < 0.8 or found.cell.bbox[1] - item.cell.bbox[3] > 3 * item.cell.height):
                    break  # a bare "Invoice" title only vouches for an id right next to or under it
                skipped_rows = found.where == "below" and found.cell.row > item.cell.row + 1
                score = label.strength * found.link * (0.8 if skipped_rows else 1.0)
                candidates.setdefault(found.value, Evidence(found.value)).add(score, found)
                break
    return candidates

"""The invoice number: the id-like token an invoice-number label points at."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from extraction.models import FieldValue, Source
from extraction.parsing.dates import find_dates
from extraction.parsing.labels import find_labels
from extraction.parsing.layout import Layout
from extraction.parsing.pairing import Found, LabelledCell, values_for_label

# An id: letters, digits and the joiners ids use (/ - _ .), with at least one digit.
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_/.\-]*[A-Za-z0-9]|[0-9]")
_LEADING = re.compile(r"^[\s:#°º.\-]*")


def _id_extractor(text: str) -> list[tuple[str, int, int]]:
    """The first id-like token of a text, if it has a digit and is not a date, a label or an amount."""
    skip = _LEADING.match(text)
    offset = skip.end() if skip else 0
    match = _TOKEN.search(text, offset)
    if match is None or match.start() - offset > 2:
        return []  # the value must follow the label, not sit somewhere further along the line
    token = match.group()
    if not any(ch.isdigit() for ch in token) or find_dates(token) or find_labels(token):
        return []
    if re.fullmatch(r"\d{1,3}([.,]\d{2})", token):
        return []  # an amount
    return [(token, match.start(), match.end())]


@dataclass
class _Candidate:
    scores: list[float] = field(default_factory=list)
    found: list[Found] = field(default_factory=list)

    @property
    def strength(self) -> float:
        miss = 1.0
        for score in self.scores:
            miss *= 1.0 - score
        return 1.0 - miss


def choose_invoice_number(layout: Layout, labelled: list[LabelledCell], source: Source) -> FieldValue[str] | None:
    candidates: dict[str, _Candidate] = {}
    for item in labelled:
        for label in item.labels:
            if label.field != "invoice_number":
                continue
            weak_title = label.strength < 0.5
            for found in values_for_label(layout, item, label, _id_extractor, look_below=True):
                if weak_title and found.link < 0.8:
                    continue  # a bare "Invoice" title only vouches for an id next to it
                candidate = candidates.setdefault(found.value, _Candidate())
                candidate.scores.append(label.strength * found.link)
                candidate.found.append(found)
                break
    if not candidates:
        return None
    ranked = sorted(candidates.items(), key=lambda item: item[1].strength, reverse=True)
    value, best = ranked[0]
    confidence = 0.4 + 0.55 * best.strength
    if len(ranked) > 1 and ranked[1][1].strength > 0.7 * best.strength:
        confidence -= 0.25  # two labelled ids compete
    where = max(best.found, key=lambda f: f.link)
    confidence *= min(1.0, 0.35 + where.ocr_confidence)
    return FieldValue(
        value=value,
        confidence=round(max(0.0, min(1.0, confidence)), 3),
        source=source,
        page=where.cell.page,
        bbox=where.bbox,
    )

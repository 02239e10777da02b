"""Tax identifiers by pattern: EU VAT numbers (and GB, CH), India's GSTIN, Australia's ABN, the US EIN,
Malaysian GST/SST registrations, and any id a tax-id label points at.

Invoices print the customer's VAT number too ("N° TVA client", "Uw BTW nummer"), so ids in the
customer's block or behind a customer word are not the vendor's, and bank account numbers are not
tax ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extraction.models import FieldValue, Source
from extraction.parsing.dates import fold
from extraction.parsing.layout import Cell, Layout

_EU_VAT_BODY = {
    "AT": r"U\d{8}",
    "BE": r"[01]\d{9}",
    "BG": r"\d{9,10}",
    "CY": r"\d{8}[A-Z]",
    "CZ": r"\d{8,10}",
    "DE": r"\d{9}",
    "DK": r"\d{8}",
    "EE": r"\d{9}",
    "EL": r"\d{9}",
    "ES": r"[A-Z0-9]\d{7}[A-Z0-9]",
    "FI": r"\d{8}",
    "FR": r"[A-HJ-NP-Z0-9]{2}\d{9}",
    "HR": r"\d{11}",
    "HU": r"\d{8}",
    "IE": r"\d[A-Z0-9+*]\d{5}[A-Z]{1,2}",
    "IT": r"\d{11}",
    "LT": r"\d{9}|\d{12}",
    "LU": r"\d{8}",
    "LV": r"\d{11}",
    "MT": r"\d{8}",
    "NL": r"\d{9}B\d{2}",
    "PL": r"\d{10}",
    "PT": r"\d{9}",
    "RO": r"\d{2,10}",
    "SE": r"\d{12}",
    "SI": r"\d{8}",
    "SK": r"\d{10}",
    "GB": r"\d{9}|\d{12}|GD\d{3}|HA\d{3}",
    "XI": r"\d{9}|\d{12}",
    "CHE": r"\d{9}",
}
_EU_VAT_FULL = {country: re.compile(rf"(?:{body})") for country, body in _EU_VAT_BODY.items()}
# Country prefix, then characters that may be grouped by spaces, dots or dashes ("FR 604 219 388 61").
_EU_VAT_RE = re.compile(
    r"(?<![A-Z0-9])(?P<country>" + "|".join(sorted(_EU_VAT_BODY, key=len, reverse=True)) + r")"
    r"[\s.-]?(?P<body>[0-9A-Z](?:[\s.-]?[0-9A-Z+*]){1,13})(?![0-9A-Za-z])"
)
_GSTIN_RE = re.compile(r"(?<![A-Z0-9])(?P<id>\d{2}[A-Z]{5}\d{4}[A-Z][1-9A-Z]Z[0-9A-Z])(?![A-Z0-9])")
_ABN_RE = re.compile(r"\babn\b[\s:.#]*(?P<id>\d{2}\s?\d{3}\s?\d{3}\s?\d{3})(?!\d)", re.IGNORECASE)
_EIN_RE = re.compile(r"\b(?:ein|fein|tin|federal\s*tax\s*id|tax\s*id)\b[\s:.#no]*(?P<id>\d{2}-\d{7})(?!\d)", re.IGNORECASE)
_MY_GST_RE = re.compile(
    r"\bgst\s*(?:reg(?:istration)?\.?\s*)?(?:no|id|number)?\.?\s*[:.#]?\s*(?P<id>\d{12})(?!\d)", re.IGNORECASE
)
_MY_SST_RE = re.compile(r"(?<![A-Z0-9])(?P<id>[A-Z]\d{2}-\d{4}-\d{8})(?![0-9])")
# A tax-id label followed by whatever id comes next (national tax numbers like "201/113/40209").
_LABELLED_RE = re.compile(
    r"(?:ust\.?\s*-?\s*id\.?\s*-?\s*(?:nr)?|steuer\s*-?\s*(?:nr|nummer)|vat\s*(?:reg\.?\s*)?(?:no|number|id)|"
    r"tax\s*(?:id|no|number)|tva|btw(?:\s*-?\s*nummer)?|nif|cif|gst\s*(?:reg\.?\s*)?(?:no|id))"
    r"[\s.:#-]*(?P<id>[A-Z0-9][A-Z0-9/.\- ]{5,20}[A-Z0-9])",
    re.IGNORECASE,
)
# The national ids recognised by their shape, and how sure that shape is.
_ID_PATTERNS = ((_GSTIN_RE, 0.95), (_MY_SST_RE, 0.85), (_ABN_RE, 0.85), (_EIN_RE, 0.85), (_MY_GST_RE, 0.85))
_CUSTOMER_CUES = re.compile(
    r"\b(client|customer|kunde|kaufer|buyer|acheteur|cliente|klant|uw|your|ihre|votre|destinataire|empfanger)\b"
)

# An IBAN starts like a VAT number ("IBAN : FR20 1242 1242 ..." reads as FR20124212421).
_BANK_CUE = re.compile(r"\b(?:iban|konto|kto|rib|account)\b[\s:.#-]*$")


@dataclass(frozen=True)
class _Hit:
    value: str
    cell: Cell
    start: int
    end: int
    strength: float


def _compact(text: str) -> str:
    return re.sub(r"[\s.-]", "", text).upper()


def _eu_vat_ids(text: str) -> list[tuple[str, int, int]]:
    """EU VAT numbers in the text: (id, start, end)."""
    found = []
    for match in _EU_VAT_RE.finditer(text):
        country, body = match["country"], _compact(match["body"])
        for length in range(len(body), 1, -1):  # the id may run into a following word: try shorter
            if _EU_VAT_FULL[country].fullmatch(body[:length]):
                found.append((country + body[:length], match.start(), match.end()))
                break
    return found


def _eu_vat_hits(cell: Cell) -> list[_Hit]:
    return [_Hit(value, cell, start, end, 0.9) for value, start, end in _eu_vat_ids(cell.text)]


# A German tax number as printed ("201/113/40209"): no label needed to tell it is not an address.
_DE_TAX_NUMBER = re.compile(r"(?<![\d/])\d{2,3}/\d{3,4}/\d{4,5}(?![\d/])")


def has_tax_id(text: str) -> bool:
    """Whether a pattern recognises a tax id in the text (an address line never has one)."""
    return bool(
        _eu_vat_ids(text)
        or _DE_TAX_NUMBER.search(text)
        or any(pattern.search(text) for pattern, _ in _ID_PATTERNS)
    )


def _pattern_hits(cell: Cell) -> list[_Hit]:
    hits = _eu_vat_hits(cell)
    for pattern, strength in _ID_PATTERNS:
        hits += [
            _Hit(re.sub(r"\s", "", m["id"]), cell, m.start("id"), m.end("id"), strength)
            for m in pattern.finditer(cell.text)
        ]
    if not hits:
        hits += [
            _Hit(_compact(m["id"]), cell, m.start("id"), m.end("id"), 0.6)
            for m in _LABELLED_RE.finditer(cell.text)
            if any(ch.isdigit() for ch in m["id"])
        ]
    return hits


def choose_vendor_tax_id(layout: Layout, customer_cells: set[int], source: Source) -> FieldValue[str] | None:
    """The first vendor-side tax id in reading order, preferring ids a pattern recognises."""
    hits = []
    for cell in layout.cells:
        if id(cell) in customer_cells:
            continue
        for hit in _pattern_hits(cell):
            context = fold(cell.text[: hit.start])
            left = layout.rows[cell.row].cells
            left_text = fold(" ".join(c.text for c in left if c.bbox[2] <= cell.bbox[0]))
            if _CUSTOMER_CUES.search(context) or _CUSTOMER_CUES.search(left_text) or _BANK_CUE.search(context):
                continue
            hits.append(hit)
    if not hits:
        return None
    best = max(hits, key=lambda h: (h.strength, -h.cell.row))
    distinct = {h.value for h in hits if h.strength >= 0.85}
    confidence = best.strength - (0.25 if len(distinct) > 1 else 0.0)
    return best.cell.field_value(best.value, confidence, source, best.start, best.end)

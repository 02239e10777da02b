"""Who issued the invoice and to whom: vendor name and address, customer name.

The vendor is found from several cues that each add to a line's score: a legal-form or trade suffix
(SDN BHD, GmbH, Ltd, B.V., SARL, ... ENTERPRISE, TRADING), a vendor label above or before it (Seller,
Verkäufer, Fournisseur), its place in the header of the first page, a larger font, and the one-line
return address above a letter's window ("Bei Spiel GmbH • Ecke 12 • 12345 Stadthausen"). Lines in the
customer's block (after Bill to / Käufer / Client ...) never count.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

from extraction.models import FieldValue, Source
from extraction.parsing.amounts import find_amounts
from extraction.parsing.dates import find_dates, fold
from extraction.parsing.labels import find_labels
from extraction.parsing.layout import Cell, Layout
from extraction.parsing.pairing import LabelledCell

_LEGAL_FORM = re.compile(
    r"(?<![A-Za-z])(?:sdn\.?\s*bhd|s/b|berhad|bhd|gmbh(?:\s*&\s*co\.?(?:\s*kg)?)?|mbh|ag|kgaa|kg|ohg|e\.\s?k\.|ug"
    r"|ltd|limited|llc|l\.l\.c|inc|incorporated|corp|corporation|co\.,?\s*ltd|plc|llp|pty|pvt|pte"
    r"|b\.\s?v|bv|n\.\s?v|nv|v\.\s?o\.\s?f|vof|s\.?a\.?r\.?l|sarl|s\.a\.s|sas|s\.?p\.?a|s\.?r\.?l|s\.l|s\.a)\.?(?![A-Za-z])",
    re.IGNORECASE,
)
_TRADE_WORD = re.compile(
    r"(?<![A-Za-z])(?:enterprises?|trading|restaurant|restoran|store|stores|mart|minimart|supermarket|hypermarket"
    r"|hardware|pharmacy|farmasi|cafe|bakery|bakeries|services|shop|kedai|station|industries|holdings|company"
    r"|marketing|stationery|book|florist|electrical|motor|machinery|engineering|agency|clinic|hotel|resort)(?![A-Za-z])",
    re.IGNORECASE,
)
_TITLE = re.compile(
    r"^(?:(?:simplified\s*|full\s*)?tax\s*invoice|invoice|receipt|official\s*receipt|cash\s*(?:bill|sales?|receipt)"
    r"|bill|payment\s*receipt|credit\s*note|debit\s*note|quotation|rechnung|handelsrechnung|gutschrift|quittung"
    r"|kassenbon|facture|avoir|factuur|kopie\s*factuur|factura|invois|resit|copy|kopie|original|duplicate"
    r"|delivery\s*order|statement|sales\s*order)[\s.:#]*$",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?:\b(?:tel|phone|fax|telefon|telefax|tél|hp|mobile|mob|whatsapp)\b|\+\d|\(\d{2,4}\)\s?\d)", re.IGNORECASE)
_WEB = re.compile(r"@|www\.|https?://|\.(?:com|de|fr|nl|my|net|org)\b", re.IGNORECASE)
_REG_NO = re.compile(r"^\(?\s*(?:co\.?\s*(?:reg\.?)?\s*no\.?|company\s*no\.?|roc|reg\.?\s*no\.?)?[\s:.]*\d{3,}[\s-]*[A-Z]?\s*\)?$", re.IGNORECASE)
_SEPARATOR = re.compile(r"\s+[•●·|–]\s+|\s+-\s+")
_POSTCODE = re.compile(r"\b\d{4,6}\b")


@dataclass(frozen=True)
class Parties:
    vendor_name: FieldValue[str] | None
    vendor_address: FieldValue[str] | None
    customer_name: FieldValue[str] | None


def customer_cells(layout: Layout, labelled: list[LabelledCell]) -> set[int]:
    """Ids of the cells that make up the customer's block: its label, the label's row, and what
    follows below it in the label's column up to the next gap."""
    block: set[int] = set()
    for item in labelled:
        label = next((lab for lab in item.labels if lab.field == "customer"), None)
        if label is None or label.start > 3:
            continue
        cell = item.cell
        block.add(id(cell))
        block.update(id(c) for c in layout.right_of(cell)[:1])
        page_width = layout.page_sizes.get(cell.page, (1000.0, 0.0))[0]
        x0, x1 = cell.bbox[0] - 5, cell.bbox[0] + max(cell.bbox[2] - cell.bbox[0], 0.3 * page_width)
        last_bottom = cell.bbox[3]
        for row in layout.rows[cell.row + 1 : cell.row + 7]:
            if row.page != cell.page or row.bbox[1] - last_bottom > 2.5 * row.height:
                break
            column = [c for c in row.cells if c.bbox[0] < x1 and c.bbox[2] > x0]
            if not column or any(find_labels(c.text[:20]) and c.bbox[0] >= x0 for c in column if c is not column[0]):
                continue
            if any(_starts_with_other_label(c) for c in column):
                break
            block.update(id(c) for c in column)
            last_bottom = max(c.bbox[3] for c in column)
    return block


def _starts_with_other_label(cell: Cell) -> bool:
    labels = find_labels(cell.text[:30])
    return bool(labels) and labels[0].start <= 2 and labels[0].field not in ("customer",)


def _name_like(text: str) -> bool:
    letters = sum(ch.isalpha() for ch in text)
    if letters < 2 or letters < 0.45 * len(text.replace(" ", "")):
        return False
    if _TITLE.match(text.strip()) or _PHONE.search(text) or _WEB.search(text) or _REG_NO.match(text.strip()):
        return False
    if find_dates(text) or len(find_amounts(text)) > 0 or len(text.split()) > 9:
        return False
    return True


def _trim_name(text: str) -> str:
    """Cut what follows a name on the same line: "Free SAS au capital de ..." -> "Free SAS"."""
    text = _SEPARATOR.split(text)[0].strip(" ,:;-")
    suffix = None
    for suffix in _LEGAL_FORM.finditer(text):
        pass
    if suffix is not None and len(text) - suffix.end() > 3:
        tail = text[suffix.end() :].strip()
        if not re.match(r"^\(?[A-Z]{1,4}\)?$", tail):  # keep a short branch tag like "(M)"
            text = text[: suffix.end()]
    return re.sub(r"\s*\(\s*\d[\d\s-]*[A-Z]?\s*\)\s*$", "", text).strip(" ,:;-")  # drop "(139386-X)"


def _vendor_label_targets(layout: Layout, labelled: list[LabelledCell]) -> dict[int, float]:
    """Cells that a vendor label (Seller:, Verkäufer:, Lieferant) points at: right of it or just below."""
    targets: dict[int, float] = {}
    for item in labelled:
        label = next((lab for lab in item.labels if lab.field == "vendor"), None)
        if label is None or label.start > 3:
            continue
        rest = item.cell.text[label.end :].strip(" :")
        if rest and _name_like(rest):
            targets[id(item.cell)] = label.strength
            continue
        below = layout.below(item.cell.bbox, item.cell.row, max_rows=3)
        for cell in below:
            if _name_like(cell.text):
                targets[id(cell)] = label.strength
                break
    return targets


def _sender_line(text: str) -> bool:
    """A return-address line: name, street and postcode joined by separators on one line."""
    parts = _SEPARATOR.split(text)
    return len(parts) >= 3 and bool(_POSTCODE.search(text))


def _vendor_candidates(layout: Layout, excluded: set[int], labelled: list[LabelledCell]) -> list[tuple[float, Cell]]:
    first_page = layout.rows[0].page if layout.rows else 1
    cells = [c for c in layout.cells if c.page == first_page]
    if not cells:
        return []
    typical_height = statistics.median(c.height for c in cells)
    label_targets = _vendor_label_targets(layout, labelled)
    header_rank = 0
    scored = []
    for cell in cells:
        text = cell.text.strip()
        in_header = layout.relative_y(cell) < 0.3
        if id(cell) in excluded:
            continue
        sender = _sender_line(text)
        if not (_name_like(text) or sender) and id(cell) not in label_targets:
            continue
        score = 0.0
        if _LEGAL_FORM.search(text):
            score += 0.5
        elif _TRADE_WORD.search(text):
            score += 0.25
        if id(cell) in label_targets:
            score += 0.6 * label_targets[id(cell)]
        if sender:
            score += 0.45
        if in_header:
            score += max(0.0, 0.35 - 0.08 * header_rank)
            header_rank += 1
        if cell.height > 1.3 * typical_height:
            score += 0.15
        if find_labels(text[:25]) and id(cell) not in label_targets:
            score -= 0.3  # "Invoice Date:", "Total": labels, not names
        if text.isupper() and in_header:
            score += 0.05
        scored.append((score, cell))
    scored.sort(key=lambda item: (-item[0], item[1].row))
    return scored


def _address_after(layout: Layout, name_cell: Cell, excluded: set[int]) -> tuple[str, list[Cell]] | None:
    """The lines under the vendor's name in its column, up to the first phone, e-mail, id or label line."""
    remainder = _SEPARATOR.split(name_cell.text)[1:]
    if remainder:
        return ", ".join(part.strip() for part in remainder if part.strip()), [name_cell]
    x0, x1 = name_cell.bbox[0] - 0.5 * name_cell.height, name_cell.bbox[2] + 2 * name_cell.height
    lines: list[str] = []
    cells: list[Cell] = []
    last_bottom = name_cell.bbox[3]
    for row in layout.rows[name_cell.row + 1 : name_cell.row + 8]:
        if row.page != name_cell.page or row.bbox[1] - last_bottom > 2.2 * max(row.height, name_cell.height * 0.6):
            break
        column = [c for c in row.cells if c.bbox[0] < x1 and c.bbox[2] > x0 and id(c) not in excluded]
        if not column:
            continue
        text = " ".join(c.text for c in column).strip()
        if _REG_NO.match(text) or (lines == [] and _LEGAL_FORM.search(text) and not re.search(r"\d", text)):
            continue  # a registration number or the second line of the name
        if _PHONE.search(text) or _WEB.search(text) or find_dates(text) or find_labels(text[:20]) or _TITLE.match(text):
            break
        if re.search(r"\b(?:gst|vat|sst|tax|ust|tva|btw)\b", fold(text)):
            break
        lines.append(text)
        cells += column
        last_bottom = max(c.bbox[3] for c in column)
        if len(lines) == 5:
            break
    if not lines:
        return None
    joined = lines[0]
    for line in lines[1:]:
        joined += (" " if joined.rstrip().endswith((",", "-", "/")) else ", ") + line
    return joined, cells


def _customer_name(layout: Layout, labelled: list[LabelledCell], source: Source) -> FieldValue[str] | None:
    for item in labelled:
        label = next((lab for lab in item.labels if lab.field == "customer"), None)
        if label is None or label.start > 3:
            continue
        rest = item.cell.text[label.end :].strip(" :.-")
        options = ([item.cell] if rest and _name_like(rest) else []) + layout.right_of(item.cell)[:1]
        options += layout.below(item.cell.bbox, item.cell.row, max_rows=2)
        for cell in options:
            text = rest if cell is item.cell else cell.text.strip()
            if _name_like(text) and not find_labels(text[:15]):
                return FieldValue(
                    value=_trim_name(text),
                    confidence=round(0.6 * label.strength, 3),
                    source=source,
                    page=cell.page,
                    bbox=cell.bbox,
                )
    return None


def _confidence(score: float, runner_up: float, ocr_confidence: float) -> float:
    confidence = min(0.95, 0.3 + 0.45 * score)
    if score - runner_up < 0.2:
        confidence -= 0.2  # another line is almost as likely to be the vendor
    return max(0.0, confidence * min(1.0, 0.35 + ocr_confidence))


def choose_parties(layout: Layout, labelled: list[LabelledCell], excluded: set[int], source: Source) -> Parties:
    candidates = _vendor_candidates(layout, excluded, labelled)
    if not candidates:
        return Parties(None, None, _customer_name(layout, labelled, source))
    score, cell = candidates[0]
    runner_up = candidates[1][0] if len(candidates) > 1 else 0.0
    name = _trim_name(cell.text)
    vendor = FieldValue(
        value=name,
        confidence=round(_confidence(score, runner_up, cell.confidence), 3),
        source=source,
        page=cell.page,
        bbox=cell.bbox,
    )
    address = None
    found = _address_after(layout, cell, excluded)
    if found is not None:
        text, cells = found
        boxes = [c.bbox for c in cells]
        address = FieldValue(
            value=text,
            confidence=round(min(vendor.confidence, 0.7), 3),
            source=source,
            page=cell.page,
            bbox=(min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)),
        )
    return Parties(vendor, address, _customer_name(layout, labelled, source))

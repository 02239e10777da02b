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

from extraction.models import BBox, FieldValue, Source
from extraction.parsing.amounts import find_amounts
from extraction.parsing.dates import find_dates, fold
from extraction.parsing.labels import find_labels
from extraction.parsing.layout import Cell, Layout
from extraction.parsing.pairing import LabelledCell

_LEGAL_FORM = re.compile(
    r"(?<![A-Za-z])(?:s\s?[dnoil0]\s?n\.?\s*b\s?[hn]\s?a?\s?[dou]|[s5]/b|sb|berhad|bhd|gmbh(?:\s*&\s*co\.?(?:\s*kg)?)?|mbh|ag|kgaa|kg|ohg|e\.\s?k\.|ug"
    r"|ltd|limited|llc|l\.l\.c|inc|incorporated|corp|corporation|co\.,?\s*ltd|plc|llp|pty|pvt|pte"
    r"|a\.\s?g|e\.\s?v|b\.\s?v|bv|n\.\s?v|nv|v\.\s?o\.\s?f|vof|s\.?a\.?r\.?l|sarl|s\.a\.s|sas|s\.?p\.?a|s\.?r\.?l|s\.l|s\.a)\.?(?![A-Za-z])",
    re.IGNORECASE,
)
# How OCR misreads Malaysia's "SDN BHD" and "S/B" ("SIN BHAD", "SON BHD", "SDN BHU", "5/B"): a closed
# vocabulary, so a misread form can be put right.
_MISREAD_SDN_BHD = re.compile(r"(?<![A-Za-z])s\s?[dnoil0]\s?n(\.?)\s*b\s?[hn]\s?a?\s?[dou](?![A-Za-z])", re.IGNORECASE)
_MISREAD_S_B = re.compile(r"(?<![A-Za-z0-9])5/b(?![A-Za-z])", re.IGNORECASE)
_TRADE_WORD = re.compile(
    r"(?<![A-Za-z])(?:enterprises?|trading|restaurant|restoran|store|stores|mart|minimart|supermarket|hypermarket"
    r"|hardware|pharmacy|farmasi|cafe|bakery|bakeries|services|shop|kedai|station|industries|holdings|company"
    r"|marketing|stationery|stationer|book|bookstores?|florist|electrical|motor|machinery|engineering|agency|clinic"
    r"|hotel|resort|syarikat|perniagaan|pizza|noodle|house|bistro|kitchen|pharmacy|healthcare|petrol)(?![A-Za-z])",
    re.IGNORECASE,
)
_TITLE = re.compile(
    r"^(?:(?:simplified\s*|full\s*)?tax\s*invoice|invoice|receipt|official\s*receipt|cash\s*(?:bill|sales?|receipt)"
    r"|bill|payment\s*receipt|credit\s*note|debit\s*note|quotation|rechnung|handelsrechnung|gutschrift|quittung"
    r"|kassenbon|facture|avoir|factuur|kopie\s*factuur|factura|invois|resit|copy|kopie|original|duplicate"
    r"|delivery\s*order|statement|sales\s*order)[\s.:#]*$",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?:\b(?:tel|te[1i]|phone|fax|telefon|telefax|tél|hp|mobile|mob|whatsapp)\b|\+\d|\(\d{2,4}\)\s?\d)", re.IGNORECASE)
_WEB = re.compile(r"@|www\.|https?://|\.(?:com|de|fr|nl|my|net|org)\b", re.IGNORECASE)
_REG_NO = re.compile(
    r"^\(?\s*(?:(?:co|company)\.?\s*(?:reg(?:istration)?\.?)?\s*no\.?|roc|reg(?:istration)?\.?\s*no\.?)?[\s:.]*\d{3,}[\s-]*[A-Z]?\s*\)?$"
    r"|\b(?:co|company|reg(?:istration)?)\.?\s*(?:reg(?:istration)?\.?\s*)?no\b"
    r"|\bco\.?\s*-?\s*re[gi]\w*\s*[:.]?\s*\d",  # "(CO.REG :860671-D)", OCR: "Co-REi:360671-D"
    re.IGNORECASE,
)
_TAX_WORDS = re.compile(r"\b(?:gst|vat|sst|tax|ust|tva|btw)\b")
_REG_SUFFIX = re.compile(r"\s*\(\s*(?:co|company|reg|roc)\b[^)]*\)?\s*$", re.IGNORECASE)
_STREET = re.compile(
    r"\b(?:jalan|jln|lorong|taman|lot|no\.|street|st\.|road|rd\.?|avenue|ave|blvd|strasse|straße|str\.|weg|platz|rue"
    r"|chemin|avenue|laan|straat|calle|floor|level|blok|block|suite|menara|wisma|kompleks|plaza|tingkat|aras)\b"
    r"|\b\d{5}\b|#\d+-\d+"
    r"|\w(?:straße|strasse|str\.|weg|platz|allee|gasse|damm|ring|laan|straat|gracht)\s*\d",  # "Lieferantenstraße 20"
    re.IGNORECASE,
)
# "Name: Lieferant GmbH" carries a name; "Nummer: 549910" or "Anschrift: ..." do not.
_KEY_VALUE = re.compile(r"^(?P<key>[^\W\d_][\w.\-]*(?:\s[^\W\d_][\w.\-]*)?)\s?:\s*(?P<value>.*)$")
_NAME_KEYS = re.compile(r"^(?:name|firma|company|company\s*name|unternehmen|nom|naam|nombre|raison\s*sociale)$", re.IGNORECASE)
_OWNER = re.compile(r"\b(?:owned|operated|managed|issued)\s+by\b|\bsubsidiary\s+of\b|\bfranchisee?\b", re.IGNORECASE)
_TITLE_WORD = re.compile(
    r"^(?:tax\s+)?(?:invoice|receipt|rechnung|facture|factuur|factura)\s+|\s+(?:tax\s+)?(?:invoice|receipt|rechnung|facture|factuur|factura)$",
    re.IGNORECASE,
)
_NOT_NAME = re.compile(r"\(c\)|©|copyright|\bpage\b|\bseite\b|stylesheet", re.IGNORECASE)
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
        if label is None or label.start > 3 or not _heads_a_block(item.cell.text, label.end):
            continue
        cell = item.cell
        page_width = layout.page_sizes.get(cell.page, (1000.0, 0.0))[0]
        block.add(id(cell))
        beside = layout.right_of(cell)[:1]
        if beside and beside[0].bbox[0] - cell.bbox[2] < 0.25 * page_width and not find_labels(beside[0].text[:20]):
            block.add(id(beside[0]))  # "Bill to:   John Smith"
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


def _heads_a_block(text: str, label_end: int) -> bool:
    """"Bill to:", "Kunde" alone or "Käufer/Leistungsempfänger:" head a block; "Kunde AG" is a name."""
    rest = text[label_end:].strip()
    return rest == "" or rest.startswith((":", "/")) or bool(re.match(r"^[\s:.\-]*$", rest))


def _starts_with_other_label(cell: Cell) -> bool:
    labels = find_labels(cell.text[:30])
    return bool(labels) and labels[0].start <= 2 and labels[0].field not in ("customer",)


def _name_like(text: str) -> bool:
    letters = sum(ch.isalpha() for ch in text)
    if letters < 2 or letters < 0.45 * len(text.replace(" ", "")):
        return False
    if _TITLE.match(text.strip()) or _PHONE.search(text) or _WEB.search(text) or _NOT_NAME.search(text):
        return False
    if _LEGAL_FORM.fullmatch(text.strip(" .,()")):
        return False  # "SDN BHD" or "KG" alone is the end of a name, not a name
    if find_dates(text) or len(find_amounts(text)) > 0 or len(text.split()) > 9 or _REG_NO.search(text):
        return False
    return True


def _canonical_forms(text: str) -> str:
    """Put right OCR misreadings of the Malaysian legal forms, keeping the text's case."""

    def sdn_bhd(match: re.Match[str]) -> str:
        form = f"SDN{match.group(1)} BHD"
        return form if match.group(0).isupper() else form.title()

    return _MISREAD_S_B.sub("S/B", _MISREAD_SDN_BHD.sub(sdn_bhd, text))


def _has_legal_form(text: str) -> bool:
    """A legal form after at least one word of the name ("KG.BATU" starts with one: that is an address)."""
    return any(match.start() > 0 for match in _LEGAL_FORM.finditer(text))


def _trim_name(text: str) -> str:
    """Cut what follows a name on the same line: "Free SAS au capital de ..." -> "Free SAS",
    "Amazon Web Services Invoice" -> "Amazon Web Services"."""
    text = _SEPARATOR.split(text)[0].strip(" ,:;-")
    text = _canonical_forms(_TITLE_WORD.sub("", text).strip(" ,:;-") or text)
    forms = list(_LEGAL_FORM.finditer(text))
    if forms and re.search(r"\d", text[forms[0].end() :]):
        forms = forms[:1]  # "MYNEWS RETAIL SB (306295-X) FKA BISON STORES SB": the name ends at the first form
    if forms:
        tail = text[forms[-1].end() :].strip()
        # A sentence after the name ("Free SAS au capital de 3.441.812 Euros") goes; a short tag
        # ("(M)") or a seat ("Rohstoff AG Salzgitter") stays.
        if re.search(r"\d", tail) or len(tail.split()) > 2:
            text = text[: forms[-1].end()]
    return re.sub(r"\s*\(\s*\d[\d\s-]*[A-Z]?\s*\)\s*$", "", text).strip(" ,:;-")  # drop "(139386-X)"


def _name_text(text: str) -> str | None:
    """The name a cell carries, if any: "Name: Lieferant GmbH" -> "Lieferant GmbH"; "Nummer: 549910" -> None;
    "Dion Realties Sdn Bhd (Co. No:20154-T)" -> "Dion Realties Sdn Bhd"."""
    text = _REG_SUFFIX.sub("", text.strip())
    pair = _KEY_VALUE.match(text)
    if pair is not None and not _LEGAL_FORM.search(pair["key"]):
        if not _NAME_KEYS.match(pair["key"].strip()):
            return None
        text = pair["value"].strip()
    return text if _name_like(text) else None


@dataclass
class _KeyCells:
    """Rows printed as "Key:   value" over two cells: which cells are keys, and each value cell's key."""

    keys: dict[int, Cell]  # id(key cell) -> its value cell
    key_of: dict[int, str]  # id(value cell) -> key text

    @classmethod
    def of(cls, layout: Layout) -> _KeyCells:
        keys: dict[int, Cell] = {}
        key_of: dict[int, str] = {}
        for row in layout.rows:
            for cell, following in zip(row.cells, row.cells[1:]):
                text = cell.text.strip()
                if text.endswith(":") or following.text.lstrip().startswith(":"):
                    keys[id(cell)] = following
                    key_of[id(following)] = text.rstrip(" :")
        return cls(keys, key_of)

    def name_value(self, cell: Cell) -> Cell | None:
        """For a "Name:" key cell, the cell holding the name."""
        value = self.keys.get(id(cell))
        return value if value is not None and _NAME_KEYS.match(cell.text.strip(" :")) else None


def _vendor_label_targets(layout: Layout, labelled: list[LabelledCell], pairs: _KeyCells) -> dict[int, float]:
    """Cells that a vendor label (Seller:, Verkäufer:, Lieferant) points at: right of it or below it."""
    targets: dict[int, float] = {}
    for item in labelled:
        label = next((lab for lab in item.labels if lab.field == "vendor"), None)
        if label is None or label.start > 3:
            continue
        rest = item.cell.text[label.end :].strip(" :")
        if rest and _name_text(rest):
            targets[id(item.cell)] = label.strength
            continue
        for cell in [*layout.right_of(item.cell)[:1], *layout.below(item.cell.bbox, item.cell.row, max_rows=4)]:
            cell = pairs.name_value(cell) or cell
            if id(cell) not in pairs.keys and _name_text(cell.text.lstrip(" :")):
                targets[id(cell)] = label.strength
                break
    return targets


def _sender_line(text: str) -> bool:
    """A return-address line: name, street and postcode joined by separators on one line."""
    parts = _SEPARATOR.split(text)
    return len(parts) >= 3 and bool(_POSTCODE.search(text))


def _owned_by(layout: Layout, cell: Cell) -> bool:
    """"Owned by: X SDN BHD" names the company behind the shop, not the shop the receipt is from."""
    if _OWNER.search(cell.text):
        return True
    above = layout.rows[cell.row - 1] if cell.row > 0 else None
    return above is not None and above.page == cell.page and any(_OWNER.search(c.text) for c in above.cells)


def _vendor_candidates(layout: Layout, excluded: set[int], labelled: list[LabelledCell]) -> list[tuple[float, Cell]]:
    first_page = layout.rows[0].page if layout.rows else 1
    cells = [c for c in layout.cells if c.page == first_page]
    if not cells:
        return []
    typical_height = statistics.median(c.height for c in cells)
    pairs = _KeyCells.of(layout)
    label_targets = _vendor_label_targets(layout, labelled, pairs)
    header_rank = 0
    scored = []
    for cell in cells:
        key = pairs.key_of.get(id(cell))
        if id(cell) in excluded or id(cell) in pairs.keys or (key is not None and not _NAME_KEYS.match(key)):
            continue  # a key ("Nummer:"), or the value of a key that is not a name ("Ansprechpartner: X")
        text = cell.text.strip().lstrip(": ")
        sender = _sender_line(text)
        name = _name_text(text)
        if name is None and not sender:
            continue
        in_header = layout.relative_y(cell) < 0.3
        score = 0.0
        if _has_legal_form(text):
            score += 0.5
        elif _TRADE_WORD.search(text):
            score += 0.25
        if id(cell) in label_targets:
            score += 0.6 * label_targets[id(cell)]
        if key is not None:
            score += 0.2  # "Name: X"
        if sender:
            score += 0.45
        if in_header:
            score += max(0.0, 0.4 - 0.08 * header_rank)
            header_rank += 1
        if cell.height > 1.3 * typical_height:
            score += 0.15
        if any(m.field not in ("vendor", "customer") for m in find_labels(text[:25])) and id(cell) not in label_targets:
            score -= 0.3  # "Invoice Date:", "Total": labels, not names
        if _owned_by(layout, cell):
            score -= 0.5
        if len(text.split()) == 1 and len(text) <= 8 and id(cell) not in label_targets:
            score -= 0.2  # "POSTED", "Counter": a stamp or a till, more often than a one-word name
        if _STREET.search(text) and id(cell) not in label_targets:
            score -= 0.4  # an address line
        elif _address_follows(layout, cell):
            score += 0.2  # a name with its address under it
        scored.append((score, cell))
    scored.sort(key=lambda item: (-item[0], item[1].row))
    return scored


def _address_follows(layout: Layout, cell: Cell) -> bool:
    """Whether one of the next two rows, in the cell's column, is an address line."""
    for row in layout.rows[cell.row + 1 : cell.row + 3]:
        if row.page != cell.page:
            return False
        column = [c for c in row.cells if c.bbox[0] < cell.bbox[2] and c.bbox[2] > cell.bbox[0]]
        if any(_STREET.search(c.text) for c in column):
            return True
    return False


def _continues(upper: Cell, lower: Cell, pairs: _KeyCells) -> bool:
    """Whether two stacked cells are one name printed over two lines."""
    if id(upper) in pairs.keys or id(lower) in pairs.keys or id(upper) in pairs.key_of:
        return False
    aligned_left = abs(upper.bbox[0] - lower.bbox[0]) < 0.5 * upper.height
    if id(lower) in pairs.key_of and aligned_left and lower.bbox[1] - upper.bbox[3] < upper.height:
        return _name_like(upper.text)  # "Name:  MVM Musterhafter / Versicherungsverein ...": a wrapped value
    gap = lower.bbox[1] - upper.bbox[3]
    similar = 0.7 <= lower.height / max(upper.height, 1.0) <= 1.4
    aligned = min(upper.bbox[2], lower.bbox[2]) - max(upper.bbox[0], lower.bbox[0]) > 0
    if not (similar and aligned and gap < 0.9 * upper.height):
        return False
    lower_is_form = bool(_LEGAL_FORM.fullmatch(lower.text.strip(" .,()")))
    if _name_text(upper.text) is None or (_name_text(lower.text) is None and not lower_is_form):
        return False
    if _has_legal_form(upper.text):
        return False
    upper_text, lower_text = upper.text.strip(), lower.text.strip()
    if _STREET.search(upper_text) or _STREET.search(lower_text):
        return False
    if _TRADE_WORD.match(lower_text) or lower_text.startswith("&"):
        return True  # "AIK HUAT HARDWARE" / "ENTERPRISE (SETIA ALAM) SDN BHD"
    if re.search(r"(?:&|\band|-|\(|,)$", upper_text, re.IGNORECASE) or upper_text.count("(") > upper_text.count(")"):
        return True  # "HOME MASTER HARDWARE &" / "ELECTRICAL"
    legal = _LEGAL_FORM.search(lower_text)
    if legal is None:
        return False
    before = lower_text[: legal.start()].strip()
    # "SDN BHD", "CO. (M) SDN BHD", "ALAM) SDN BHD": the lower line cannot stand alone as a name
    return before == "" or bool(re.match(r"^(?:co\b|&|\()", before, re.IGNORECASE)) or before.count(")") > before.count("(")


def _name_block(layout: Layout, cell: Cell, pairs: _KeyCells) -> list[Cell]:
    """The cell plus the lines above and below it that continue the same name."""
    block = [cell]
    while True:
        row = block[0].row - 1
        above = [c for c in layout.rows[row].cells if _continues(c, block[0], pairs)] if row >= 0 else []
        if not above or above[0].page != cell.page or len(block) >= 3:
            break
        block.insert(0, above[0])
    while True:
        row = block[-1].row + 1
        below = [c for c in layout.rows[row].cells if _continues(block[-1], c, pairs)] if row < len(layout.rows) else []
        if not below or below[0].page != cell.page or len(block) >= 3:
            break
        block.append(below[0])
    return block


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
        is_id = bool(_REG_NO.search(text) or _TAX_WORDS.search(fold(text)))
        if not lines and (is_id or (_LEGAL_FORM.search(text) and not re.search(r"\d", text))):
            continue  # between name and address: registration and tax numbers, the rest of the name
        if is_id or _PHONE.search(text) or _WEB.search(text) or find_dates(text) or find_labels(text[:20]) or _TITLE.match(text):
            break
        lines.append(text)
        cells += column
        last_bottom = max(c.bbox[3] for c in column)
        if len(lines) == 5:
            break
    if not lines:
        return None
    # Lines are joined as printed, with a space: the line break is not punctuation.
    return " ".join(lines), cells


def _customer_name(layout: Layout, labelled: list[LabelledCell], source: Source) -> FieldValue[str] | None:
    """The first name in the customer's block: after "Bill to:" on its line, or under it."""
    for item in labelled:
        label = next((lab for lab in item.labels if lab.field == "customer"), None)
        if label is None or label.start > 3:
            continue
        if not _heads_a_block(item.cell.text, label.end):
            # "Customer: John Smith" in one cell
            options: list[tuple[Cell, str]] = [(item.cell, item.cell.text[label.end :].strip(" :.-"))]
        else:
            pairs = _KeyCells.of(layout)
            nearby = [*layout.right_of(item.cell)[:1], *layout.below(item.cell.bbox, item.cell.row, max_rows=4)]
            options = [(cell, cell.text) for cell in (pairs.name_value(c) or c for c in nearby) if id(cell) not in pairs.keys]
        for cell, text in options:
            name = _name_text(text.strip().lstrip(": "))
            if name is None or _STREET.search(name) or _starts_with_other_label(cell) and cell is not item.cell:
                continue
            return FieldValue(
                value=_trim_name(name),
                confidence=round(0.6 * label.strength, 3),
                source=source,
                page=cell.page,
                bbox=cell.bbox,
            )
    return None


def _union_box(boxes: list[BBox]) -> BBox:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


# Measured on the three sets: even the best-supported name line is the labelled name only about nine
# times in ten (trade name vs legal name, a name over two lines, one misread letter), so a vendor name
# never reaches the 0.8 that promises 98 %.
_MAX_CONFIDENCE = 0.75


def _confidence(score: float, runner_up: float, ocr_confidence: float) -> float:
    confidence = min(_MAX_CONFIDENCE, 0.3 + 0.45 * score)
    if score - runner_up < 0.2:
        confidence -= 0.2  # another line is almost as likely to be the vendor
    return max(0.0, confidence * min(1.0, 0.35 + ocr_confidence))


def choose_parties(layout: Layout, labelled: list[LabelledCell], excluded: set[int], source: Source) -> Parties:
    candidates = _vendor_candidates(layout, excluded, labelled)
    if not candidates:
        return Parties(None, None, _customer_name(layout, labelled, source))
    score, cell = candidates[0]
    runner_up = next((other for other, c in candidates[1:] if c.row != cell.row), 0.0)
    block = _name_block(layout, cell, _KeyCells.of(layout))
    name = _trim_name(" ".join((_name_text(c.text.lstrip(" :")) or c.text) for c in block))
    vendor = FieldValue(
        value=name,
        confidence=round(_confidence(score, runner_up, min(c.confidence for c in block)), 3),
        source=source,
        page=cell.page,
        bbox=_union_box([c.bbox for c in block]),
    )
    cell = block[-1]
    address = None
    found = _address_after(layout, cell, excluded)
    if found is not None:
        text, cells = found
        address = FieldValue(
            value=text,
            confidence=round(min(vendor.confidence, 0.7), 3),
            source=source,
            page=cell.page,
            bbox=_union_box([c.bbox for c in cells]),
        )
    return Parties(vendor, address, _customer_name(layout, labelled, source))

"""Who issued the invoice: the vendor's name.

The name is found from several cues that each add to a line's score: a legal-form or trade suffix
(SDN BHD, GmbH, Ltd, B.V., SARL, ... ENTERPRISE, TRADING), a vendor label above or before it (Seller,
Verkäufer, Fournisseur), its place in the header of the first page, a larger font, an address under
it, and the one-line return address above a letter's window ("Bei Spiel GmbH • Ecke 12 • 12345
Stadthausen"). Lines in the customer's block never count; a name printed over two or three lines is
joined.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

from extraction.geometry import union_box
from extraction.models import FieldValue, Source
from extraction.parsing.labels import find_labels
from extraction.parsing.layout import Cell, Layout
from extraction.parsing.names import (
    LEGAL_FORM,
    NAME_KEYS,
    OWNER,
    POSTCODE,
    SEPARATOR,
    STREET,
    TRADE_WORD,
    KeyCells,
    address_like,
    has_legal_form,
    name_like,
    name_text,
    trim_name,
)
from extraction.parsing.pairing import LabelledCell


def _vendor_label_targets(layout: Layout, labelled: list[LabelledCell], pairs: KeyCells) -> dict[int, float]:
    """Cells that a vendor label (Seller:, Verkäufer:, Lieferant) points at: right of it or below it."""
    targets: dict[int, float] = {}
    for item in labelled:
        label = next((lab for lab in item.labels if lab.field == "vendor"), None)
        if label is None or label.start > 3:
            continue
        rest = item.cell.text[label.end :].strip(" :")
        if rest and name_text(rest):
            targets[id(item.cell)] = label.strength
            continue
        for cell in [*layout.right_of(item.cell)[:1], *layout.below(item.cell.bbox, item.cell.row, max_rows=4)]:
            cell = pairs.name_value(cell) or cell
            if id(cell) not in pairs.keys and name_text(cell.text.lstrip(" :")):
                targets[id(cell)] = label.strength
                break
    return targets


def _sender_line(text: str) -> bool:
    """A return-address line: name, street and postcode joined by separators on one line."""
    parts = SEPARATOR.split(text)
    return len(parts) >= 3 and bool(POSTCODE.search(text))


def _owned_by(layout: Layout, cell: Cell) -> bool:
    """"Owned by: X SDN BHD" names the company behind the shop, not the shop the receipt is from."""
    if OWNER.search(cell.text):
        return True
    above = layout.rows[cell.row - 1] if cell.row > 0 else None
    return above is not None and above.page == cell.page and any(OWNER.search(c.text) for c in above.cells)


def _vendor_candidates(
    layout: Layout, excluded: set[int], labelled: list[LabelledCell], pairs: KeyCells
) -> list[tuple[float, Cell]]:
    first_page = layout.rows[0].page if layout.rows else 1
    cells = [c for c in layout.cells if c.page == first_page]
    if not cells:
        return []
    typical_height = statistics.median(c.height for c in cells)
    label_targets = _vendor_label_targets(layout, labelled, pairs)
    header_rank = 0
    scored = []
    for cell in cells:
        key = pairs.key_of.get(id(cell))
        if id(cell) in excluded or id(cell) in pairs.keys or (key is not None and not NAME_KEYS.match(key)):
            continue  # a key ("Nummer:"), or the value of a key that is not a name ("Ansprechpartner: X")
        text = cell.text.strip().lstrip(": ")
        sender = _sender_line(text)
        name = name_text(text)
        if name is None and not sender:
            continue
        in_header = layout.relative_y(cell) < 0.3
        score = 0.0
        if has_legal_form(text):
            score += 0.5
        elif TRADE_WORD.search(text):
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
        if len(text.split()) == 1 and len(text) <= 10 and id(cell) not in label_targets:
            score -= 0.2  # "POSTED", "Counter": a stamp or a till, more often than a one-word name
        if STREET.search(text) and id(cell) not in label_targets:
            score -= 0.4  # an address line
        elif _address_follows(layout, cell):
            score += 0.1  # a name with its address under it
        scored.append((score, cell))
    scored.sort(key=lambda item: (-item[0], item[1].row))
    return scored


def _address_follows(layout: Layout, cell: Cell) -> bool:
    """Whether one of the next two rows, in the cell's column, is an address line."""
    for row in layout.rows[cell.row + 1 : cell.row + 3]:
        if row.page != cell.page:
            return False
        column = [c for c in row.cells if c.bbox[0] < cell.bbox[2] and c.bbox[2] > cell.bbox[0]]
        if any(STREET.search(c.text) for c in column):
            return True
    return False


def _continues(upper: Cell, lower: Cell, pairs: KeyCells) -> bool:
    """Whether two stacked cells are one name printed over two lines."""
    if id(upper) in pairs.keys or id(lower) in pairs.keys or id(upper) in pairs.key_of:
        return False
    aligned_left = abs(upper.bbox[0] - lower.bbox[0]) < 0.5 * upper.height
    if id(lower) in pairs.key_of and aligned_left and lower.bbox[1] - upper.bbox[3] < upper.height:
        return name_like(upper.text)  # "Name:  MVM Musterhafter / Versicherungsverein ...": a wrapped value
    gap = lower.bbox[1] - upper.bbox[3]
    similar = 0.7 <= lower.height / max(upper.height, 1.0) <= 1.4
    aligned = min(upper.bbox[2], lower.bbox[2]) - max(upper.bbox[0], lower.bbox[0]) > 0
    if not (similar and aligned and gap < 0.9 * upper.height):
        return False
    lower_is_form = bool(LEGAL_FORM.fullmatch(lower.text.strip(" .,()")))
    if name_text(upper.text) is None or (name_text(lower.text) is None and not lower_is_form):
        return False
    if has_legal_form(upper.text):
        return False
    upper_text, lower_text = upper.text.strip(), lower.text.strip()
    if STREET.search(upper_text) or STREET.search(lower_text):
        return False
    if TRADE_WORD.match(lower_text) or lower_text.startswith("&"):
        return True  # "AIK HUAT HARDWARE" / "ENTERPRISE (SETIA ALAM) SDN BHD"
    if re.search(r"(?:&|\band|-|\(|,)$", upper_text, re.IGNORECASE) or upper_text.count("(") > upper_text.count(")"):
        return True  # "HOME MASTER HARDWARE &" / "ELECTRICAL"
    legal = LEGAL_FORM.search(lower_text)
    if legal is None:
        return False
    before = lower_text[: legal.start()].strip()
    # "SDN BHD", "CO. (M) SDN BHD", "ALAM) SDN BHD": the lower line cannot stand alone as a name
    if before == "" or re.match(r"^(?:co\b|&|\()", before, re.IGNORECASE) or before.count(")") > before.count("("):
        return True
    # A letterhead wraps one name in mixed case: a short line of plain words tight above the line that
    # ends in the legal form ("MVM Musterhafter" / "Versicherungsverein Musterstadt a.G."). Receipts print
    # a trade name and the company that runs it as separate upper-case lines ("AA PHARMACY" /
    # "SUBANG HEALTHCARE SDN BHD"), and the company is the vendor.
    # Tight: measured top to top, since Tesseract's boxes hug the ink (a line without descenders
    # reads shorter and farther away than the same type with them).
    pitch = lower.bbox[1] - upper.bbox[1]
    tight = pitch < 1.6 * max(upper.height, lower.height) and 0.75 <= lower.height / max(upper.height, 1.0) <= 1.35
    plain = len(upper_text.split()) <= 4 and not re.search(r"\d", upper_text) and not TRADE_WORD.search(upper_text)
    letterhead = not upper_text.isupper() and not lower_text.isupper()
    return tight and plain and letterhead and legal.end() >= len(lower_text.rstrip(" .")) - 1


def _name_block(layout: Layout, cell: Cell, pairs: KeyCells) -> list[Cell]:
    """The cell plus the lines above and below it that continue the same name."""
    block = [cell]
    while len(block) < 3 and (above := _stacked(layout, block[0], -1, pairs)) is not None:
        block.insert(0, above)
    while len(block) < 3 and (below := _stacked(layout, block[-1], 1, pairs)) is not None:
        block.append(below)
    return block


def _stacked(layout: Layout, cell: Cell, step: int, pairs: KeyCells) -> Cell | None:
    """The cell just above (step -1) or below (+1) that continues the name. Two rows away too: a
    logo's text beside the name can form a row of its own between two lines of the name."""
    for distance in (1, 2):
        index = cell.row + step * distance
        if not 0 <= index < len(layout.rows) or layout.rows[index].page != cell.page:
            return None
        for other in layout.rows[index].cells:
            upper, lower = (other, cell) if step < 0 else (cell, other)
            if _continues(upper, lower, pairs):
                return other
    return None


# Measured on the three sets: even the best-supported name line is the labelled name only about nine
# times in ten (trade name vs legal name, a name over two lines, one misread letter), so a vendor name
# never reaches the 0.8 that promises 98 %.
_MAX_CONFIDENCE = 0.75


def _confidence(score: float, runner_up: float, ocr_confidence: float) -> float:
    confidence = min(_MAX_CONFIDENCE, 0.3 + 0.45 * score)
    if score - runner_up < 0.2:
        confidence -= 0.2  # another line is almost as likely to be the vendor
    return max(0.0, confidence * min(1.0, 0.35 + ocr_confidence))


def _brand_above(best: Cell, others: list[Cell]) -> Cell:
    """"DOMINO'S PIZZA" above "DOMINO'S PIZZA PERMAS JAYA": the brand, not its branch."""
    if has_legal_form(best.text):
        return best  # "MAWAR" above "MAWAR TRADING SDN BHD": the company's registered name is the vendor
    words = best.text.casefold().split()
    for other in others:
        prefix = other.text.casefold().split()
        if other.page == best.page and 0 < best.row - other.row <= 4 and 0 < len(prefix) < len(words):
            if words[: len(prefix)] == prefix:
                return other
    return best


def choose_vendor(
    layout: Layout, labelled: list[LabelledCell], excluded: set[int], source: Source
) -> tuple[FieldValue[str], Cell] | None:
    """The vendor's name, and the cell its name ends in (its address follows it)."""
    options = vendor_options(layout, labelled, excluded, source, limit=1)
    if not options:
        return None
    option = options[0]
    return option.name, option.last_cell


@dataclass(frozen=True)
class VendorOption:
    name: FieldValue[str]
    last_cell: Cell  # where the name ends (its address follows)
    score: float  # the rules' score of the line the name was built from
    rank: int
    cells: tuple[Cell, ...] = ()  # the lines the name was read from, top to bottom
    joined: bool = False  # a name line and the stacked line next to it, read as one name


def vendor_options(
    layout: Layout, labelled: list[LabelledCell], excluded: set[int], source: Source, *, limit: int = 4
) -> list[VendorOption]:
    """The likeliest vendor names, best first, each built from its line the same way (brand above a
    branch, a name over two lines joined)."""
    pairs = KeyCells.of(layout)
    candidates = _vendor_candidates(layout, excluded, labelled, pairs)
    options: list[VendorOption] = []
    seen: set[str] = set()
    for rank, (score, line) in enumerate(candidates):
        if len(options) >= limit:
            break
        if score <= 0:
            break  # only label words and stamps ("datum", "POSTED"): the name is in a logo, if anywhere
        others = [c for _, c in candidates if c is not line]
        cell = _brand_above(line, others)
        runner_up = next((other for other, c in candidates[rank + 1 :] if c.row != cell.row), 0.0)
        block = _name_block(layout, cell, pairs)
        name = trim_name(" ".join((name_text(c.text.lstrip(" :")) or c.text) for c in block))
        if not name or name in seen:
            continue
        seen.add(name)
        vendor = FieldValue(
            value=name,
            confidence=round(_confidence(score, runner_up, min(c.confidence for c in block)), 3),
            source=source,
            page=cell.page,
            bbox=union_box([c.bbox for c in block]),
        )
        options.append(VendorOption(vendor, block[-1], score, rank, tuple(block)))
    return options + _joined_options(layout, options, pairs, seen)


def _stacked_name_line(layout: Layout, cell: Cell, step: int, pairs: KeyCells) -> Cell | None:
    """The line right above (step -1) or below (+1) a name line that could be the rest of the same name:
    a name-like line, over the same part of the width, of a similar size, with no more than a line's gap."""
    index = cell.row + step
    if not 0 <= index < len(layout.rows) or layout.rows[index].page != cell.page:
        return None
    for other in layout.rows[index].cells:
        upper, lower = (other, cell) if step < 0 else (cell, other)
        overlap = min(upper.bbox[2], lower.bbox[2]) - max(upper.bbox[0], lower.bbox[0])
        gap = lower.bbox[1] - upper.bbox[3]
        similar = 0.5 <= other.height / max(cell.height, 1.0) <= 2.0
        if (overlap > 0 and similar and gap < 1.5 * max(upper.height, lower.height) and id(other) not in pairs.keys
                and name_text(other.text) is not None and not address_like(other.text)):
            return other
    return None


def _joined_options(layout: Layout, options: list[VendorOption], pairs: KeyCells, seen: set[str]) -> list[VendorOption]:
    """Each option joined with the stacked name line above or below it: a shop sign is often printed over
    two lines of its own ("GOLDEN LANTERN" / "TEAHOUSE"), where the rules read one
    line as the name. Which reading is the vendor is the trained choice's to weigh."""
    joined = []
    for option in options:
        if not option.cells:
            continue
        for step in (-1, 1):
            edge = option.cells[0] if step < 0 else option.cells[-1]
            other = _stacked_name_line(layout, edge, step, pairs)
            if other is None:
                continue
            block = (other, *option.cells) if step < 0 else (*option.cells, other)
            name = trim_name(" ".join((name_text(c.text.lstrip(" :")) or c.text) for c in block))
            if not name or name in seen:
                continue
            seen.add(name)
            vendor = option.name.model_copy(update={
                "value": name, "bbox": union_box([c.bbox for c in block]),
                "confidence": round(option.name.confidence * min(1.0, 0.35 + min(c.confidence for c in block)), 3),
            })
            joined.append(VendorOption(vendor, block[-1], option.score, option.rank, block, joined=True))
    return joined

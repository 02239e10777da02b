"""Candidates and their features: what the rules found, described so that a trained model can choose.

For each field the rules' evidence (which labels point at a value, how strongly, where it sits, what
arithmetic it closes) becomes numbers. The rules' own pick is one feature among the others, so the
model learns when to trust it and when another candidate is the better bet.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import combinations, product
from typing import Any

from extraction.models import FieldValue
from extraction.parsing import RuleReading
from extraction.parsing.amounts import currency_votes, find_amounts
from extraction.parsing.dates import find_dates
from extraction.parsing.invoice_number import number_candidates
from extraction.parsing.issue_dates import date_claims
from extraction.parsing.layout import Cell, Layout
from extraction.parsing.locale import CURRENCY_OF_COUNTRY, country_hint
from extraction.parsing.names import POSTCODE, RECEIPT_PHRASE_WORD, TRADE_WORD, address_like, has_legal_form
from extraction.parsing.pairing import Evidence
from extraction.parsing.totals import amount_evidence

MONEY_FIELDS = ("total", "subtotal", "tax")
DATE_FIELDS = ("invoice_date", "due_date")
_ROUNDING_STEP = Decimal("0.05")
_TIME = re.compile(r"\d{1,2}:\d{2}")


@dataclass
class Place:
    """One printed occurrence of a candidate value."""

    cell: Cell
    start: int
    end: int


@dataclass
class Candidate:
    value: Any
    features: dict[str, float]
    places: list[Place] = field(default_factory=list)
    located: FieldValue | None = None  # where the rules located it, when they did

    def field_value(self, confidence: float, reading: RuleReading) -> FieldValue:
        confidence = round(max(0.0, min(1.0, confidence)), 3)
        if self.located is not None:
            return self.located.model_copy(update={"value": self.value, "confidence": confidence})
        place = self.places[-1] if self.places else None
        if place is None:
            return FieldValue(value=self.value, confidence=confidence, source=reading.source)
        return FieldValue(
            value=self.value,
            confidence=confidence,
            source=reading.source,
            page=place.cell.page,
            bbox=place.cell.span_bbox(place.start, place.end),
        )


# --- shared descriptions of where a value sits ------------------------------------------------------


def _document_y(layout: Layout, cell: Cell) -> float:
    """Position in the whole document in [0, 1]: pages in order, top to bottom."""
    pages = max(1, len(layout.page_sizes))
    return min(1.0, (cell.page - 1 + layout.relative_y(cell)) / pages)


def _place_features(layout: Layout, places: list[Place], median_height: float) -> dict[str, float]:
    if not places:
        return {"first_y": 0.5, "last_y": 0.5, "x_right": 0.5, "height": 1.0, "occurrences": 0.0, "ocr": 0.5}
    ys = [_document_y(layout, p.cell) for p in places]
    widths = [layout.page_sizes.get(p.cell.page, (1.0, 1.0))[0] or 1.0 for p in places]
    return {
        "first_y": min(ys),
        "last_y": max(ys),
        "x_right": max(p.cell.span_bbox(p.start, p.end)[2] / w for p, w in zip(places, widths, strict=True)),
        "height": min(3.0, max(p.cell.height for p in places) / median_height),
        "occurrences": min(4, len(places)) / 4,
        "ocr": statistics.fmean(p.cell.span_confidence(p.start, p.end) for p in places),
    }


def _median_height(layout: Layout) -> float:
    heights = [cell.height for cell in layout.cells if cell.height > 0]
    return statistics.median(heights) if heights else 1.0


def _strength(pool: dict[Any, Evidence], value: Any) -> float:
    evidence = pool.get(value)
    return evidence.strength if evidence is not None else 0.0


def _cues(pool: dict[Any, Evidence], value: Any) -> float:
    evidence = pool.get(value)
    return min(3, len(evidence.scores)) / 3 if evidence is not None else 0.0


def _rule(reading: RuleReading, name: str, value: Any) -> tuple[float, float]:
    """(the rules picked this value, their confidence in it)."""
    picked = getattr(reading.fields, name)
    if picked is None or picked.value != value:
        return 0.0, 0.0
    return 1.0, picked.confidence


# --- money: total, subtotal, tax -----------------------------------------------------------------


def money_candidates(reading: RuleReading) -> list[Candidate]:
    """Every amount printed on the document (and every one the rules derived), described once; the
    total, subtotal and tax models each score the same candidates."""
    layout = reading.layout
    evidence = amount_evidence(layout, reading.labelled)
    places: dict[Decimal, list[Place]] = {}
    markers: set[Decimal] = set()
    for cell in layout.cells:
        for amount in find_amounts(cell.text):
            places.setdefault(amount.value, []).append(Place(cell, amount.start, amount.end))
            if amount.currency:
                markers.add(amount.value)
    for pool in evidence.values():
        for value in pool:
            places.setdefault(value, [])
    for name in MONEY_FIELDS:
        picked = getattr(reading.fields, name)
        if picked is not None:
            places.setdefault(picked.value, [])
    if not places:
        return []
    values = list(places)
    positives = sorted({abs(v) for v in values if v}, reverse=True)
    largest = positives[0] if positives else Decimal(1)
    totals, subtotals, taxes, payments = (evidence[role] for role in ("total", "subtotal", "tax", "payment"))
    pair_sums = {a + b for a, b in combinations(values[:60], 2) if a > 0 and b > 0}
    sub_tax = {s + t for s, t in product({*subtotals, *totals}, taxes)}
    cash_change = {a - b for a, b in product(payments, payments) if a > b > 0}
    labelled_totals = {v for v, e in totals.items() if e.strength >= 0.5}
    items = [item.amount for item in reading.fields.line_items if item.amount is not None]
    line_sum = sum(items, Decimal(0)) if items else None
    median_height = _median_height(layout)
    pdf = 1.0 if reading.source == "pdf_text" else 0.0
    candidates = []
    for value in values:
        magnitude = abs(value)
        rank = positives.index(magnitude) if magnitude in positives else len(positives)
        features: dict[str, float] = {
            "log_value": math.log10(1 + float(magnitude)),
            "negative": float(value < 0),
            "whole": float(value == value.to_integral_value()),
            "on_grid": float(value % _ROUNDING_STEP == 0),
            "marker": float(value in markers),
            "rank": rank / max(1, len(positives)),
            "largest": float(rank == 0),
            "share_of_largest": float(magnitude / largest) if largest else 0.0,
            "sum_of_two": float(value in pair_sums),
            "subtotal_plus_tax": float(value in sub_tax),
            "cash_minus_change": float(value in cash_change),
            "adds_to_total": float(any(value + t in labelled_totals for t in taxes if t != value)
                                   or any(s + value in labelled_totals for s in subtotals if s != value)),
            "line_sum": float(line_sum is not None and value == line_sum),
            "adds_to_largest": float(value != largest and any(value + other == largest for other in values if other != value)),
            "amounts": math.log2(1 + len(values)) / 7,
            "pdf_text": pdf,
        }
        for role, pool in (("total", totals), ("subtotal", subtotals), ("tax", taxes), ("payment", payments)):
            features[f"label_{role}"] = _strength(pool, value)
            features[f"cues_{role}"] = _cues(pool, value)
        for name in MONEY_FIELDS:
            features[f"rule_{name}"], features[f"rule_{name}_confidence"] = _rule(reading, name, value)
        features.update(_place_features(layout, places[value], median_height))
        # Cues that mean more together than apart (a linear model cannot multiply them itself).
        features["total_label_and_largest"] = features["label_total"] * features["largest"]
        features["total_label_and_closes"] = features["label_total"] * max(
            features["subtotal_plus_tax"], features["cash_minus_change"], features["sum_of_two"]
        )
        features["total_label_low_on_page"] = features["label_total"] * features["last_y"]
        candidates.append(Candidate(value, features, places[value]))
    return candidates


def _located(reading: RuleReading, name: str, candidate: Candidate) -> Candidate:
    picked = getattr(reading.fields, name)
    if picked is not None and picked.value == candidate.value:
        candidate.located = picked
    return candidate


# --- dates: invoice date, due date ------------------------------------------------------------


def date_candidates(reading: RuleReading) -> list[Candidate]:
    layout = reading.layout
    claims = date_claims(layout, reading.labelled, day_first=reading.day_first, guess_day_first=reading.guess_day_first)
    places: dict[date, list[Place]] = {}
    ambiguous: set[date] = set()
    times: set[date] = set()
    for cell in layout.cells:
        for match in find_dates(cell.text, day_first=reading.day_first, guess_day_first=reading.guess_day_first):
            places.setdefault(match.value, []).append(Place(cell, match.start, match.end))
            if match.ambiguous:
                ambiguous.add(match.value)
            if _TIME.search(cell.text[match.end : match.end + 12]):
                times.add(match.value)
    for pool in claims.values():
        for value, evidence in pool.items():
            places.setdefault(value, []).extend(Place(f.cell, f.start, f.end) for f in evidence.found)
    for name in DATE_FIELDS:
        picked = getattr(reading.fields, name)
        if picked is not None:
            places.setdefault(picked.value, [])
    if not places:
        return []
    ordered = sorted(places)
    by_row = sorted(places, key=lambda v: min((p.cell.row for p in places[v]), default=10**6))
    rule_invoice = reading.fields.invoice_date.value if reading.fields.invoice_date else None
    median_height = _median_height(layout)
    candidates = []
    for value in places:
        features: dict[str, float] = {
            "earliest": float(value == ordered[0]),
            "latest": float(value == ordered[-1]),
            "first_printed": float(value == by_row[0]),
            "order": by_row.index(value) / max(1, len(by_row) - 1) if len(by_row) > 1 else 0.0,
            "dates": min(6, len(ordered)) / 6,
            "only_date": float(len(ordered) == 1),
            "ambiguous": float(value in ambiguous),
            "with_time": float(value in times),
            "plausible_year": float(2000 <= value.year <= 2035),
            "after_rule_invoice_date": float(rule_invoice is not None and value > rule_invoice),
            "term_days": min(120, max(0, (value - rule_invoice).days)) / 120 if rule_invoice else 0.0,
            "pdf_text": 1.0 if reading.source == "pdf_text" else 0.0,
        }
        for role in ("invoice_date", "due_date", "other_date"):
            pool = claims.get(role, {})
            features[f"label_{role}"] = _strength(pool, value)
            features[f"cues_{role}"] = _cues(pool, value)
        for name in DATE_FIELDS:
            features[f"rule_{name}"], features[f"rule_{name}_confidence"] = _rule(reading, name, value)
        features.update(_place_features(layout, places[value], median_height))
        candidates.append(Candidate(value, features, places[value]))
    return candidates


# --- invoice number --------------------------------------------------------------------------


def number_candidates_of(reading: RuleReading) -> list[Candidate]:
    layout = reading.layout
    pool = number_candidates(layout, reading.labelled)
    picked = reading.fields.invoice_number
    if picked is not None and picked.value not in pool:
        pool[picked.value] = Evidence(picked.value)
    if not pool:
        return []
    ranked = sorted(pool, key=lambda v: pool[v].strength, reverse=True)
    median_height = _median_height(layout)
    candidates = []
    for value, evidence in pool.items():
        text = str(value)
        places = [Place(f.cell, f.start, f.end) for f in evidence.found]
        features: dict[str, float] = {
            "label": evidence.strength,
            "cues": min(3, len(evidence.scores)) / 3,
            "rank": ranked.index(value) / max(1, len(ranked)),
            "competitors": min(4, len(pool) - 1) / 4,
            "length": min(20, len(text)) / 20,
            "digits": sum(ch.isdigit() for ch in text) / max(1, len(text)),
            "letters": sum(ch.isalpha() for ch in text) / max(1, len(text)),
            "joiners": float(any(ch in "/-_." for ch in text)),
            "below": float(any(f.where == "below" for f in evidence.found)),
            "link": max((f.link for f in evidence.found), default=0.0),
            "pdf_text": 1.0 if reading.source == "pdf_text" else 0.0,
        }
        features["rule_invoice_number"], features["rule_invoice_number_confidence"] = _rule(reading, "invoice_number", value)
        features.update(_place_features(layout, places, median_height))
        candidates.append(_located(reading, "invoice_number", Candidate(value, features, places)))
    return candidates


# --- vendor name: the rules' likeliest name lines -----------------------------------------------


def vendor_candidates(reading: RuleReading) -> list[Candidate]:
    layout = reading.layout
    options = reading.vendors
    if not options:
        return []
    best = options[0].score
    country = country_hint(row.text for row in layout.rows[:12])
    tops = sorted({option.cells[0].row for option in options if option.cells})
    receipt = document_features(reading)["kind_receipt"]
    candidates = []
    for option in options:
        picked = option.name
        text = str(picked.value)
        letters = [ch for ch in text if ch.isalpha()]
        height = layout.page_sizes.get(picked.page or 1, (1.0, 1.0))[1] or 1.0
        features = {
            "score": min(2.0, option.score) / 2,
            "gap": min(1.0, best - option.score),
            "rank": min(3, option.rank) / 3,
            "first_option": float(option is options[0]),
            "options": min(4, len(options)) / 4,
            "rule_confidence": picked.confidence,
            "y": min(1.0, (picked.bbox[1] / height)) if picked.bbox else 0.5,
            "tokens": min(8, len(text.split())) / 8,
            "upper": sum(ch.isupper() for ch in letters) / max(1, len(letters)),
            "digits": sum(ch.isdigit() for ch in text) / max(1, len(text)),
            "legal_form": float(has_legal_form(text)),
            "length": min(60, len(text)) / 60,
            "pdf_text": 1.0 if reading.source == "pdf_text" else 0.0,
            "country_my": float(country == "MY"),
            "country_us": float(country == "US"),
            "joined": float(option.joined),
            "joined_plain": float(option.joined and not has_legal_form(text)),
            "trade_words_only": float(bool(text.strip()) and not TRADE_WORD.sub("", text).strip(" &.,'-!")),
        }
        features["ocr"], features["ocr_mean"] = _read_confidence(layout, picked)
        features.update(_name_line_features(layout, option.cells, text, tops))
        # A till prints the shop's sign in its first lines; a page's header holds sender, customer and title
        # side by side, where the order of lines says less.
        features["receipt_row"] = receipt * features.pop("row")
        features["receipt_option_order"] = receipt * features.pop("option_order")
        candidates.append(Candidate(picked.value, features, located=picked))
    # Against the other options of the same document: the largest text, the fewest till phrase words.
    tallest = max(c.features["text_height"] for c in candidates)
    least_phrase = min(c.features["phrase"] for c in candidates)
    for candidate in candidates:
        candidate.features["tallest_option"] = float(candidate.features["text_height"] >= tallest - 1e-9)
        candidate.features["height_of_tallest_option"] = candidate.features["text_height"] / tallest if tallest else 1.0
        candidate.features["more_phrase_than_others"] = candidate.features["phrase"] - least_phrase
    return candidates


# Characters a name is rarely printed with but OCR often puts in one ("BAKERŸ", "CAFE~BAR", "F1sh"): a
# misread letter makes the name wrong however sure the choice of its line is.
_ODD_CHARACTER = re.compile(r"[^\w\s&.,'()\-/!#+]|(?<=[A-Za-z])[01](?=[A-Za-z])|[^\x00-\x7f](?=.*[A-Z]{3})")


# A name printed again this close is the same header (a brand over its company's name), not a repeat.
_NEARBY_ROWS = 3


def _squashed(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def _name_line_features(layout: Layout, cells: tuple[Cell, ...], text: str, tops: list[int]) -> dict[str, float]:
    """What the lines a vendor option was read from look like: their size against the page's text and the
    largest text at the top, their place among the top rows and among the options, whether they read as a
    till's phrase or an address, and whether the name is printed again elsewhere (a footer's "Thank you for
    shopping at X"; not in the lines around it, where "MAWAR" is part of "MAWAR TRADING SDN BHD")."""
    words = re.findall(r"[^\W\d_]+", text)
    phrase = sum(bool(RECEIPT_PHRASE_WORD.fullmatch(word)) for word in words) / max(1, len(words))
    features = {
        "phrase": phrase,
        "mostly_phrase": float(phrase >= 0.5),
        "greeting": float(bool(re.match(r"\W*(?:welcome|thank)", text, re.IGNORECASE))),
        "address_like": float(address_like(text)),
        "one_word": float(len(text.split()) == 1),
        "odd_chars": min(1.0, len(_ODD_CHARACTER.findall(text)) / 2),
    }
    if not cells:
        return features | {"text_height": 1 / 3, "height_of_top": 0.5, "row": 0.5, "option_order": 0.5, "repeats": 0.0}
    page = cells[0].page
    on_page = [cell for cell in layout.cells if cell.page == page and cell.height > 0]
    median = statistics.median(cell.height for cell in on_page) if on_page else 1.0
    first_row = next((row.index for row in layout.rows if row.page == page), 0)
    top_cells = [cell for cell in on_page if cell.row - first_row < 12]
    tallest_top = max((cell.height for cell in top_cells), default=median) or 1.0
    height = max(cell.height for cell in cells)
    name = _squashed(text)
    repeats = len(name) >= 3 and any(
        name in _squashed(row.text) for row in layout.rows
        if row.page != page or not cells[0].row - _NEARBY_ROWS <= row.index <= cells[-1].row + _NEARBY_ROWS
    )
    features.update({
        "text_height": min(3.0, height / (median or 1.0)) / 3,
        "height_of_top": min(1.0, height / tallest_top),
        "row": min(12, max(0, cells[0].row - first_row)) / 12,
        "option_order": tops.index(cells[0].row) / max(1, len(tops) - 1) if cells[0].row in tops and len(tops) > 1 else 0.0,
        "repeats": float(repeats),
    })
    return features


def _read_confidence(layout: Layout, value: FieldValue) -> tuple[float, float]:
    """How sure the reader was of the words inside a value's box: the least sure word, and the mean."""
    if value.bbox is None:
        return 1.0, 1.0
    left, top, right, bottom = value.bbox
    inside = [
        word.confidence for cell in layout.cells if cell.page == (value.page or 1) for word in cell.words
        if left <= (word.bbox[0] + word.bbox[2]) / 2 <= right and top <= (word.bbox[1] + word.bbox[3]) / 2 <= bottom
    ]
    return (min(inside), statistics.fmean(inside)) if inside else (1.0, 1.0)


# --- currency: every code the document names, and the one it implies ------------------------------


def currency_candidates(reading: RuleReading) -> list[Candidate]:
    layout = reading.layout
    votes: dict[str, float] = {}
    codes: dict[str, int] = {}
    places: dict[str, list[Place]] = {}
    for cell in layout.cells:
        for code, count in currency_votes(cell.text).items():
            votes[code] = votes.get(code, 0) + count
            places.setdefault(code, []).append(Place(cell, 0, len(cell.text)))
        for match in re.finditer(r"[A-Z]{3}", cell.text):
            if match.group() in votes:
                codes[match.group()] = codes.get(match.group(), 0) + 1
    if not votes:
        return []  # only implied (by the country): the rules' value stands, with its lower confidence
    total_votes = sum(votes.values()) or 1.0
    country = country_hint(row.text for row in layout.rows[:15])
    candidates = []
    for code, count in votes.items():
        features = {
            "votes": min(10.0, count) / 10,
            "vote_share": count / total_votes,
            "named_code": min(3, codes.get(code, 0)) / 3,
            "dollar": float(code == "USD"),
            "codes": min(4, len(votes)) / 4,
            "country_agrees": float(country is not None and CURRENCY_OF_COUNTRY.get(country) == code),
            "pdf_text": 1.0 if reading.source == "pdf_text" else 0.0,
        }
        features["rule_currency"], features["rule_currency_confidence"] = _rule(reading, "currency", code)
        candidate = Candidate(code, features, places.get(code, []))
        candidates.append(_located(reading, "currency", candidate))
    return candidates


CandidateFinder = Callable[[RuleReading], list[Candidate]]

# Fields a document often does not have (a receipt without tax, an invoice without a due date): a
# candidate is only eligible when something points at it as that field (a label, the arithmetic, or
# the rules' own pick); otherwise the field stays empty rather than filled with the likeliest date.
_CUES: dict[str, tuple[str, ...]] = {
    "subtotal": ("label_subtotal", "rule_subtotal", "adds_to_total", "adds_to_largest", "line_sum", "label_total"),
    "tax": ("label_tax", "rule_tax", "adds_to_total", "adds_to_largest"),
    "due_date": ("label_due_date", "rule_due_date"),
}


# --- fields the rules alone find: their value, described so that its confidence can be calibrated -------------

RULES_ONLY_FIELDS = ("vendor_address",)


def rules_value_finder(field_name: str) -> CandidateFinder:
    """A finder that offers the rules' value of `field_name` as the only candidate. Nothing is chosen
    among; what is learned is how often such a value is right, so its confidence means what it says."""

    def rules_value(reading: RuleReading) -> list[Candidate]:
        picked = getattr(reading.fields, field_name)
        if picked is None:
            return []
        text = str(picked.value)
        letters = [ch for ch in text if ch.isalpha()]
        features = {
            "rule_confidence": picked.confidence,
            "tokens": min(16, len(text.split())) / 16,
            "digits": sum(ch.isdigit() for ch in text) / max(1, len(text)),
            "upper": sum(ch.isupper() for ch in letters) / max(1, len(letters)),
            "commas": min(4, text.count(",")) / 4,
            "postcode": float(bool(POSTCODE.search(text))),
            "legal_form": float(has_legal_form(text)),
        }
        country = country_hint(row.text for row in reading.layout.rows[:12])
        features["country_my"], features["country_us"] = float(country == "MY"), float(country == "US")
        features["ocr"], features["ocr_mean"] = _read_confidence(reading.layout, picked)
        return [Candidate(picked.value, features, located=picked)]

    rules_value.__name__ = f"rules_{field_name}"
    return rules_value


def eligible(field_name: str, candidate: Candidate) -> bool:
    cues = _CUES.get(field_name)
    return cues is None or any(candidate.features.get(cue, 0.0) > 0 for cue in cues)

# Which candidates each learned field chooses among (the money and date models share their lists).
FINDERS: dict[str, CandidateFinder] = {
    "total": money_candidates,
    "subtotal": money_candidates,
    "tax": money_candidates,
    "invoice_date": date_candidates,
    "due_date": date_candidates,
    "invoice_number": number_candidates_of,
    "vendor_name": vendor_candidates,
    "currency": currency_candidates,
    **{name: rules_value_finder(name) for name in RULES_ONLY_FIELDS},
}


# Till printers print 32-48 characters per line, pages at reading size 65-120; a character is about
# half as wide as a word box is tall, so a receipt fits at most ~31 word heights across.
_RECEIPT_MAX_WORD_HEIGHTS = 31.0


def document_features(reading: RuleReading) -> dict[str, float]:
    """What kind of document and reading this is (a receipt photo, a page read by OCR, a PDF text
    layer) and how clear the reading was: how much to trust any candidate of it."""
    layout = reading.layout
    words = [word for cell in layout.cells for word in cell.words]
    confidences = [word.confidence for word in words]
    width, height = next(iter(layout.page_sizes.values()), (1.0, 1.0))
    word_heights = [word.bbox[3] - word.bbox[1] for word in words if word.bbox[3] > word.bbox[1]]
    columns = width / statistics.median(word_heights) if word_heights else 60.0
    text_layer = reading.source == "pdf_text"
    receipt = not text_layer and columns <= _RECEIPT_MAX_WORD_HEIGHTS
    return {
        "doc_ocr": statistics.fmean(confidences) if confidences else 0.0,
        "doc_ocr_low": sum(c < 0.8 for c in confidences) / len(confidences) if confidences else 0.0,
        "doc_narrow": min(1.5, width / height) if height else 1.0,
        "doc_rows": math.log2(1 + len(layout.rows)) / 8,
        "doc_pages": min(4, len(layout.page_sizes)) / 4,
        "doc_columns": min(120.0, columns) / 120,
        "kind_receipt": float(receipt),
        "kind_ocr_page": float(not text_layer and not receipt),
        "kind_text_layer": float(text_layer),
    }


def all_candidates(reading: RuleReading) -> dict[str, list[Candidate]]:
    """Candidates per learned field; lists shared by several fields are built once."""
    built: dict[CandidateFinder, list[Candidate]] = {}
    result = {}
    shared = document_features(reading)
    for name, finder in FINDERS.items():
        if finder not in built:
            built[finder] = finder(reading)
            for candidate in built[finder]:
                candidate.features.update(shared)
        result[name] = [
            _located(reading, name, Candidate(c.value, c.features, c.places, c.located))
            for c in built[finder] if eligible(name, c)
        ]
    return result

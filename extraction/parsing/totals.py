"""Subtotal, tax and total: chosen by their labels AND by arithmetic.

Every amount that a total-, subtotal- or tax-label points at is a candidate. A total candidate gains
trust from each independent signal that agrees with it: another label pointing at the same value,
subtotal + tax = total, cash tendered - change = total, a rounding adjustment that leads to it (Malaysian
and other receipts round the amount paid to 0.05), line amounts that sum to the subtotal. The more
signals agree, the higher the confidence; a total that only a weak label ("Amount") supports stays low.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import product

from extraction.models import FieldValue, Source
from extraction.parsing.amounts import find_amounts
from extraction.parsing.layout import Layout
from extraction.parsing.pairing import Found, LabelledCell, values_for_label

_ROLES = ("total", "subtotal", "tax")
_CENT = Decimal("0.01")
_ROUNDING_STEP = Decimal("0.05")


def _amount_extractor(text: str) -> list[tuple[Decimal, int, int]]:
    return [(a.value, a.start, a.end) for a in find_amounts(text)]


@dataclass
class _Candidate:
    value: Decimal
    evidence: list[float] = field(default_factory=list)
    found: list[Found] = field(default_factory=list)

    @property
    def strength(self) -> float:
        """Noisy-or of the labels that point at this value: two weak labels beat one."""
        miss = 1.0
        for score in self.evidence:
            miss *= 1.0 - score
        return 1.0 - miss

    @property
    def best(self) -> Found:
        return max(self.found, key=lambda f: (f.link * (f.label.strength if f.label else 0.3), f.cell.row))

    @property
    def last_row(self) -> int:
        return max(f.cell.row for f in self.found)


@dataclass
class Totals:
    total: FieldValue[Decimal] | None
    subtotal: FieldValue[Decimal] | None
    tax: FieldValue[Decimal] | None
    consistent: bool  # the arithmetic closed: subtotal + tax = total, or cash - change = total, ...


def _collect(layout: Layout, labelled: list[LabelledCell]) -> dict[str, dict[Decimal, _Candidate]]:
    """Amount candidates per role, plus "payment" amounts (cash, change, rounding) for the arithmetic."""
    candidates: dict[str, dict[Decimal, _Candidate]] = {role: {} for role in (*_ROLES, "payment")}
    for item in labelled:
        for label in item.labels:
            if label.field not in candidates:
                continue
            found = list(values_for_label(layout, item, label, _amount_extractor))
            same_row = [f for f in found if f.where == "same_row"]
            # Amount columns are right-aligned: of a label's row, the rightmost amount is the figure
            # ("Total facture 24.99 5.00 29.99", "Tax 15% on $112.90 $16.94"); below, the nearest.
            chosen = same_row[-1] if same_row else (found[0] if found else None)
            if chosen is None:
                continue
            role = candidates[label.field].setdefault(chosen.value, _Candidate(chosen.value))
            role.evidence.append(label.strength * chosen.link)
            role.found.append(chosen)
    return candidates


def _payments(candidates: dict[Decimal, _Candidate]) -> list[Decimal]:
    return list(candidates)


def _score_totals(
    candidates: dict[str, dict[Decimal, _Candidate]], line_sum: Decimal | None
) -> list[tuple[float, bool, _Candidate]]:
    totals, subtotals, taxes = (candidates[role] for role in _ROLES)
    payments = _payments(candidates["payment"])
    scored = []
    for value, candidate in totals.items():
        score = candidate.strength
        closed = False
        if any(s + t == value for s, t in product(subtotals, taxes)) or (line_sum is not None and line_sum == value):
            score, closed = score + 0.6, True
        # cash - change = total (the two payment amounts a receipt prints after it)
        if any(a - b == value for a, b in product(payments, payments) if a > b > 0):
            score, closed = score + 0.5, True
        # a rounding adjustment turns another total candidate into this one: this is the amount paid
        if any(
            other != value and abs(other - value) < _ROUNDING_STEP and (value - other) in (*payments, *(-p for p in payments))
            for other in totals
        ):
            score, closed = score + 0.4, True
        if value <= 0:
            score -= 0.3
        if any(value < s for s in subtotals if subtotals[s].strength >= 0.9):
            score -= 0.3  # a total below a clearly labelled subtotal is not the total
        scored.append((score, closed, candidate))
    # Grand totals come last on the page: among equals, prefer the later row.
    scored.sort(key=lambda item: (item[0], item[2].last_row), reverse=True)
    return scored


def _prefer_rounded(best: _Candidate, totals: dict[Decimal, _Candidate]) -> _Candidate:
    """A receipt that prints 48.16 and a total of 48.15 below it was paid 48.15."""
    if best.value % _ROUNDING_STEP == 0:
        return best
    for value, candidate in totals.items():
        if (
            value % _ROUNDING_STEP == 0
            and abs(value - best.value) < _ROUNDING_STEP / 2 + _CENT
            and candidate.last_row > best.last_row
        ):
            return candidate
    return best


def _field(candidate: _Candidate, confidence: float, source: Source) -> FieldValue[Decimal]:
    best = candidate.best
    confidence *= min(1.0, 0.35 + best.ocr_confidence)  # OCR doubts about the digits lower trust
    return FieldValue(
        value=candidate.value,
        confidence=round(max(0.0, min(1.0, confidence)), 3),
        source=source,
        page=best.cell.page,
        bbox=best.bbox,
    )


def _confidence(strength: float, closed: bool, agreeing_labels: int, runner_up_gap: float) -> float:
    if closed:
        return 0.97 if agreeing_labels >= 1 and strength >= 0.5 else 0.85
    base = 0.35 + 0.45 * strength
    if agreeing_labels >= 2:
        base += 0.1
    if runner_up_gap < 0.15:
        base -= 0.2  # another candidate is nearly as good: the choice is a coin toss
    return base


def choose_totals(
    layout: Layout, labelled: list[LabelledCell], source: Source, *, line_sum: Decimal | None = None
) -> Totals:
    candidates = _collect(layout, labelled)
    scored = _score_totals(candidates, line_sum)
    total_field = subtotal_field = tax_field = None
    closed = False
    if scored:
        score, closed, best = scored[0]
        runner_up = scored[1][0] if len(scored) > 1 else 0.0
        best = _prefer_rounded(best, candidates["total"])
        total_field = _field(
            best, _confidence(best.strength, closed, len(best.evidence), score - runner_up), source
        )
    total_value = total_field.value if total_field else None
    subtotal, tax = _matching_parts(candidates, total_value)
    if subtotal is not None:
        subtotal_field = _field(subtotal[0], subtotal[1], source)
    if tax is not None:
        tax_field = _field(tax[0], tax[1], source)
    return Totals(total=total_field, subtotal=subtotal_field, tax=tax_field, consistent=closed)


def _matching_parts(
    candidates: dict[str, dict[Decimal, _Candidate]], total: Decimal | None
) -> tuple[tuple[_Candidate, float] | None, tuple[_Candidate, float] | None]:
    """Subtotal and tax: the pair that adds up to the total, else each one's best labelled value."""
    subtotals, taxes = candidates["subtotal"], candidates["tax"]
    if total is not None:
        pairs = [(s, t) for s, t in product(subtotals.values(), taxes.values()) if s.value + t.value == total]
        if pairs:
            s, t = max(pairs, key=lambda pair: pair[0].strength + pair[1].strength)
            return (s, 0.95), (t, 0.95)
    by_strength: dict[str, tuple[_Candidate, float] | None] = defaultdict(lambda: None)
    for role, pool in (("subtotal", subtotals), ("tax", taxes)):
        plausible = [c for c in pool.values() if total is None or abs(c.value) <= abs(total)]
        if plausible:
            best = max(plausible, key=lambda c: (c.strength, c.last_row))
            confidence = 0.3 + 0.4 * best.strength
            if role == "subtotal" and total is not None and best.value == total:
                confidence = 0.5  # no tax or a tax-inclusive printout: plausible, not proven
            by_strength[role] = (best, confidence)
    return by_strength["subtotal"], by_strength["tax"]

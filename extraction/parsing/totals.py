"""Subtotal, tax and total: chosen by their labels AND by arithmetic.

Every amount that a total-, subtotal- or tax-label points at is a candidate. A total candidate gains
trust from each independent signal that agrees with it: another label pointing at the same value,
subtotal + tax = total, cash tendered - change = total, a rounding adjustment that leads to it (Malaysian
and other receipts round the amount paid to 0.05), line amounts that sum to the subtotal. The more
signals agree, the higher the confidence; a total that only a weak label ("Amount") supports stays low.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from itertools import product

from extraction.models import FieldValue, Source
from extraction.parsing.amounts import find_amounts
from extraction.parsing.labels import CHANGE_LABEL, label_text
from extraction.parsing.layout import Layout
from extraction.parsing.pairing import Evidence, Found, LabelledCell, values_for_label

_ROLES = ("total", "subtotal", "tax")
_ROUNDING_STEP = Decimal("0.05")
_MAX_TAX_SHARE = Decimal("0.3")


# A till printer's faint decimal point read as a hyphen: "TOTAL  110-00". Only a value standing alone
# in its cell, where a money label points at it, is read so.
_HYPHEN_FOR_POINT = re.compile(r"\s*(\d{1,7})-(\d{2})\s*")


# Where a money label points at a cell holding only a number, two more forms are money: whole amounts
# grouped in thousands (currencies without cents: "Total Bill : 224,400" in rupiah) and one decimal ("356.0").
_GROUPED_WHOLE = re.compile(r"[\s:]*(?:Rp|IDR|VND|KRW|Rs\.?)?\s*(\d{1,3}(?:[.,]\d{3})+|\d+[.,]\d)\s*")


def _amount_extractor(text: str) -> list[tuple[Decimal, int, int]]:
    amounts = [(a.value, a.start, a.end) for a in find_amounts(text)]
    if not amounts and (misread := _HYPHEN_FOR_POINT.fullmatch(text)) is not None:
        amounts.append((Decimal(f"{misread[1]}.{misread[2]}"), misread.start(1), misread.end(2)))
    if not amounts and (bare := _GROUPED_WHOLE.fullmatch(text)) is not None:
        number = bare[1]
        if len(number.rsplit(".", 1)[-1].rsplit(",", 1)[-1]) == 3:
            value = Decimal(number.replace(",", "").replace(".", ""))
        else:
            value = Decimal(number.replace(",", "."))
        amounts.append((value.quantize(Decimal("0.01")), bare.start(1), bare.end(1)))
    return amounts


@dataclass
class Totals:
    total: FieldValue[Decimal] | None
    subtotal: FieldValue[Decimal] | None
    tax: FieldValue[Decimal] | None


def _collect(layout: Layout, labelled: list[LabelledCell]) -> dict[str, dict[Decimal, Evidence]]:
    """Amount candidates per role, plus "payment" amounts (cash, change, rounding) for the arithmetic, and
    among them the "change" given back."""
    candidates: dict[str, dict[Decimal, Evidence]] = {role: {} for role in (*_ROLES, "payment", "change")}
    for item in labelled:
        for label in item.labels:
            if label.field not in candidates:
                continue
            found = list(values_for_label(layout, item, label, _amount_extractor, rows_below=4))
            same_row = [f for f in found if f.where == "same_row"]
            # Amount columns are right-aligned: of a label's row, the rightmost amount is the figure
            # ("Total facture 24.99 5.00 29.99", "Tax 15% on $112.90 $16.94"); under a column header,
            # the nearest value or the sum row that closes the column.
            below = _column_value(found) if label.strength >= 0.6 else None  # "Amount" over a tax summary: no
            chosen = same_row[-1] if same_row else below
            if chosen is None:
                continue
            if label.field == "total" and len(same_row) >= 3:
                _net_tax_gross(candidates, same_row[-3:])
            # Payment lines print their sign inconsistently ("Change 20.00-", "Rounding -0.01"): keep magnitudes.
            value = abs(chosen.value) if label.field == "payment" else chosen.value
            candidates[label.field].setdefault(value, Evidence(value)).add(label.strength * chosen.link, chosen)
            if label.field == "payment" and CHANGE_LABEL.match(label_text(item.cell.text[label.start : label.end])):
                candidates["change"].setdefault(value, Evidence(value)).add(label.strength * chosen.link, chosen)
    return candidates


def _net_tax_gross(candidates: dict[str, dict[Decimal, Evidence]], row: list[Found]) -> None:
    """A total row of three columns that add up ("Total facture 24.99 5.00 29.99" under HT / TVA / TTC)
    names the subtotal and the tax too."""
    net, tax, gross = row
    if net.value + tax.value == gross.value and 0 < abs(tax.value) <= _MAX_TAX_SHARE * abs(net.value):
        candidates["subtotal"].setdefault(net.value, Evidence(net.value)).add(0.8, net)
        candidates["tax"].setdefault(tax.value, Evidence(tax.value)).add(0.8, tax)


def _column_value(found: list[Found]) -> Found | None:
    """Under a column header: the first value, unless the column ends in a row that sums the others."""
    column: list[Found] = []
    for value in found:
        if value.where == "below" and all(value.cell.row != other.cell.row for other in column):
            column.append(value)
    if not column:
        return None
    if len(column) >= 3 and column[-1].value == sum((f.value for f in column[:-1]), Decimal(0)):
        return replace(column[-1], link=0.9)
    return column[0]


def _add_derived_totals(candidates: dict[str, dict[Decimal, Evidence]]) -> None:
    """When OCR lost the total's own line, the amounts around it can still pin it down: a subtotal
    plus tax (or a subtotal alone), possibly rounded to 0.05, that is also what was paid
    (cash, or cash minus change). Such a value becomes a weak total candidate; scoring does the rest."""
    totals, payments = candidates["total"], candidates["payment"]
    if any(candidate.strength >= 0.5 and value > 0 for value, candidate in totals.items()):
        return
    parts = {s + t for s, t in product(candidates["subtotal"], candidates["tax"])} | set(candidates["subtotal"])
    paid: dict[Decimal, Found] = {value: payments[value].best for value in payments if value > 0}
    for cash, change in product(payments, payments):
        if cash > change >= 0 and cash - change not in paid:
            paid[cash - change] = payments[cash].best
    for part in parts:
        for value in {part, _round_to_step(part)}:
            if value > 0 and value in paid:
                totals.setdefault(value, Evidence(value)).add(0.3, paid[value])


def _restore_lost_signs(candidates: dict[str, dict[Decimal, Evidence]]) -> None:
    """OCR drops minus signs: a credit note's "Bruttosumme 8,79" under "-7,67" and "-1,12" is -8.79."""
    totals = candidates["total"]
    negative_sums = {s + t for s, t in product(candidates["subtotal"], candidates["tax"]) if s < 0 and t < 0}
    for value in [v for v in totals if v > 0 and -v in negative_sums and -v not in totals]:
        restored = Evidence(-value)
        for score, found in zip(totals[value].scores, totals[value].found, strict=True):
            restored.add(score, replace(found, value=-value))
        totals[-value] = restored


def _adds_up(subtotal: Decimal, tax: Decimal, total: Decimal) -> bool:
    """subtotal + tax = total with a plausible tax (no VAT or GST rate is above 30 %)."""
    return tax != 0 and subtotal + tax == total and abs(tax) <= _MAX_TAX_SHARE * abs(subtotal)


def _score_totals(
    candidates: dict[str, dict[Decimal, Evidence]], line_sum: Decimal | None
) -> list[tuple[float, bool, Evidence]]:
    totals, subtotals, taxes = (candidates[role] for role in _ROLES)
    payments = list(candidates["payment"])
    # a payment line under 0.05 is a rounding adjustment ("Rounding -0.01"), unless it is change given back
    adjustments = {p for p in payments if p < _ROUNDING_STEP and p not in candidates["change"]}
    bases = {*subtotals, *totals}  # "Total Sales 33.00 / GST 1.98 / TOTAL 35.00": a total before tax is a base too
    sums = {s + t for s, t in product(bases, taxes)}
    # A credit note's figures are negative: there the "largest" total is the most negative one.
    strong = [value for pool in (totals, subtotals) for value, c in pool.items() if c.strength >= 0.8 and value]
    sign = -1 if strong and sum(v < 0 for v in strong) > len(strong) / 2 else 1
    scored = []
    for value, candidate in totals.items():
        score = candidate.strength
        closed = False
        others = [v for v in totals if v != value and sign * v > 0]
        if any(_adds_up(s, t, value) for s, t in product(bases, taxes)):
            score, closed = score + 0.6, True
        elif any(a + b == value for a, b in product(others, others) if a < b):
            score, closed = score + 0.6, True  # the sum of two part totals (per tax rate, per section)
        elif value in subtotals and 0 in taxes:
            score += 0.3  # no tax: the net amount is the total
        elif line_sum is not None and line_sum == value:
            score += 0.2  # the items add up to it; with tax printed separately that would be the subtotal
        # cash - change = total (the two payment amounts a receipt prints after it); exact cash says less
        if any(a - b == value for a, b in product(payments, payments) if a > b > 0):
            score, closed = score + 0.5, True
        elif value in payments:
            score += 0.2
        # a rounding adjustment turns another total into this one, which lies on the 0.05 grid: the amount paid
        if value % _ROUNDING_STEP == 0 and any(
            other % _ROUNDING_STEP != 0 and abs(value - other) in adjustments for other in {*totals, *sums}
        ):
            score, closed = score + 0.4, True
        if others and sign * value > max(sign * v for v in others) and candidate.strength >= max(
            totals[v].strength for v in others
        ) - 0.01:
            # The grand total is the largest of the equally well labelled totals; an amount due (0.85)
            # is not equal to a total (0.9): with arrears it is larger than the invoice.
            score += 0.15
        if sign * value <= 0:
            score -= 0.3
        if any(sign * value < sign * s for s in subtotals if subtotals[s].strength >= 0.9):
            score -= 0.3  # a total below a clearly labelled subtotal is not the total
        scored.append((score, closed, candidate))
    # Grand totals come last on the page: among equals, prefer the later row.
    scored.sort(key=lambda item: (item[0], item[2].last_row), reverse=True)
    return scored


def _round_to_step(value: Decimal) -> Decimal:
    return (value / _ROUNDING_STEP).quantize(Decimal(1), rounding=ROUND_HALF_UP) * _ROUNDING_STEP


def _prefer_rounded(best: Evidence, candidates: dict[str, dict[Decimal, Evidence]]) -> Evidence:
    """A receipt that prints 48.16 and then 48.15 (as "Rounded total", "Rounding" or the cash paid) was paid 48.15."""
    rounded = _round_to_step(best.value)
    if rounded == best.value:
        return best
    if any(cash - change == best.value for cash in candidates["payment"] for change in candidates["change"]):
        return best  # "Cash 5.30 / Change 0.01" after 5.29: the change makes the payment exact, nothing was rounded
    for pool in (candidates["total"], candidates["payment"]):
        candidate = pool.get(rounded)
        if candidate is not None:
            return candidate
    return best


def _field(candidate: Evidence, confidence: float, source: Source) -> FieldValue[Decimal]:
    return candidate.best.field_value(candidate.value, confidence, source)


def _confidence(candidate: Evidence, closed: bool, runner_up_gap: float) -> float:
    strongest = max(candidate.scores)
    if closed:
        return 0.97 if strongest >= 0.5 else 0.85
    # Without arithmetic only one clearly labelled line can make a total trustworthy; weak labels that
    # happen to agree ("Amount" over a column, "Total" of a section) do not add up to certainty.
    base = 0.35 + 0.45 * strongest
    if len(candidate.scores) >= 2 and strongest >= 0.9:
        base += 0.05
    if runner_up_gap < 0.15:
        base -= 0.2  # another candidate is nearly as good: the choice is a coin toss
    return base


def amount_evidence(layout: Layout, labelled: list[LabelledCell]) -> dict[str, dict[Decimal, Evidence]]:
    """Per role (total, subtotal, tax, payment): every amount a label of that role points at, with its cues."""
    candidates = _collect(layout, labelled)
    _restore_lost_signs(candidates)
    _add_derived_totals(candidates)
    return candidates


def choose_totals(
    layout: Layout, labelled: list[LabelledCell], source: Source, *, line_sum: Decimal | None = None
) -> Totals:
    candidates = amount_evidence(layout, labelled)
    scored = _score_totals(candidates, line_sum)
    total_field = subtotal_field = tax_field = None
    if scored:
        score, closed, best = scored[0]
        runner_up = scored[1][0] if len(scored) > 1 else 0.0
        best = _prefer_rounded(best, candidates)
        total_field = _field(best, _confidence(best, closed, score - runner_up), source)
    total_value = total_field.value if total_field else None
    subtotal, tax = _matching_parts(candidates, total_value)
    if subtotal is not None:
        subtotal_field = _field(subtotal[0], subtotal[1], source)
    if tax is not None:
        tax_field = _field(tax[0], tax[1], source)
    return Totals(total=total_field, subtotal=subtotal_field, tax=tax_field)


def _matching_parts(
    candidates: dict[str, dict[Decimal, Evidence]], total: Decimal | None
) -> tuple[tuple[Evidence, float] | None, tuple[Evidence, float] | None]:
    """Subtotal and tax: the pair that adds up to the total, else each one's best labelled value."""
    subtotals, taxes = candidates["subtotal"], candidates["tax"]
    if total is not None:
        pairs = [(s, t) for s, t in product(subtotals.values(), taxes.values()) if _adds_up(s.value, t.value, total)]
        if pairs:
            s, t = max(pairs, key=lambda pair: pair[0].strength + pair[1].strength)
            return (s, 0.95), (t, 0.95)
    by_strength: dict[str, tuple[Evidence, float] | None] = defaultdict(lambda: None)
    for role, pool in (("subtotal", subtotals), ("tax", taxes)):
        plausible = [c for c in pool.values() if total is None or abs(c.value) <= abs(total)]
        if plausible:
            best = max(plausible, key=lambda c: (c.strength, c.last_row))
            confidence = 0.3 + 0.4 * best.strength
            if role == "subtotal" and total is not None and best.value == total:
                confidence = 0.5  # no tax or a tax-inclusive printout: plausible, not proven
            by_strength[role] = (best, confidence)
    return by_strength["subtotal"], by_strength["tax"]

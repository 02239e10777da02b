"""Cross-check the rule-based fields with the LLM's, field by field.

Agreement raises confidence (two different readers came to the same value); disagreement lowers it
and is reported. For the money fields arithmetic decides: of the candidate values for subtotal, tax
and total, the combination with subtotal + tax = total wins. Line items: the list whose amounts add
up to the subtotal (or the total) wins.
"""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import product

from extraction.models import FIELD_NAMES, FieldValue, InvoiceFields, LineItem

_AGREEMENT_BONUS = 0.1
_AGREEMENT_CAP = 0.97
_DISAGREEMENT_FACTOR = 0.6
_ARITHMETIC_CONFIDENCE = 0.9
_MONEY = ("subtotal", "tax", "total")


def same_value(name: str, a: object, b: object) -> bool:
    """Whether two readings of a field name the same value (names without case, spaces or punctuation)."""
    if isinstance(a, str) and isinstance(b, str):
        squash = (lambda s: re.sub(r"[\s.,\-#]", "", s.casefold())) if name != "vendor_address" else str.casefold
        return squash(a) == squash(b)
    return a == b


def _agree(rule: FieldValue, llm: FieldValue) -> FieldValue:
    # Agreement never lowers what the rules were already surer of than the cap.
    confidence = max(rule.confidence, min(_AGREEMENT_CAP, max(rule.confidence, llm.confidence) + _AGREEMENT_BONUS))
    return rule.model_copy(update={"confidence": round(confidence, 3)})


def _lowered(value: FieldValue) -> FieldValue:
    return value.model_copy(update={"confidence": round(value.confidence * _DISAGREEMENT_FACTOR, 3)})


def _money_by_arithmetic(rule: InvoiceFields, llm: InvoiceFields) -> dict[str, FieldValue] | None:
    """Subtotal, tax and total chosen among both parsers' values so that they add up, if any combination does."""
    options = {
        name: [v for v in (getattr(rule, name), getattr(llm, name)) if v is not None] for name in _MONEY
    }
    if not all(options.values()):
        return None
    closing = [
        (s, t, total)
        for s, t, total in product(options["subtotal"], options["tax"], options["total"])
        if s.value + t.value == total.value
    ]
    if not closing:
        return None
    # Prefer the rule-based values (they carry where they were read) among equally closing combinations.
    s, t, total = max(closing, key=lambda combo: sum(v.source != "llm" for v in combo))
    raise_to = {"confidence": _ARITHMETIC_CONFIDENCE}
    return {
        name: value if value.confidence >= _ARITHMETIC_CONFIDENCE else value.model_copy(update=raise_to)
        for name, value in zip(_MONEY, (s, t, total), strict=True)
    }


def _adds_up(items: list[LineItem], target: FieldValue | None) -> bool:
    amounts = [item.amount for item in items if item.amount is not None]
    return bool(amounts) and target is not None and sum(amounts, Decimal(0)) == target.value


def _line_items(rule: InvoiceFields, llm: InvoiceFields, merged: dict[str, FieldValue | None]) -> list[LineItem]:
    for target in (merged.get("subtotal"), merged.get("total")):
        for items in (rule.line_items, llm.line_items):
            if _adds_up(items, target):
                return items
    return rule.line_items or llm.line_items


def merge(rule: InvoiceFields, llm: InvoiceFields, *, settled: frozenset[str] = frozenset()) -> tuple[InvoiceFields, list[str]]:
    """One set of fields from both parsers, and a warning for each field they disagree on. `settled`: fields
    whose confidence already weighs the LLM's answer (the trained choice's, `extraction.choice.with_llm`);
    they keep the rules' value and confidence unless the arithmetic decides otherwise."""
    merged: dict[str, FieldValue | None] = {}
    warnings: list[str] = []
    disagreements: list[str] = []
    for name in FIELD_NAMES:
        ours, theirs = getattr(rule, name), getattr(llm, name)
        if ours is None or theirs is None:
            merged[name] = ours or theirs
        elif same_value(name, ours.value, theirs.value):
            merged[name] = ours if name in settled else _agree(ours, theirs)
        else:
            disagreements.append(name)
            merged[name] = ours if name in settled else _lowered(ours if ours.confidence >= theirs.confidence else theirs)
    if any(name in disagreements for name in _MONEY):
        decided = _money_by_arithmetic(rule, llm)
        if decided is not None:
            merged |= decided
    for name in disagreements:
        ours, theirs, kept = getattr(rule, name), getattr(llm, name), merged[name]
        how = "arithmetic chose" if name in _MONEY and kept is not None and kept.confidence >= _ARITHMETIC_CONFIDENCE else "kept"
        warnings.append(
            f"The rule-based parser and the LLM disagree on {name.replace('_', ' ')}: "
            f"{ours.value} vs {theirs.value}; {how} {kept.value if kept else 'neither'}."
        )
    return InvoiceFields(**merged, line_items=_line_items(rule, llm, merged)), warnings

"""Money in printed text: either decimal separator, thousands grouping, signs, currency symbols and codes.

`find_amounts` returns every amount in a piece of text with its character span, so callers can tell
which amount follows which label. A number counts as money when it has decimals ("12.30", "1.234,56")
or, for whole amounts, when a currency marker touches it ("Rs 1939", "€ 100"); bare integers are
quantities, years, phone numbers and ids far more often than prices.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# Symbols and local abbreviations -> ISO 4217. "$" alone is USD unless a code in the document says otherwise.
CURRENCY_SYMBOLS: dict[str, str] = {
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "₽": "RUB",
    "₺": "TRY",
    "₫": "VND",
    "₱": "PHP",
    "฿": "THB",
    "zł": "PLN",
    "Kč": "CZK",
    "R$": "BRL",
    "S$": "SGD",
    "A$": "AUD",
    "C$": "CAD",
    "HK$": "HKD",
    "US$": "USD",
    "RM": "MYR",
    "Rs": "INR",
    "Rs.": "INR",
    "Rp": "IDR",
    "Fr.": "CHF",
    "$": "USD",
}
CURRENCY_CODES: frozenset[str] = frozenset(
    "EUR USD GBP CHF JPY CNY INR MYR SGD AUD CAD NZD HKD SEK NOK DKK PLN CZK HUF RON BGN TRY RUB "
    "ZAR BRL MXN IDR THB PHP VND KRW AED SAR".split()
)

_SYMBOL_PATTERN = "|".join(re.escape(s) for s in sorted(CURRENCY_SYMBOLS, key=len, reverse=True))
_CODE_PATTERN = "|".join(sorted(CURRENCY_CODES))
_MARKER = rf"(?:{_SYMBOL_PATTERN}|\b(?:{_CODE_PATTERN})\b)"

# A number with optional grouping and decimals. Grouping by spaces ("1 234,56") is accepted only before
# a decimal comma: elsewhere "1 100.00" is far more often a quantity and an amount. OCR and PDF text
# layers sometimes put a space before or after the decimal separator ("24 .99", "18310, 63"): one is tolerated.
_NUMBER = (
    r"[.,]\d{2}"  # ".02", accepted only right after a currency marker or a sign ("RM .02", see below)
    r"|\d{1,3}(?: \d{3})+,\d{2}"
    r"|\d{1,3}(?:[.,']\d{3})+(?: ?[.,]\d{1,2}|[.,] \d{2})?"
    r"|\d+(?: ?[.,]\d{1,2}|[.,] \d{2})?"
)
_AMOUNT_RE = re.compile(
    r"(?<![\w,/:-])(?<!(?<!\.)\.)"  # not the tail of a longer token (dates, ids, times); dot leaders ("Total...9.50") may lead in
    r"(?P<neg_open>\()?"
    r"(?P<sign>[-−–])?\s?"
    rf"(?:(?P<pre>{_MARKER})\s?|(?P<misread>[A-Z]{{1,2}}(?=\d+[.,]\d{{2}}\b)))?"  # "RN43.40": a misread "RM"
    r"(?P<sign2>[-−–])?"
    rf"(?P<number>{_NUMBER})"
    r"(?!\s?%)(?![.,]?\d)(?![/:])"  # not a rate, not cut short, not a date or a time
    rf"(?P<post>\s?{_MARKER}(?![a-zA-Z])(?!\s?[-−–]?\d))?"  # a marker before the next number is that one's
    r"(?P<neg_close>\)|-(?!\d))?"
)


_DOLLARS = frozenset({"$", "US$", "C$", "A$", "S$", "HK$"})
_DOLLAR_POINT = re.compile(r"\d{1,3}\.\d{3}")


@dataclass(frozen=True)
class Amount:
    value: Decimal
    start: int
    end: int
    currency: str | None  # ISO code when a marker touched the number
    has_decimals: bool


def _to_decimal(number: str) -> tuple[Decimal, bool] | None:
    """Interpret grouping and decimal separators: the last separator is decimal when 1-2 digits follow it."""
    compact = number.replace(" ", "").replace("'", "")
    separator_at = max(compact.rfind("."), compact.rfind(","))
    has_decimals = separator_at != -1 and len(compact) - separator_at - 1 in (1, 2)
    if has_decimals:
        whole, fraction = compact[:separator_at], compact[separator_at + 1 :]
        text = f"{whole.replace('.', '').replace(',', '') or '0'}.{fraction}"
    else:
        text = compact.replace(".", "").replace(",", "")
    try:
        return Decimal(text), has_decimals
    except InvalidOperation:
        return None


def _currency_of(marker: str | None) -> str | None:
    if not marker:
        return None
    marker = marker.strip()
    return CURRENCY_SYMBOLS.get(marker) or (marker.upper() if marker.upper() in CURRENCY_CODES else None)


def find_amounts(text: str, *, whole_needs_marker: bool = True) -> list[Amount]:
    """Every amount in `text`, left to right."""
    found = []
    for match in _AMOUNT_RE.finditer(text):
        parsed = _to_decimal(match["number"])
        if parsed is None:
            continue
        value, has_decimals = parsed
        if _DOLLAR_POINT.fullmatch(match["number"]) and (match["pre"] or match["post"] or "").strip() in _DOLLARS:
            # "$ 2.619": where the dollar is the currency "." is the decimal point, and a price to the tenth
            # of a cent (fuel per gallon) is printed with three decimals; a thousands group would read "2,619".
            value, has_decimals = Decimal(match["number"]), True
        if match["number"][0] in ".," and not (match["pre"] or match["sign"] or match["sign2"]):
            continue  # a lone ".99" is more often a number whose first digits were lost
        currency = _currency_of(match["pre"]) or _currency_of(match["post"])
        if currency is None and whole_needs_marker and (not has_decimals or value.as_tuple().exponent == -1):
            continue  # "19,0" and "2024" are rates, quantities and years, not money
        negative = bool(match["sign"] or match["sign2"]) or bool(match["neg_open"] and match["neg_close"] == ")")
        if match["neg_close"] == "-" and has_decimals:
            negative = True  # "9,32-": trailing minus, common on German and receipt printouts
        found.append(
            Amount(
                value=-value if negative else value,
                start=match.start(),
                end=match.end(),
                currency=currency,
                has_decimals=has_decimals,
            )
        )
    return found


def parse_amount(text: str) -> Decimal | None:
    """The single amount a short text holds ("€ 1.234,56", "RM12.30", "(9.32)"), else None."""
    amounts = find_amounts(text.strip(), whole_needs_marker=False)
    return amounts[0].value if len(amounts) == 1 else None


_CODE_RE = re.compile(rf"\b({_CODE_PATTERN})\b")
_SYMBOL_RE = re.compile(rf"(?:(?<![A-Za-z])({_SYMBOL_PATTERN}))(?=\s?\d)|(?<=\d)\s?({_SYMBOL_PATTERN})(?![A-Za-z])")


def currency_votes(text: str) -> Counter[str]:
    """ISO codes named in a text: codes count double (unambiguous), symbols next to numbers once."""
    votes: Counter[str] = Counter()
    for match in _CODE_RE.finditer(text):
        votes[match.group(1)] += 2
    for match in _SYMBOL_RE.finditer(text):
        code = CURRENCY_SYMBOLS.get(match.group(1) or match.group(2))
        if code:
            votes[code] += 1
    return votes

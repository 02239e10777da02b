"""Where a document is from, when it says so only implicitly: a US state with its ZIP code, a Malaysian
company form or state, the country prefix of a VAT number. Used where the document itself settles
nothing else: the day/month order of ambiguous dates and an implied currency (with a lower confidence).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_US_STATES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR "
    "PA RI SC SD TN TX UT VT VA WA WV WI WY DC"
).split()
# "DALLAS, TX 75201", "Fullerton CA 92831-1234": a state code right before a ZIP code, which ends the
# address (or the country or a phone number follows). A town after the number is the European order: "DE 80333 München" is a
# German address with its country code, not Delaware.
_US_ADDRESS = re.compile(
    rf"(?<![A-Za-z])(?:{'|'.join(_US_STATES)})[\s,.]{{0,2}}\d{{5}}(?:-\d{{4}})?(?!\d)(?!\s*(?!(?i:usa?|tel|phone|ph|fax)\b)[^\W\d_]{{2}})"
)
_MALAYSIA = re.compile(
    r"\bmalaysia\b|\bs[d]n\.?\s?bhd\b|\bselangor\b|\bjohor\b|\bkuala lumpur\b|\bpulau pinang\b|\bpenang\b|\bperak\b"
    r"|\bnegeri sembilan\b|\bmelaka\b|\bkedah\b|\bpahang\b|\bsabah\b|\bsarawak\b|\bputrajaya\b",
    re.IGNORECASE,
)
# Countries whose convention is month first for numeric dates.
MONTH_FIRST = frozenset({"US"})
CURRENCY_OF_COUNTRY = {"US": "USD", "MY": "MYR", "GB": "GBP", "CH": "CHF", "SE": "SEK", "DK": "DKK", "NO": "NOK", "PL": "PLN"}
_EURO_VAT_PREFIXES = frozenset("AT BE CY DE EE EL ES FI FR HR IE IT LT LU LV MT NL PT SI SK".split())


def country_hint(texts: Iterable[str]) -> str | None:
    """The country a document's addresses point to ("US", "MY"), when exactly one does."""
    found = set()
    for text in texts:
        if _US_ADDRESS.search(text):
            found.add("US")
        if _MALAYSIA.search(text):
            found.add("MY")
    return found.pop() if len(found) == 1 else None


# What a page that settles nothing else tells of its day/month order: dates written with slashes beside a
# "$" or a 12-hour clock are the American habit; euros and pounds, and every other country, write day first.
_SLASH_DATE = re.compile(r"(?<!\d)\d{1,2}/\d{1,2}/\d{2,4}(?!\d)")
_TWELVE_HOUR_CLOCK = re.compile(r"\d\s?[ap]\.?m\b\.?", re.IGNORECASE)
_EUROPEAN_MONEY = re.compile(r"[€£]|\b(?:EUR|GBP)\b")
# Other dollar countries that write the day first: named, or by an Australian Business Number or dollar sign.
_DAY_FIRST_DOLLARS = re.compile(
    r"\b(?:australia|singapore|hong\s?kong|new\s?zealand|ABN(?=[\s:.]*\d)|A\$|AU\$|S\$|SGD|AUD|NZD|HKD)", re.IGNORECASE
)


def guess_day_first(texts: Sequence[str], country: str | None) -> bool:
    """The likelier order of numeric dates that neither the document nor its country settles (`country`:
    `country_hint`): month first on a page that writes dates with slashes and shows a "$" or an AM/PM time,
    unless it names a day-first dollar country; day first otherwise, as most of the world writes them."""
    if country is not None and country not in MONTH_FIRST:
        return True
    text = "\n".join(texts)
    if _EUROPEAN_MONEY.search(text) or _DAY_FIRST_DOLLARS.search(text) or not _SLASH_DATE.search(text):
        return True
    return not ("$" in text or _TWELVE_HOUR_CLOCK.search(text))


def usual_day_first(texts: Sequence[str]) -> bool:
    """The order a page's ambiguous numeric dates are read in when none of its dates settles it: its
    country's convention, else the guess of `guess_day_first`."""
    country = country_hint(texts)
    return False if country in MONTH_FIRST else guess_day_first(texts, country)


def currency_of_vat_id(vat_id: str | None) -> str | None:
    """The currency a VAT number's country prefix implies (DE123... -> EUR, GB123... -> GBP)."""
    if not vat_id or len(vat_id) < 4 or not vat_id[:2].isalpha():
        return None
    prefix = vat_id[:2].upper()
    if prefix in _EURO_VAT_PREFIXES:
        return "EUR"
    return CURRENCY_OF_COUNTRY.get("GB" if prefix == "XI" else prefix)

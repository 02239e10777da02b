"""Dates as printed: numeric in any order and separator, and with month names in en/de/fr/nl/es/ms.

Whether "02/03/2018" is the 2nd of March or the 3rd of February is decided per document: a date
elsewhere on it that can only be read one way ("13/03/2018") settles the order for all of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

_MONTHS: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "januar", "janner", "janvier", "janv", "januari", "enero", "ene"),
    2: ("february", "feb", "febr", "februar", "fevrier", "fevr", "fev", "februari", "febrero"),
    3: ("march", "mar", "marz", "maerz", "mrz", "mars", "maart", "mrt", "marzo", "mac"),
    4: ("april", "apr", "avril", "avr", "abril", "abr"),
    5: ("may", "mai", "mei", "mayo"),
    6: ("june", "jun", "juni", "juin", "junio"),
    7: ("july", "jul", "juli", "juillet", "juil", "julio", "julai"),
    8: ("august", "aug", "aout", "augustus", "agosto", "ago", "ogos", "ogo"),
    9: ("september", "sep", "sept", "septembre", "septiembre", "setiembre"),
    10: ("october", "oct", "oktober", "okt", "octobre", "octubre"),
    11: ("november", "nov", "novembre", "noviembre"),
    12: ("december", "dec", "dezember", "dez", "decembre", "diciembre", "dic", "disember", "dis"),
}
# OCR reads "l" as "1" and "O" as "0" in till print ("Ju1.30'11", "0ct25'14"): those spellings of the
# month names that are no other word.
_OCR_MONTHS: dict[int, tuple[str, ...]] = {4: ("apri1",), 7: ("ju1", "ju1y"), 10: ("0ct", "0ctober"), 11: ("n0v", "n0vember")}
_MONTH_BY_NAME = {name: number for months in (_MONTHS, _OCR_MONTHS) for number, names in months.items() for name in names}
_MONTH = "(?P<month>" + "|".join(sorted(_MONTH_BY_NAME, key=len, reverse=True)) + r")\.?"

_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|er|e|º|\.)?"
# A year ends the number, unless OCR glued the time on ("03/02/201815:28").
_YEAR = r"(?P<year>(?:19|20)\d{2}|'?\d{2})(?:(?!\d)|(?=\d{1,2}:\d{2}))"
_SEP = r"\s?(?P<sep>[./-])\s?"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # 2018-09-20, 2018/09/20, 2018.09.20
    ("ymd", re.compile(r"(?<![\d.,])(?P<year>(?:19|20)\d{2})(?P<sep>[./-])(?P<a>\d{1,2})(?P=sep)(?P<b>\d{1,2})(?!\d)")),
    # 20.09.2018, 09/20/2018, 2-3-18
    # (a comma and a digit after the year continue a number, unless a time follows: "26/03/2017,11:59")
    ("numeric", re.compile(rf"(?<![\d.,])(?P<a>\d{{1,2}}){_SEP}(?P<b>\d{{1,2}})\s?(?P=sep){{1,2}}\s?{_YEAR}(?![.,](?!\d{{1,2}}:\d{{2}})\d)")),
    # 3 August 2014, 02 Juillet 2015, 15. März 2019, 1 de enero de 2020, 03-Aug-2014, 19-apr-14
    # (a "year" followed by 'NN is the day of a month-first date: "1 Jul.30'11" is 30 July 2011)
    ("day_month", re.compile(rf"(?<!\d){_DAY}[\s./-]*(?:de\s+)?{_MONTH}[\s.,/-]*(?:de\s+)?{_YEAR}(?!'\d)")),
    # August 3, 2014; Jan 1 2022; Aug 03 '14
    # US tills glue all three: JAN31'13, Nov12'16
    ("month_day", re.compile(rf"(?<![a-z]){_MONTH}\s*{_DAY}(?:\s?,\s*|\s+|(?=')){_YEAR}")),
)


# 20180428: only right after a date label, elsewhere eight digits are an id far more often.
_COMPACT = re.compile(r"(?<!\d)(?P<year>(?:19|20)\d{2})(?P<a>[01]\d)(?P<b>[0-3]\d)(?!\d)")


@dataclass(frozen=True)
class DateMatch:
    value: date
    start: int
    end: int
    ambiguous: bool  # day and month could be swapped and the order was not settled by the document


def fold(text: str) -> str:
    """Lower case without accents, so "März", "Août" and "Février" match plain month names."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _year(text: str) -> int:
    year = int(text.lstrip("'"))
    return year + (2000 if year < 70 else 1900) if year < 100 else year


def _make(year: int, month: int, day: int) -> date | None:
    if not 1970 <= year <= 2099:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _numeric_orders(text: str) -> Iterable[tuple[int, int]]:
    """(first, second) numbers of every d/m/y-like date in the text."""
    for match in _PATTERNS[1][1].finditer(fold(text)):
        yield int(match["a"]), int(match["b"])


def hide_numeric_dates(text: str) -> str:
    """`text` with every digit of its numeric dates made a 1, their form kept ("13/04/19" -> "11/11/11"): the
    page as it would read if no date of it settled the day/month order."""
    return _PATTERNS[1][1].sub(lambda match: re.sub(r"\d", "1", match.group()), text)


def infer_day_first(texts: Iterable[str]) -> bool | None:
    """True/False when some numeric date can only be read one way; None when every one is ambiguous."""
    day_first = month_first = 0
    for text in texts:
        for first, second in _numeric_orders(text):
            if first > 12 >= second:
                day_first += 1
            elif second > 12 >= first:
                month_first += 1
    if day_first == month_first:
        return None
    return day_first > month_first


def find_dates(
    text: str, *, day_first: bool | None = None, guess_day_first: bool = True, compact: bool = False
) -> list[DateMatch]:
    """Every date in `text`, left to right. Numeric dates whose day and month could be swapped follow
    `day_first` when the document settles the order; when it does not (None), they are read as
    `guess_day_first` says and marked ambiguous. `compact` also accepts YYYYMMDD (right after a date label)."""
    folded = fold(text)
    if len(folded) != len(text):  # folding changed lengths (ligatures): spans would not line up
        folded = text.lower()
    found: list[DateMatch] = []
    taken: list[tuple[int, int]] = []
    patterns = (*_PATTERNS, ("ymd", _COMPACT)) if compact else _PATTERNS
    for kind, pattern in patterns:
        for match in pattern.finditer(folded):
            if any(match.start() < end and match.end() > start for start, end in taken):
                continue
            value, ambiguous = _interpret(kind, match, guess_day_first if day_first is None else day_first)
            ambiguous = ambiguous and day_first is None
            if value is None:
                continue
            if kind == "numeric" and value.day <= 12 and value.day != value.month:
                value, ambiguous = _by_weekday(folded, match, value, ambiguous)
            taken.append((match.start(), match.end()))
            found.append(DateMatch(value=value, start=match.start(), end=match.end(), ambiguous=ambiguous))
    return sorted(found, key=lambda d: d.start)


_WEEKDAYS = (
    ("monday", "mon", "montag", "lundi", "maandag", "lunes", "isnin"),
    ("tuesday", "tue", "tues", "dienstag", "mardi", "dinsdag", "martes", "selasa"),
    ("wednesday", "wed", "mittwoch", "mercredi", "woensdag", "miercoles", "rabu"),
    ("thursday", "thu", "thur", "thurs", "donnerstag", "jeudi", "donderdag", "jueves", "khamis"),
    ("friday", "fri", "freitag", "vendredi", "vrijdag", "viernes", "jumaat"),
    ("saturday", "sat", "samstag", "samedi", "zaterdag", "sabado", "sabtu"),
    ("sunday", "sun", "sonntag", "dimanche", "zondag", "domingo", "ahad"),
)
_WEEKDAY_BY_NAME = {name: number for number, names in enumerate(_WEEKDAYS) for name in names}
_WEEKDAY_NEAR = re.compile(r"[\s,(]*(" + "|".join(sorted(_WEEKDAY_BY_NAME, key=len, reverse=True)) + r")\b")


def _by_weekday(text: str, match: re.Match[str], value: date, ambiguous: bool) -> tuple[date, bool]:
    """A weekday printed beside a numeric date settles its order ("09/06/2007 THU" is 6 September)."""
    after = _WEEKDAY_NEAR.match(text, match.end())
    before = re.search(r"\b(" + "|".join(_WEEKDAY_BY_NAME) + r")\b[\s,.]*$", text[max(0, match.start() - 12) : match.start()])
    named = after.group(1) if after else before.group(1) if before else None
    if named is None:
        return value, ambiguous
    weekday = _WEEKDAY_BY_NAME[named]
    swapped = _make(value.year, value.day, value.month)
    if value.weekday() == weekday:
        return value, False
    if swapped is not None and swapped.weekday() == weekday:
        return swapped, False
    return value, ambiguous


def _interpret(kind: str, match: re.Match[str], day_first: bool) -> tuple[date | None, bool]:
    """The date, and whether its day and month could be swapped."""
    if kind == "ymd":
        return _make(int(match["year"]), int(match["a"]), int(match["b"])), False
    if kind in ("day_month", "month_day"):
        return _make(_year(match["year"]), _MONTH_BY_NAME[match["month"]], int(match["day"])), False
    first, second, year = int(match["a"]), int(match["b"]), _year(match["year"])
    if first > 12 or second > 12:
        day, month = (first, second) if first > 12 else (second, first)
        return _make(year, month, day), False
    if match["sep"] == ".":
        # Day, month, year with dots (DIN 5008 and the rest of continental Europe); the month-first
        # convention writes slashes or dashes, never dots.
        return _make(year, second, first), False
    if not day_first:
        return _make(year, first, second), first != second
    return _make(year, second, first), first != second

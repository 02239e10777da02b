"""Search terms: a normalised, indexed array on each invoice, matched by prefix.

SecantusDB has no text indexes, and an anchored prefix regex on an indexed array works on both servers.
"""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"[a-z0-9]+")
_SEPARATORS = re.compile(r"[\W_]+")
MIN_TERM_LENGTH = 2
MAX_TERMS = 2000


def normalise(text: str) -> str:
    """Lower case, accents folded (é -> e, ß -> ss)."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(normalise(text))


def search_terms(*texts: str | None) -> list[str]:
    """The distinct terms of the given texts, in first-seen order, bounded in number."""
    seen: dict[str, None] = {}
    for text in texts:
        for token in tokens(text or ""):
            if len(token) >= MIN_TERM_LENGTH:
                seen.setdefault(token, None)
                if len(seen) >= MAX_TERMS:
                    return list(seen)
    return list(seen)


def invoice_search_terms(
    *, filename: str | None = None, vendor_name: str | None = None, invoice_number: str | None = None,
    text: str | None = None,
) -> list[str]:
    """The terms an invoice is found by: its file name, vendor, number and (from the extraction) its text.
    The one rule for the machine's values and a person's corrections alike. The number also counts without
    its separators, so "INV-2024/001" is found as "inv2024001"."""
    compact_number = _SEPARATORS.sub("", invoice_number) if invoice_number else None
    return search_terms(filename, vendor_name, invoice_number, compact_number, text)

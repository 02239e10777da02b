"""Search terms: a normalised, indexed array on each invoice, matched by prefix.

SecantusDB has no text indexes, and an anchored prefix regex on an indexed array works on both servers.
"""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"[a-z0-9]+")
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

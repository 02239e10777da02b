"""What a line of text says about names: legal forms and trade words, titles, phone and web lines,
registration numbers, street words, "Key: value" rows, and how a name is cut out of its line.

Shared by the vendor, address and customer parsers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from extraction.parsing.amounts import find_amounts
from extraction.parsing.dates import find_dates, fold
from extraction.parsing.labels import find_labels
from extraction.parsing.layout import Cell, Layout
from extraction.parsing.line_items import column_words

class _AccentFree:
    """A pattern matched on the text without accents (OCR adds some: "SDN. BHÒ."); spans index the text."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern

    @staticmethod
    def _plain(text: str) -> str:
        plain = fold(text)
        return plain if len(plain) == len(text) else text

    def search(self, text: str) -> re.Match[str] | None:
        return self.pattern.search(self._plain(text))

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self.pattern.fullmatch(self._plain(text))

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self.pattern.finditer(self._plain(text))


# Malaysia's "SDN BHD" as printed and as OCR misreads it ("SIN BHAD", "SON BHD", "SDN BHU").
_SDN_BHD = r"s\s?[dnoil0u]\s?n(?P<dot>\.?)\s*b\s?[hn]\s?a?\s?[dou]"
LEGAL_FORM = _AccentFree(re.compile(
    rf"(?<![A-Za-z])(?:{_SDN_BHD}|[s5]/b|sb|berhad|bhd|gmbh(?:\s*&\s*co\.?(?:\s*kg)?)?|mbh|ag|kgaa|kg|ohg|e\.\s?k\.|ug"
    r"|ltd|limited|llc|l\.l\.c|inc|incorporated|corp|corporation|co\.,?\s*ltd|plc|llp|pty|pvt|pte"
    r"|a\.\s?g|e\.\s?v|b\.\s?v|bv|n\.\s?v|nv|v\.\s?o\.\s?f|vof|s\.?a\.?r\.?l|sarl|s\.a\.s|sas|s\.?p\.?a|s\.?r\.?l|s\.l|s\.a)\.?(?![A-Za-z])",
    re.IGNORECASE,
))
# How OCR misreads "SDN BHD" and "S/B" ("5/B") is a closed vocabulary, so a misread form can be put right.
_MISREAD_SDN_BHD = re.compile(rf"(?<![A-Za-z]){_SDN_BHD}(?![A-Za-z])", re.IGNORECASE)
_MISREAD_S_B = re.compile(r"(?<![A-Za-z0-9])5/b(?![A-Za-z])", re.IGNORECASE)
_TRADE_WORDS = (
    "enterprises?", "trading", "restaurant", "restoran", "store", "stores", "mart", "minimart", "supermarket",
    "hypermarket", "hardware", "pharmacy", "farmasi", "cafe", "bakery", "bakeries", "services", "shop", "kedai",
    "station", "industries", "holdings", "company", "marketing", "stationery", "stationer", "book", "bookstores?",
    "florist", "electrical", "motor", "machinery", "engineering", "agency", "clinic", "hotel", "resort", "syarikat",
    "perniagaan", "pizza", "noodle", "house", "bistro", "kitchen", "healthcare", "petrol",
)
TRADE_WORD = re.compile(rf"(?<![A-Za-z])(?:{'|'.join(_TRADE_WORDS)})(?![A-Za-z])", re.IGNORECASE)
TITLE = re.compile(
    r"^(?:(?:simplified\s*|full\s*)?tax\s*invoice|invoice|receipt|official\s*receipt|cash\s*(?:bill|sales?|receipt)"
    r"|bill|payment\s*receipt|credit\s*note|debit\s*note|quotation|rechnung|handelsrechnung|gutschrift|quittung"
    r"|kassenbon|facture|avoir|factuur|kopie\s*factuur|factura|invois|resit|copy|kopie|original|duplicate"
    r"|delivery\s*order|statement|sales\s*order|rechnungs-?\s*korrektur|korrekturrechnung|stornorechnung)[\s.:#]*$",
    re.IGNORECASE,
)
PHONE = re.compile(r"(?:\b(?:tel|te[1i]|phone|fax|telefon|telefax|tél|hp|mobile|mob|whatsapp)\b|\+\d|\(\d{2,4}\)\s?\d)", re.IGNORECASE)
WEB = re.compile(r"@|www\.|https?://|\.(?:com|de|fr|nl|my|net|org)\b", re.IGNORECASE)
REG_NO = re.compile(
    r"^\(?\s*(?:(?:co|company)\.?\s*(?:reg(?:istration)?\.?)?\s*no\.?|roc|reg(?:istration)?\.?\s*no\.?)?[\s:.]*\d{3,}[\s-]*[A-Z]?\s*\)?$"
    r"|\b(?:co|company|reg(?:istration)?)\.?\s*(?:reg(?:istration)?\.?\s*)?no\b"
    r"|\bco\.?\s*-?\s*re[gi]\w*\s*[:.]?\s*\d",  # "(CO.REG :860671-D)", OCR: "Co-REi:360671-D"
    re.IGNORECASE,
)
TAX_WORDS = re.compile(r"\b(?:gst|vat|sst|tax|ust|tva|btw)\b")
_REG_SUFFIX = re.compile(r"\s*\(\s*(?:co|company|reg|roc)\b[^)]*\)?\s*$", re.IGNORECASE)
STREET = re.compile(
    r"\b(?:jalan|jln|lorong|taman|lot|no\.|street|st\.|road|rd\.?|avenue|ave|blvd|strasse|straße|str\.|weg|platz|rue"
    r"|chemin|avenue|laan|straat|calle|floor|level|blok|block|suite|menara|wisma|kompleks|plaza|tingkat|aras)\b"
    r"|\b\d{5}\b|#\d+-\d+"
    r"|\w(?:straße|strasse|str\.|weg|platz|allee|gasse|damm|ring|laan|straat|gracht)\s*\d",  # "Lieferantenstraße 20"
    re.IGNORECASE,
)
# "Name: Lieferant GmbH" carries a name; "Nummer: 549910" or "Anschrift: ..." do not.
_KEY_VALUE = re.compile(r"^(?P<key>[^\W\d_][\w.\-]*(?:\s[^\W\d_][\w.\-]*)?)\s?:\s*(?P<value>.*)$")
NAME_KEYS = re.compile(r"^(?:name|firma|company|company\s*name|unternehmen|nom|naam|nombre|raison\s*sociale)$", re.IGNORECASE)
OWNER = re.compile(r"\b(?:owned|operated|managed|issued)\s+by\b|\bsubsidiary\s+of\b|\bfranchisee?\b", re.IGNORECASE)
_TITLE_WORD = re.compile(
    r"^(?:tax\s+)?(?:invoice|receipt|rechnung|facture|factuur|factura)\s+|\s+(?:tax\s+)?(?:invoice|receipt|rechnung|facture|factuur|factura)$",
    re.IGNORECASE,
)
_NOT_NAME = re.compile(
    r"\(c\)|©|copyright|\bpage\b|\bseite\b|stylesheet|\bdetails\b|\binformation\b|\bsummary\b"
    r"|^\d+(?:[.,]\d+)?\s*(?:pcs|pc|stk|kg|g|l|ml|x|units?|ea|nos)\b",  # a section heading, "1 PCS"
    re.IGNORECASE,
)
_ADDRESS_LIKE = re.compile(
    r"^\d+[A-Za-z]?\s+(?i:.*\b(?:st|ave|rd|blvd|dr|hwy|ln|pkwy|ct|pl)\b)"  # "1050 N. Hancock St"
    r"|,\s*[A-Z]{2}\.?(?:\s+\d{5}(?:-\d{4})?)?\s*$"  # "LAS VEGAS, NV", "Spring Valley, CA 91977"
    r"|(?i:\b(?:pusat|bandar|kawasan|seksyen|persiaran|kampung|desa)\b)"  # Malay: centre, town, area, section, ...
)


def address_like(text: str) -> bool:
    """A line that reads as part of an address: a street word or postcode (`STREET`), a house number
    first, or a city with its two-letter state at the end."""
    return bool(STREET.search(text) or _ADDRESS_LIKE.search(text.strip()))


# The phrases a till prints around the shop's name: greetings and thanks ("Welcome to", "Thank you for
# shopping at"), the till's own fields ("Your guest number is", "Term ID", "Sales", "Customer copy"). A
# documented convention of receipts; the vendor choice weighs the share of such words in a line as one
# feature, it filters nothing.
RECEIPT_PHRASE_WORD = re.compile(
    r"(?<![a-z])(?:welcome|thank|thanks|thankyou|you|your|our|we|us|guest|guests|customer|term|terminal|trans"
    r"|transaction|sales?|cashier|server|order|receipt|copy|visit|again|please|feedback|survey|table|approved"
    r"|merchant|purchase|member|retain|records|voucher|for|at|is|with|shopping|dining)(?![a-z])",
    re.IGNORECASE,
)
SEPARATOR = re.compile(r"\s+[•●·|–]\s+|\s+-\s+")
POSTCODE = re.compile(r"\b\d{4,6}\b")


# Words that head a field or a column; on their own they are never a name ("Address", "| Pos |").
_FIELD_WORDS = re.compile(
    r"(?<![a-z])(?:address|adresse|anschrift|adres|direccion|pos|position|nr|no|name|tel|telephone|phone|fax|e-?mail"
    r"|street|city|country|page|seite|ref|reference|code|unit|units|vat|tax)(?![a-z])"
)


def only_label_words(text: str) -> bool:
    """True when nothing is left of `text` once its label words and column names are taken out."""
    folded = fold(text)
    if len(folded) != len(text):
        folded = text.lower()
    spans = [(label.start, label.end) for label in find_labels(text)] + column_words(text)
    spans += [m.span() for m in _FIELD_WORDS.finditer(folded)]
    kept = [ch for index, ch in enumerate(folded) if not any(start <= index < end for start, end in spans)]
    return not any(ch.isalnum() for ch in kept)


def name_like(text: str) -> bool:
    letters = sum(ch.isalpha() for ch in text)
    if letters < 2 or letters < 0.45 * len(text.replace(" ", "")):
        return False
    if TITLE.match(text.strip()) or PHONE.search(text) or WEB.search(text) or _NOT_NAME.search(text):
        return False
    if LEGAL_FORM.fullmatch(text.strip(" .,()")):
        return False  # "SDN BHD" or "KG" alone is the end of a name, not a name
    if find_dates(text) or len(find_amounts(text)) > 0 or len(text.split()) > 9 or REG_NO.search(text):
        return False
    return not only_label_words(text)


def _canonical_forms(text: str) -> str:
    """Put right OCR misreadings of the Malaysian legal forms ("SIN BHAD", "SDN. BHÒ.", "5/B"), keeping the
    text's case, underscores OCR puts between words, and a zero read inside a capitalised word
    ("FO0DICIOUS")."""
    plain = _AccentFree._plain(text)
    for match in reversed(list(_MISREAD_SDN_BHD.finditer(plain))):
        form = f"SDN{match['dot']} BHD"
        original = text[match.start() : match.end()]
        text = text[: match.start()] + (form if original.isupper() else form.title()) + text[match.end() :]
    text = re.sub(r"(?<=[^\W\d_])_(?=[^\W\d_])", " ", text)
    text = re.sub(r"(?<=[A-Z])0(?=[A-Z])", "O", text)
    text = _GLUED.sub(lambda match: _respace(match.group()), text)
    return _MISREAD_S_B.sub("S/B", text)


# RapidOCR loses the narrow spaces of letter-spaced shop signs ("SANYUSTATIONERYSHOP"). A long
# upper-case run is split around the trade words it contains, where every piece is a plausible word.
_GLUED = re.compile(r"(?<![A-Za-z])[A-Z]{12,}(?![A-Za-z])")
# Longest first, so that "STATIONERY" is found before "STATION".
_TRADE_WORD_INSIDE = re.compile("|".join(sorted(_TRADE_WORDS, key=len, reverse=True)), re.IGNORECASE)


def _respace(run: str) -> str:
    bounds = sorted({0, len(run), *(b for match in _TRADE_WORD_INSIDE.finditer(run) for b in match.span())})
    pieces = [run[a:b] for a, b in zip(bounds, bounds[1:])]
    return " ".join(pieces) if len(pieces) > 1 and all(len(piece) >= 3 for piece in pieces) else run


def has_legal_form(text: str) -> bool:
    """A legal form after at least one word of the name ("KG.BATU" starts with one: that is an address)."""
    return any(match.start() > 0 for match in LEGAL_FORM.finditer(text))


def trim_name(text: str) -> str:
    """Cut what follows a name on the same line: "Free SAS au capital de ..." -> "Free SAS",
    "Amazon Web Services Invoice" -> "Amazon Web Services"."""
    text = SEPARATOR.split(text)[0].strip(" ,:;-")
    text = _canonical_forms(_TITLE_WORD.sub("", text).strip(" ,:;-") or text)
    forms = list(LEGAL_FORM.finditer(text))
    if forms and re.search(r"\d", text[forms[0].end() :]):
        forms = forms[:1]  # "MYNEWS RETAIL SB (306295-X) FKA BISON STORES SB": the name ends at the first form
    if forms:
        tail = text[forms[-1].end() :].strip()
        # A sentence after the name ("Free SAS au capital de 3.441.812 Euros") goes; a short tag
        # ("(M)") or a seat ("Rohstoff AG Salzgitter") stays.
        if re.search(r"\d", tail) or len(tail.split()) > 2:
            text = text[: forms[-1].end()]
    return re.sub(r"\s*\(\s*\d[\d\s-]*[A-Z]?\s*\)\s*$", "", text).strip(" ,:;-")  # drop "(139386-X)"


def name_text(text: str) -> str | None:
    """The name a cell carries, if any: "Name: Lieferant GmbH" -> "Lieferant GmbH"; "Nummer: 549910" -> None;
    "Dion Realties Sdn Bhd (Co. No:20154-T)" -> "Dion Realties Sdn Bhd"."""
    text = _REG_SUFFIX.sub("", text.strip())
    pair = _KEY_VALUE.match(text)
    if pair is not None and not LEGAL_FORM.search(pair["key"]):
        if not NAME_KEYS.match(pair["key"].strip()):
            return None
        text = pair["value"].strip()
    return text if name_like(text) else None


@dataclass
class KeyCells:
    """Rows printed as "Key:   value" over two cells: which cells are keys, and each value cell's key."""

    keys: dict[int, Cell]  # id(key cell) -> its value cell
    key_of: dict[int, str]  # id(value cell) -> key text

    @classmethod
    def of(cls, layout: Layout) -> KeyCells:
        keys: dict[int, Cell] = {}
        key_of: dict[int, str] = {}
        for row in layout.rows:
            for cell, following in zip(row.cells, row.cells[1:]):
                text = cell.text.strip()
                if text.endswith(":") or following.text.lstrip().startswith(":"):
                    keys[id(cell)] = following
                    key_of[id(following)] = text.rstrip(" :")
        return cls(keys, key_of)

    def name_value(self, cell: Cell) -> Cell | None:
        """For a "Name:" key cell, the cell holding the name."""
        value = self.keys.get(id(cell))
        return value if value is not None and NAME_KEYS.match(cell.text.strip(" :")) else None

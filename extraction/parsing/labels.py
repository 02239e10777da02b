"""Multilingual label vocabularies: which printed words announce which field.

Patterns are written for folded text (lower case, accents removed; see `dates.fold`) in English,
German, French, Dutch, Spanish and Malay. Each label has a strength in (0, 1]: "Invoice No." names the
invoice number for sure, a bare "Invoice" before an id only probably. Where labels overlap, the longest
wins, so "Total GST" is a tax label and not a total, and "Sub Total" is a subtotal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from extraction.parsing.dates import fold

_B = r"(?<![a-z0-9_])"  # word start ("invoice_number_1" is an id, not a label)
_E = r"(?![a-z_])"  # word end
_NO = r"(?:no|nr|nbr|num|number|nummer|numero|n|#|n°|nº|no°)\.?"
# "G.S.T." spelled out with dots, "Taxes" in the plural
_TAX_WORD = r"(?:gst|g\.\s?s\.\s?t\.?|vat|tax(?:es)?|sst|mwst|ust|tva|btw|iva|(?:versicherungs?)?steuer)"
_RATE = r"(?:\s*\(?\s*@?\s*\d{1,2}(?:[.,]\d{1,2})?\s*%\s*\)?)?"  # "GST @6%", "TVA 20 %", "VAT (20%)"
_TAXED = rf"(?:\d{{1,2}}(?:[.,]\d{{1,2}})?\s*%\s*)?{_TAX_WORD}{_RATE}"  # "6% GST", "USt 19%"
_SUM_WORD = r"(?:total|summe|gesamt\s*-?\s*(?:summe|betrag)?|betrag|beitrag|rechnungsbetrag|amount|amt|totaal|montant)"
# "incl" as printed and as OCR misreads it ("indl", "inci", "inc1")
_INCL = r"(?:incl|inkl|inc|including|inclusive|inklusive|einschl|einschliesslich|in[cd][l1i])"
_EXCL = r"(?:excl|exkl|excluding|exclusive|exklusive|before|w/o|without|ohne|zzgl|zuzugl|zuzuglich)"

# Change given back, among the payment labels (English, Malay, Spanish, French, German, Dutch).
_CHANGE_WORD = r"(?:change(?:\s*due)?|kembali|baki|cambio|rendu|ruckgeld|wisselgeld)"
CHANGE_LABEL = re.compile(_CHANGE_WORD)  # matched against `label_text` of a payment label

# Summary rows that are no money due: counts, discounts and tips ("Total Qty: 9", "Tip 2.00").
_OTHER_TOTALS = (
    r"(?:total\s*(?:qty|quantity|items?|item\(s\)|pcs|units|no\.?\s*of\s*items|discount|savings?|saved|weight|points)"
    r"|tips?|gratuity|trinkgeld|pourboire|propina)"
)

# field -> (pattern, strength). "not_total" and "payment" are anti-labels: they mark amounts that are
# explicitly something else (quantities, cash tendered, change), so no field takes them.
_VOCABULARY: dict[str, tuple[tuple[str, float], ...]] = {
    "invoice_number": (
        (rf"(?:tax\s*)?invoice\s*(?:\(\d{{3}}\)\s*)?{_NO}", 1.0),
        (rf"inv\.?\s*{_NO}", 0.9),
        (rf"(?:bill|receipt|document|doc|cash\s*bill)\s*{_NO}(?=\s|:|$)", 0.6),
        (rf"(?:booking|reservation)\s*(?:id|ref(?:erence)?|{_NO})|order\s*{_NO}(?=\s|:|$)", 0.45),
        (r"invoice\s*id", 1.0),
        # also compounds and qualified titles: "Handelsrechnung Nr.", "Rechnung des Versicherers (575) Nr."
        (r"(?:[a-z]*rechnung|gutschrift|[a-z]*korrektur)[a-z]*(?:\s+de[sr]\s+[a-z]+)?\s*(?:\(\d{3}\)\s*)?-?\s*(?:nr|nummer|no|#)\.?", 1.0),
        (r"(?:gutschrift|beleg|korrekturrechnung)s?\s*-?\s*(?:nr|nummer|no)\.?", 0.9),
        (r"facture\s*(?:n|no|n°|nº|numero|#)\.?", 1.0),
        (r"(?:n°|nº|no|numero)\s*(?:de\s*)?(?:la\s*)?facture", 1.0),
        (r"avoir\s*(?:n°|nº|no|numero)", 0.9),
        (r"factuur\s*-?\s*(?:nr|nummer|no)\.?", 1.0),
        (r"factura\s*(?:n°|nº|no|num|numero|#)\.?", 1.0),
        (r"(?:n°|nº|no|numero)\.?\s*(?:de\s*)?factura", 1.0),
        (r"(?:no\.?\s*invois|invois\s*no\.?|no\.?\s*resit|resit\s*no\.?|no\.?\s*bil|bil\s*no\.?)", 0.9),
        # a bare document title before an id is a weaker cue
        (r"(?:invoice|[a-z]*rechnung|gutschrift|facture|factuur|factura|invois)", 0.45),
    ),
    "invoice_date": (
        (r"(?:tax\s*)?invoice\s*date", 1.0),
        (r"date\s*(?:of\s*)?(?:invoice|issue)", 1.0),
        (r"(?:issue|billing|bill|inv\.?|receipt|document)\s*date", 0.9),
        (r"(?:rechnungs|beleg|ausstellungs|gutschrifts)\s*-?\s*datum", 1.0),
        (r"date\s*(?:de\s*)?(?:la\s*)?(?:facture|facturation|d'emission|emission)", 1.0),
        (r"factuur\s*-?\s*datum", 1.0),
        (r"fecha\s*(?:de\s*)?(?:la\s*)?(?:factura|emision|expedicion)", 1.0),
        (r"tarikh\s*(?:invois|resit|bil)", 1.0),
        (r"(?:date|datum|fecha|tarikh|dated|data|dt)", 0.6),
        (r"(?:vom|du|del|of)(?=\s*(?:\d|$))", 0.3),  # "Rechnung Nr. 4711 vom 20.09.2018", "Facture n° 12 du 2 juillet"
    ),
    "due_date": (
        (r"(?:payment\s*)?due\s*(?:date|by|on)", 1.0),
        (r"date\s*due|pay(?:ment)?\s*by|payable\s*(?:by|until)|(?:remit|pay)\s*(?:until|before)", 0.9),
        (r"(?:fallig(?:keit)?s?(?:datum)?|zahlbar\s*bis|zahlungsziel|(?:uberweisen|zahlen)\s*sie\s*bis(?:\s*zum)?)", 1.0),
        (r"(?:date\s*(?:d'|de\s*l'?)?\s*echeance|echeance|date\s*limite(?:\s*de\s*paiement)?|a\s*payer\s*avant)", 1.0),
        (r"(?:vervaldatum|vervaldag|uiterste\s*betaaldatum|betalen\s*voor)", 1.0),
        (r"(?:fecha\s*de\s*vencimiento|vencimiento)", 1.0),
        (r"tarikh\s*(?:akhir|matang)", 1.0),
    ),
    "other_date": (  # dates that are neither issue nor due date
        (r"(?:delivery|order|ship(?:ping)?|service|supply|check\s*-?\s*in|check\s*-?\s*out|period|printed|print|valid|expiry|start|end)\s*date", 1.0),
        (r"(?:liefer|leistungs|bestell|auftrag|lieferschein|order|orderdatum|druck|buchungs)\s*-?\s*datum|gultig", 1.0),
        (r"(?:date\s*de\s*(?:livraison|commande|prestation)|periode)", 1.0),
        (r"(?:leverdatum|besteldatum|orderdatum)", 1.0),
        (r"billing\s*period", 1.0),
    ),
    "total": (
        # What the invoice comes to ...
        (r"grand\s*total|total\s*(?:invoice\s*amount)|invoice\s*total|total\s*invoice", 1.0),
        (r"(?:nett|rounded|round(?:ing)?)\s*total|total\s*(?:amt\s*|amount\s*)?(?:rounded|after\s*(?:rounding|adj\w*))", 0.9),
        (rf"{_SUM_WORD}\s*(?:sales\s*|amount\s*)?\(?\s*{_INCL}[.,]?\s*(?:of\s*)?(?:{_TAXED})?\s*\)?", 0.9),
        (rf"total[^:]{{0,30}}?\(\s*{_INCL}\.?\s*(?:of\s*)?{_TAX_WORD}{_RATE}\s*\)", 0.7),
        (r"total\s*(?:amount|sales|bill|rm|myr|\(rm\)|\(myr\)|eur|usd|\(\$\))", 0.8),
        (r"gesamt\s*-?\s*(?:betrag|summe)|rechnungs\s*-?\s*(?:betrag|summe)|brutto\s*-?\s*(?:betrag|summe)|endbetrag|summe\s*brutto|rechnungsbeitrag", 1.0),
        (r"montant\s*(?:total\s*)?ttc|total\s*ttc|total\s*facture|montant\s*total", 1.0),
        # ... and what is left to pay: the same on most invoices, less after a prepayment or more with
        # arrears, so it yields to a grand total where both are printed.
        (r"total\s*amount\s*(?:due|payable)|amount\s*(?:due|payable)|balance\s*due|total\s*due|due\s*payable", 0.85),
        (r"total\s*(?:to\s*pay|payable|amt\s*payable)|zahlbetrag|zu\s*zahlen(?:de[rn]?\s*(?:betrag|beitrag))?", 0.85),
        (r"net\s*a\s*payer|somme\s*a\s*payer|montant\s*a\s*payer|total\s*a\s*payer", 0.85),
        (r"totaal\s*(?:bedrag|incl\.?\s*(?:btw)?|te\s*betalen)?|factuur\s*totaal|te\s*betalen", 0.9),
        (r"total\s*a\s*pagar|importe\s*total|total\s*factura", 1.0),
        (r"jumlah\s*(?:besar|keseluruhan|bersih)?", 0.8),
        (rf"(?:incl|inclusive|including)[.,]?\s*(?:of\s*)?{_TAX_WORD}", 0.6),  # "[Total] Inclusive GST" with the total lost
        (r"gross\s*(?:amt|amount|total)|ttl", 0.7),
        (r"brutto|summe|total|amount|sum|due|bedrag", 0.55),
    ),
    "subtotal": (
        (r"sub\s*-?\s*total|sous\s*-?\s*total|subtotaal|zwischensumme", 1.0),
        (r"tax\s*base|taxable\s*amount|grondslag|base\s*ht", 0.7),  # the base tax is computed on
        (rf"{_SUM_WORD}\s*(?:sales\s*|amount\s*)?\(?\s*{_EXCL}[.,]?\s*(?:of\s*)?(?:{_TAXED})?\s*\)?", 1.0),
        (rf"total[^:]{{0,30}}?\(\s*{_EXCL}\.?\s*(?:of\s*)?{_TAX_WORD}{_RATE}\s*\)", 0.7),
        (r"net\s*(?:amount|total|value)|total\s*net", 0.7),
        (r"netto\s*-?\s*(?:betrag|summe|wert)?|summe\s*netto|gesamt\s*netto|warenwert|positionssumme|(?:rechnungs)?summe\s*ohne\s*(?:ust|mwst|steuer)\.?", 0.9),
        (r"(?:total|montant)\s*h\.?t\.?|hors\s*taxes?", 1.0),
        (r"exclusief\s*btw|totaal\s*excl\.?\s*(?:btw)?|excl\.?\s*btw", 1.0),
        (r"base\s*imponible", 1.0),
    ),
    "tax": (
        (r"total\s*(?:gst|vat|tax|taxes|sst|tva)|(?:gst|vat|tax|sst)\s*(?:amount|total|payable)|sales\s*tax", 1.0),
        (rf"(?:gst|g\.\s?s\.\s?t\.?|vat|tax(?:es)?|sst|service\s*tax){_RATE}", 0.7),
        # the tax a gross price includes, at its rate ("Incl. VAT (20%)", "inkl. 19% MwSt"); without a rate,
        # "Inclusive GST" is more often a total whose first word was lost (see "total")
        (rf"{_INCL}[.,]?\s*(?:of\s*)?(?:{_TAX_WORD}\s*\(?\s*@?\s*\d{{1,2}}(?:[.,]\d{{1,2}})?\s*%\s*\)?|\d{{1,2}}(?:[.,]\d{{1,2}})?\s*%\s*{_TAX_WORD})", 0.8),
        (r"(?:mwst|ust|umsatzsteuer|mehrwertsteuer|versicherungs?steuer)\s*-?\s*(?:betrag|gesamt|summe)?|steuer\s*-?\s*betrag|summe\s*(?:mwst|ust)", 0.9),
        (rf"(?:zzgl|zuzugl|zuzuglich|plus)\.?\s*{_TAX_WORD}{_RATE}", 0.9),
        (r"(?:montant\s*)?tva|total\s*taxes", 0.9),
        (r"(?:totaal\s*)?btw(?:\s*bedrag)?", 0.8),
        (r"(?:iva|impuesto)", 0.8),
        (r"cukai", 0.8),
    ),
    "not_total": (
        (_OTHER_TOTALS, 1.0),
        (r"(?:no\.?\s*of\s*items|qty|quantity|discount|you\s*saved|savings|points|rabatt|remise|korting)", 1.0),
        (r"(?:gst|vat|tax|ust|mwst|tva|btw|steuer)\s*-?\s*(?:reg(?:istration)?\.?|id|no|nr|number|nummer|identification)", 1.0),
        (r"(?:ust|umsatzsteuer)\s*-?\s*id|steuer\s*-?\s*(?:nr|nummer)|tax\s*invoice|n°\s*tva|numero\s*de\s*tva|btw\s*-?\s*nummer", 1.0),
        (r"(?:anzahlung|erhaltene|prepaid|deposit|acompte|voorschot|already\s*paid)", 1.0),
        (r"(?:gesamt)?betrag\s*der\s*(?:zuschlage|abschlage)|total\s*(?:allowances|charges)", 1.0),
    ),
    "payment": (
        (rf"(?:cash|tendered|tender|accepted|received|{_CHANGE_WORD}|paid|payment|card|visa|master(?:card)?|credit|debit|rounding|round(?:ing)?\s*adj\w*|adj(?:ustment)?)", 1.0),
        # cash handed over in the other languages read here
        (r"(?:efectivo|entregado|especes|gegeben|contant)", 1.0),
    ),
    "vendor": (
        (r"(?:seller|vendor|supplier|sold\s*by|issued\s*by|service\s*provider|bill\s*from|from)", 0.8),
        (r"(?:verkaufer|lieferant|rechnungssteller|leistungserbringer)", 0.9),
        (r"(?:fournisseur|vendeur|emetteur|prestataire)", 0.9),
        (r"(?:leverancier|verkoper)", 0.9),
        (r"(?:proveedor|emisor|vendedor)", 0.9),
    ),
    "customer": (
        (r"(?:bill(?:ed)?\s*to|invoice\s*to|sold\s*to|ship\s*to|deliver\s*to|customer|client|buyer|attn|attention|guest|recipient)(?!\s?['’`]s)", 0.9),
        (r"(?:kaufer|kunde|rechnungsempfanger|leistungsempfanger|warenempfanger|empfanger|lieferadresse|rechnungsadresse)", 0.9),
        (r"(?:adresse\s*de\s*(?:facturation|livraison)|destinataire|acheteur|abonne)", 0.9),
        (r"(?:factuuradres|afleveradres|klant|afnemer)", 0.9),
        (r"(?:cliente|comprador|facturar\s*a)", 0.9),
        (r"(?:pelanggan|kepada)", 0.8),
    ),
}

_COMPILED = {
    field: tuple((re.compile(_B + pattern + r"(?:(?<=[.#°º:)])|" + _E + ")"), strength) for pattern, strength in patterns)
    for field, patterns in _VOCABULARY.items()
}


@dataclass(frozen=True)
class LabelMatch:
    field: str
    start: int
    end: int
    strength: float


def find_labels(text: str) -> list[LabelMatch]:
    """Every label in `text` (spans index `text`), longest first where two overlap."""
    return list(_labels_of(text))


# OCR misreads single letters of the summary words a receipt hinges on ("Totai", "lotal", "Anount",
# "Amcunt", "Sibtotal"): read a word of a key word's length that differs from it in one letter, where the
# printed character is one OCR takes that letter for, as the key word. Same length, so spans stay aligned.
_OCR_LOOKALIKES = {"t": "l", "o": "c0", "a": "o", "l": "i1|!t", "m": "n", "u": "i", "b": "o"}
_OCR_KEY_WORDS = ("total", "subtotal", "amount")
_WORD = re.compile(r"[a-z0-9|!]+")


def _misread_key_word(word: str) -> str | None:
    for key in _OCR_KEY_WORDS:
        if len(word) != len(key) or word == key:
            continue
        differences = [i for i, (printed, meant) in enumerate(zip(word, key)) if printed != meant]
        if len(differences) == 1 and word[differences[0]] in _OCR_LOOKALIKES.get(key[differences[0]], ""):
            return key
    return None


def label_text(text: str) -> str:
    """`text` as labels are matched in: folded (`dates.fold`), with misread key words read as meant. Index for
    index the same as `text` (where folding would change its length, it is only lower-cased)."""
    folded = fold(text)
    if len(folded) != len(text):
        folded = text.lower()
    return _WORD.sub(lambda m: _misread_key_word(m.group()) or m.group(), folded)


@lru_cache(maxsize=4096)
def _labels_of(text: str) -> tuple[LabelMatch, ...]:
    # Cached: the same cell texts are asked about by every field's rules and by the trained choice.
    folded = label_text(text)
    candidates = [
        LabelMatch(field, m.start(), m.start() + len(m.group().rstrip()), strength)
        for field, patterns in _COMPILED.items()
        for pattern, strength in patterns
        for m in pattern.finditer(folded)
        if m.end() > m.start()
    ]
    candidates.sort(key=lambda m: (-(m.end - m.start), -m.strength))
    kept: list[LabelMatch] = []
    for match in candidates:
        if all(match.end <= other.start or match.start >= other.end for other in kept):
            kept.append(match)
    return tuple(_absorb_tax_qualifiers(sorted(kept, key=lambda m: m.start), folded))


# The labels of a receipt's or invoice's summary block: the rows after the items.
SUMMARY_FIELDS = frozenset({"total", "subtotal", "tax", "payment"})
_OTHER_TOTAL = re.compile(rf"{_B}{_OTHER_TOTALS}[.:]?")


def is_summary(label: LabelMatch, text: str) -> bool:
    """Whether `label`, found in `text`, names a summary row (total, subtotal, tax, tips, total quantity,
    cash, change, rounding...): no item, and the end of a list of items."""
    if label.field in SUMMARY_FIELDS:
        return True
    return label.field == "not_total" and bool(_OTHER_TOTAL.fullmatch(label_text(text[label.start:label.end])))


def leading_label(text: str) -> LabelMatch | None:
    """The label that opens `text` (a row's first cell), if any."""
    labels = find_labels(text[:30])
    return labels[0] if labels and labels[0].start <= 2 else None


def summary_label(text: str) -> LabelMatch | None:
    """The summary label that opens `text` ("Total Qty 9", "Sub Total 12.00"), if any."""
    label = leading_label(text)
    return label if label is not None and is_summary(label, text) else None


_QUALIFIER_GAP = re.compile(rf"^[\s.,:()@]*(?:(?:{_INCL}|{_EXCL}|of|\d{{1,2}}(?:[.,]\d{{1,2}})?\s*%)[\s.,:()@]*)*$")


def _absorb_tax_qualifiers(labels: list[LabelMatch], folded: str) -> list[LabelMatch]:
    """"Total After Adj Incl GST", "Total Incl. 6% GST": the tax word qualifies the total, it is no tax label."""
    merged: list[LabelMatch] = []
    for label in labels:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and label.field == "tax"
            and previous.field in ("total", "subtotal")
            and _QUALIFIER_GAP.match(folded[previous.end : label.start])
            and re.search(rf"{_INCL}|{_EXCL}", folded[previous.start : label.start])
        ):
            merged[-1] = LabelMatch(previous.field, previous.start, label.end, previous.strength)
        else:
            merged.append(label)
    return merged


_DOCUMENT_TYPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "credit_note",
        re.compile(r"(?<![a-z])(?:credit\s*note|gutschrift|avoir|creditnota|credit\s*nota|nota\s*de\s*credito|nota\s*kredit)(?![a-z])"),
    ),
    (
        "corrected_invoice",
        re.compile(
            r"(?<![a-z])(?:rechnungskorrektur|korrekturrechnung|stornorechnung|corrected\s*invoice"
            r"|facture\s*rectificative|factura\s*rectificativa|gecorrigeerde\s*factuur)(?![a-z])"
        ),
    ),
    ("invoice", re.compile(r"(?<![a-z])(?:invoice|rechnung|facture|factuur|factura|invois|receipt|resit|quittung)(?![a-z])")),
)


def document_type(title_texts: list[str]) -> str | None:
    """What the document calls itself in its first lines: "credit_note", "corrected_invoice", "invoice"."""
    folded = fold(" ".join(title_texts))
    return next((kind for kind, pattern in _DOCUMENT_TYPES if pattern.search(folded)), None)

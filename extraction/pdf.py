"""PDF reading with pypdfium2: the text layer (words with boxes) where a page has real text,
a 300-dpi rendering for OCR where it does not, and the embedded e-invoice XML if there is one.

Coordinates of text-layer words are PDF points with the origin at the top-left of the page as
displayed (page rotation applied), the same convention as OCR pixel boxes. Where the text runs
sideways or upside down as displayed (a page drawn upright and marked /Rotate 90), the words are
read on the page turned so that they run left to right, and the page's transform takes their boxes
back to the page as displayed, as for an OCR'd page turned upright.
"""

from __future__ import annotations

import ctypes
import math
import unicodedata
from collections.abc import Callable

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from lxml import etree

from extraction.models import Affine, BBox, Page, PageTransform, Word
from extraction.geometry import union_box
from extraction.ocr.layout import Segment, build_lines

RENDER_DPI = 300
_POINTS_PER_INCH = 72

# A page "has real text" with at least this many visible characters, mostly decodable ones
# (fonts without a Unicode map give private-use or replacement characters: that is not text).
_MIN_TEXT_CHARS = 10
_MIN_GOOD_CHAR_SHARE = 0.8
# A page that is mostly one picture with little text is a scan with a stamp or header: OCR it.
_SCAN_IMAGE_SHARE = 0.5
_SCAN_MAX_TEXT_CHARS = 200
# Characters further apart than this share of the font height start a new word; much further, a new segment.
_WORD_GAP = 0.25
_SEGMENT_GAP = 2.0

# Root elements of the structured invoices we accept: CII (Factur-X / ZUGFeRD 2 / XRechnung CII),
# ZUGFeRD 1.0's CrossIndustryDocument, and UBL (XRechnung UBL, Peppol).
_INVOICE_ROOTS = {"CrossIndustryInvoice", "CrossIndustryDocument", "Invoice", "CreditNote"}
# Preferred attachment names, in order, when a PDF carries several XML files.
_KNOWN_XML_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "order-x.xml")
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)


def read_text_layer(page: pdfium.PdfPage, number: int) -> Page | None:
    """The page's words from its text layer, or None when it has no real text (then OCR it)."""
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        chars = join_surrogates([_char(textpage, i) for i in range(count)])
    finally:
        textpage.close()
    visible = [c for c in chars if c[0] and not c[0].isspace()]
    good = sum(1 for c in visible if _is_good_char(c[0]))
    if len(visible) < _MIN_TEXT_CHARS or good < _MIN_GOOD_CHAR_SHARE * len(visible):
        return None
    if len(visible) < _SCAN_MAX_TEXT_CHARS and _image_share(page) >= _SCAN_IMAGE_SHARE:
        return None

    to_display = _display_transform(page)
    width, height = page.get_size()  # pdfium's size is the displayed one (/Rotate applied)
    chars = [(text, to_display(box) if text and not text.isspace() else box) for text, box in chars]
    to_reading, reading_size, transform = _reading_frame(chars, width, height)
    segments: list[Segment] = []
    words: list[Word] = []
    letters: list[str] = []
    boxes: list[BBox] = []

    def end_word() -> None:
        if letters:
            words.append(Word(text="".join(letters), bbox=union_box(boxes), confidence=1.0))
            letters.clear()
            boxes.clear()

    def end_segment() -> None:
        end_word()
        if words:
            segments.append(Segment(words=list(words)))
            words.clear()

    previous: BBox | None = None  # the last character of the current segment
    for text, box in chars:
        if not text or text in "\r\n":
            end_segment()
            previous = None
            continue
        if text.isspace():
            end_word()
            continue
        box = to_reading(box)
        if previous is not None:
            height = max(1.0, box[3] - box[1], previous[3] - previous[1])
            gap = box[0] - previous[2]
            same_row = min(box[3], previous[3]) - max(box[1], previous[1]) > 0.3 * height
            if not same_row or gap > _SEGMENT_GAP * height or box[0] < previous[0] - 0.5 * height:
                end_segment()
            elif gap > _WORD_GAP * height:
                end_word()
        letters.append(text)
        boxes.append(box)
        previous = box
    end_segment()
    return Page(
        number=number, width=reading_size[0], height=reading_size[1], lines=build_lines(segments),
        source="pdf_text", engine="pdfium", transform=transform,
    )


def _reading_frame(
    chars: list[tuple[str, BBox]], width: float, height: float
) -> tuple[Callable[[BBox], BBox], tuple[float, float], PageTransform | None]:
    """The frame the page's text reads left to right in: the displayed page itself, or the page turned by
    a quarter or a half when its text runs down, up or right to left as displayed (a page drawn upright
    and marked /Rotate, or drawn sideways). Returns the map of displayed boxes into that frame, its size,
    and the transform that takes its boxes back to the displayed page (None when it is the page)."""
    votes = {"right": 0, "down": 0, "left": 0, "up": 0}
    previous: BBox | None = None
    for text, box in chars:
        if not text or text.isspace():
            previous = None if not text or text in "\r\n" else previous
            continue
        if previous is not None:
            dx = (box[0] + box[2] - previous[0] - previous[2]) / 2
            dy = (box[1] + box[3] - previous[1] - previous[3]) / 2
            if abs(dx) > abs(dy):
                votes["right" if dx > 0 else "left"] += 1
            elif abs(dy) > abs(dx):
                votes["down" if dy > 0 else "up"] += 1
        previous = box
    direction = max(votes, key=lambda d: (votes[d], d == "right"))
    if direction == "right" or votes[direction] <= 2 * votes["right"]:
        return (lambda box: box), (width, height), None
    # reading (x', y') -> displayed (x, y), as an affine map (a, b, c, d, e, f): x = a x' + b y' + c, y = d x' + e y' + f
    to_display: Affine = {
        "down": (0.0, -1.0, width, 1.0, 0.0, 0.0),  # text runs down: turn the page a quarter counter-clockwise
        "up": (0.0, 1.0, 0.0, -1.0, 0.0, height),  # text runs up: a quarter clockwise
        "left": (-1.0, 0.0, width, 0.0, -1.0, height),  # upside down
    }[direction]
    size = (width, height) if direction == "left" else (height, width)
    transform = PageTransform(width=width, height=height, matrix=to_display)
    a, b, c, d, e, f = to_display
    det = a * e - b * d

    def to_reading(box: BBox) -> BBox:
        xs, ys = [], []
        for x in (box[0], box[2]):
            for y in (box[1], box[3]):
                xs.append((e * (x - c) - b * (y - f)) / det)
                ys.append((a * (y - f) - d * (x - c)) / det)
        return (min(xs), min(ys), max(xs), max(ys))

    return to_reading, size, transform


def render_page(page: pdfium.PdfPage, max_pixels: int, dpi: int = RENDER_DPI) -> np.ndarray:
    """The page as a grayscale uint8 array at `dpi`, scaled down if it would exceed `max_pixels`."""
    width, height = page.get_size()
    scale = dpi / _POINTS_PER_INCH
    if width * height * scale * scale > max_pixels:
        scale = math.sqrt(max_pixels / (width * height))
    bitmap = page.render(scale=scale, grayscale=True, may_draw_forms=True)
    try:
        return np.array(bitmap.to_numpy(), copy=True)  # own the pixels before the bitmap is freed
    finally:
        bitmap.close()


def embedded_invoice_xml(pdf: bytes | pdfium.PdfDocument) -> bytes | None:
    """The Factur-X / ZUGFeRD / XRechnung (CII or UBL) XML attached to the PDF, or None."""
    document = pdf if isinstance(pdf, pdfium.PdfDocument) else pdfium.PdfDocument(pdf)
    try:
        candidates: list[tuple[int, bytes]] = []
        for index in range(document.count_attachments()):
            attachment = document.get_attachment(index)
            name = (attachment.get_name() or "").lower()
            if not name.endswith(".xml"):
                continue
            try:
                data = bytes(attachment.get_data())
            except pdfium.PdfiumError:
                continue
            if _is_invoice_xml(data):
                rank = _KNOWN_XML_NAMES.index(name) if name in _KNOWN_XML_NAMES else len(_KNOWN_XML_NAMES)
                candidates.append((rank, data))
        return min(candidates, key=lambda c: c[0])[1] if candidates else None
    finally:
        if document is not pdf:
            document.close()


def _is_invoice_xml(data: bytes) -> bool:
    try:
        root = etree.fromstring(data, parser=_XML_PARSER)
    except etree.XMLSyntaxError:
        return False
    return etree.QName(root).localname in _INVOICE_ROOTS


def _char(textpage: pdfium.PdfTextPage, index: int) -> tuple[str, BBox]:
    code = pdfium_c.FPDFText_GetUnicode(textpage, index)
    text = chr(code) if 0 < code < 0x110000 else ""
    if not text or text.isspace():
        return text, (0.0, 0.0, 0.0, 0.0)
    rect = pdfium_c.FS_RECTF()
    # The loose box spans the font's height, so all characters of a line share one baseline band.
    pdfium_c.FPDFText_GetLooseCharBox(textpage, index, ctypes.byref(rect))
    return text, (rect.left, rect.bottom, rect.right, rect.top)


def join_surrogates(chars: list[tuple[str, BBox]]) -> list[tuple[str, BBox]]:
    """pdfium returns UTF-16 code units: join surrogate pairs (emoji, rare CJK) into one character
    and drop unpaired halves, which no text encoding can carry."""
    joined: list[tuple[str, BBox]] = []
    index = 0
    while index < len(chars):
        text, box = chars[index]
        following = chars[index + 1][0] if index + 1 < len(chars) else ""
        if _is_surrogate(text, 0xD800) and _is_surrogate(following, 0xDC00):
            code = 0x10000 + ((ord(text) - 0xD800) << 10) + (ord(following) - 0xDC00)
            joined.append((chr(code), box))
            index += 2
            continue
        if not (_is_surrogate(text, 0xD800) or _is_surrogate(text, 0xDC00)):
            joined.append((text, box))
        index += 1
    return joined


def _is_surrogate(text: str, base: int) -> bool:
    """A high (base 0xD800) or low (base 0xDC00) UTF-16 surrogate."""
    return len(text) == 1 and base <= ord(text) < base + 0x400


def _is_good_char(text: str) -> bool:
    return text != "\ufffd" and unicodedata.category(text) not in ("Co", "Cn", "Cc", "Cs")


def _image_share(page: pdfium.PdfPage) -> float:
    """The share of the page area covered by its largest image."""
    width, height = page.get_size()
    largest = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = obj.get_pos()
        largest = max(largest, (right - left) * (top - bottom))
    return largest / max(1.0, width * height)


def _display_transform(page: pdfium.PdfPage):  # noqa: ANN202 - a small closure
    """Map PDF user-space boxes (origin bottom-left) to the displayed page (origin top-left, rotated)."""
    left, bottom, right, top = page.get_cropbox()
    width, height = right - left, top - bottom
    rotation = page.get_rotation()

    def point(x: float, y: float) -> tuple[float, float]:
        u, v = x - left, top - y
        if rotation == 90:
            return height - v, u
        if rotation == 180:
            return width - u, height - v
        if rotation == 270:
            return v, width - u
        return u, v

    def transform(box: BBox) -> BBox:
        (ax, ay), (bx, by) = point(box[0], box[1]), point(box[2], box[3])
        return (min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))

    return transform


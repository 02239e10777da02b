"""Standalone XML e-invoices (XRechnung, Peppol BIS 3: UBL 2.1 Invoice/CreditNote; UN/CEFACT CII) as files.

One owner for "is this XML an invoice we can read, safely?": `looks_like_xml` recognises the bytes,
`check_xml_invoice` is what an upload check calls before anything is stored, `read_xml_invoice` is
what the pipeline calls. All three refuse the same things with the same messages:
- a document type declaration (DTD) of any kind: e-invoices never carry one, and it is how external
  entities and entity-expansion bombs ("billion laughs") are smuggled in;
- more than `MAX_XML_BYTES`;
- XML that is not well formed, or well formed but not an invoice syntax we know.
"""

from __future__ import annotations

import re

from lxml import etree

from extraction.decode import DecodeError
from extraction.einvoice import SAFE_PARSER, parse_einvoice_root
from extraction.models import ErrorCode, InvoiceFields

XML = "application/xml"
XML_CONTENT_TYPES = frozenset({"application/xml", "text/xml"})
# Real e-invoices are a few kB; with embedded attachments (base64 PDFs) a few MB.
MAX_XML_BYTES = 20 * 1024 * 1024

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# The start of an XML document: a declaration, a comment, a DOCTYPE or an element name.
_XML_START = re.compile(rb"<(?:\?xml[\s?]|!--|!DOCTYPE|[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?[\s/>])")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_SUPPORTED = "UBL 2.1 Invoice or CreditNote, or UN/CEFACT CII (XRechnung, Peppol BIS 3, ZUGFeRD / Factur-X)"


def looks_like_xml(data: bytes) -> bool:
    """True when the bytes start like an XML document (after an optional byte-order mark and blanks)."""
    head = data[:1024]
    for bom in _BOMS:
        if head.startswith(bom):
            if bom != b"\xef\xbb\xbf":
                return True  # UTF-16 text that is not an image or a PDF: let the parser decide
            head = head[len(bom):]
            break
    return _XML_START.match(head.lstrip()) is not None


def _root(data: bytes) -> etree._Element:
    if len(data) > MAX_XML_BYTES:
        raise DecodeError(
            ErrorCode.unreadable_file,
            f"The XML file is {len(data) / 1e6:.1f} MB; at most {MAX_XML_BYTES / 1e6:.0f} MB are accepted.",
        )
    if _DTD.search(data):
        raise DecodeError(
            ErrorCode.unsupported_type,
            "The XML file contains a document type declaration (DTD or entities), which e-invoices never need "
            "and which is refused for safety. Export the invoice again without a DOCTYPE.",
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        # Blank lines before the declaration make strict parsers refuse files people can open.
        root = etree.fromstring(data.lstrip(), parser=SAFE_PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise DecodeError(ErrorCode.unreadable_file, f"The XML file is not well formed ({exc}). Please send the file again.") from None
    # A UTF-16 document hides its DOCTYPE from the byte search above; the parsed tree does not.
    if root.getroottree().docinfo.doctype or root.getroottree().docinfo.internalDTD is not None:
        raise DecodeError(
            ErrorCode.unsupported_type,
            "The XML file contains a document type declaration (DTD), which is refused for safety.",
        )
    return root


def read_xml_invoice(data: bytes) -> InvoiceFields:
    """The exact fields of a standalone e-invoice, or DecodeError with a reason a person can act on."""
    root = _root(data)
    fields = parse_einvoice_root(root)
    if fields is None:
        name = etree.QName(root).localname if isinstance(root.tag, str) else "?"
        raise DecodeError(
            ErrorCode.unsupported_type,
            f"This XML file is not an e-invoice (its root element is <{name}>). Invoicer reads {_SUPPORTED}.",
        )
    return fields


def check_xml_invoice(data: bytes) -> None:
    """What an upload check calls for bytes that `looks_like_xml`: returns when they are a readable
    e-invoice, raises DecodeError (code and message) otherwise."""
    read_xml_invoice(data)

"""Structured e-invoices (CII / ZUGFeRD / Factur-X / XRechnung, UBL): exact values from XML."""

from __future__ import annotations

from extraction.models import InvoiceFields


def parse_einvoice_xml(xml: bytes) -> InvoiceFields | None:
    """Parse a CII or UBL invoice; None when the XML is not an invoice we know (stub)."""
    return None

"""Optional LLM structuring against any OpenAI-compatible endpoint."""

from __future__ import annotations

from extraction.models import DocumentText, ExtractionOptions, InvoiceFields


class LLMError(RuntimeError):
    """The LLM endpoint could not give a usable answer (unreachable, timeout, bad JSON, rate limit)."""


def llm_parse(doc: DocumentText, options: ExtractionOptions) -> InvoiceFields:
    """Ask the configured model for the fields (stub)."""
    raise LLMError("LLM parsing is not implemented yet")

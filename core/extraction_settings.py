"""The extraction options the settings ask for, as plain values: one place that the watcher's workers and
`invoicer extract` both start from (core imports nothing of ours, so the caller builds `ExtractionOptions`)."""

from __future__ import annotations

from typing import Any

from core.config import Settings


def extraction_option_values(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of `extraction.models.ExtractionOptions` for these settings."""
    return {
        "ocr_engine": settings.ocr_engine,
        "ocr_languages": settings.ocr_languages,
        "use_llm": bool(settings.llm_base_url and settings.llm_model),
        "llm_base_url": settings.llm_base_url,
        "llm_model": settings.llm_model,
        "llm_api_key": settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        "llm_timeout_seconds": settings.llm_timeout_seconds,
        "max_pages": settings.max_pdf_pages,
        "max_pixels": settings.max_image_pixels,
        "include_text": True,  # the watcher turns the text into search terms
    }

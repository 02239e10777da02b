"""The extraction pipeline: `extract(data, content_type, options=...) -> ExtractionResult`.

`extract` is imported on first use, so that importing the schemas (`extraction.models`), as the API does,
does not load OpenCV, the OCR engines and their models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from extraction.pipeline import extract

__all__ = ["extract"]


def __getattr__(name: str) -> Any:
    if name == "extract":
        from extraction.pipeline import extract

        return extract
    raise AttributeError(f"module 'extraction' has no attribute {name!r}")

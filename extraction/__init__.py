from extraction.pipeline import extract

__all__ = ["extract"]

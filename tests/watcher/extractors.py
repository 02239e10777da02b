"""Extractors that `invoicer watcher` runs instead of OCR when WATCHER_TEST_EXTRACTOR names them (refused when
ENV=production). What they test is the watcher, so each does what the first line of the file's bytes says."""

from __future__ import annotations

import ctypes
import os
import time
from datetime import date
from decimal import Decimal

from extraction.models import ErrorCode, ExtractionOptions, ExtractionResult, FieldValue, InvoiceFields

SCRIPTED = "tests.watcher.extractors:scripted"


def scripted(data: bytes, content_type: str | None, *, options: ExtractionOptions) -> ExtractionResult:
    """The first line of the file decides:
    `sleep S [FILE]` works S seconds (creating FILE first, if named, to say it is running), then succeeds; `hang` never returns; `exit` and `segfault` kill the worker
    process; `raise` raises; `fail CODE` returns a failed result with that code; anything else succeeds at once.
    """
    command, _, argument = data.split(b"\n", 1)[0].decode(errors="replace").strip().partition(" ")
    if command == "sleep":
        seconds, _, started = argument.partition(" ")
        if started:
            open(started, "w").close()
        time.sleep(float(seconds))
    elif command == "hang":
        time.sleep(3600)
    elif command == "exit":
        os._exit(3)
    elif command == "segfault":
        ctypes.string_at(0)
    elif command == "raise":
        raise RuntimeError("the test extractor was told to raise")
    elif command == "fail":
        return ExtractionResult.failure(ErrorCode(argument), f"the test extractor was told to fail with {argument}")
    text = data.decode(errors="replace")
    return ExtractionResult(
        ok=True, pages=1, content_type=content_type, method="ocr", text=text,
        fields=InvoiceFields(
            invoice_number=FieldValue(value="TEST-0042", confidence=0.9, source="ocr"),
            vendor_name=FieldValue(value="Café Müller GmbH", confidence=0.8, source="ocr"),
            invoice_date=FieldValue(value=date(2024, 5, 1), confidence=0.9, source="ocr"),
            total=FieldValue(value=Decimal("42.50"), confidence=0.9, source="ocr"),
        ),
    )

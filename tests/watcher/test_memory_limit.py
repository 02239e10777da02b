"""A file that decompresses into gigabytes fails with `too_large_to_process` under WORKER_MEMORY_MB, through a
real watcher running the real extraction, instead of squeezing the machine; the watcher goes on."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image, ImageDraw
from tests.watcher.support import queue_invoices, wait_until


MEMORY_MB = "1200"


def huge_png() -> bytes:
    """A few hundred KB of PNG that decode to 8,944 × 8,944 RGBA: 320 MB before any copy is made."""
    image = Image.new("RGBA", (8944, 8944), (255, 255, 255, 255))
    ImageDraw.Draw(image).text((100, 100), "INVOICE 1 TOTAL 9.99", fill=(0, 0, 0, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def huge_pdf(inflated_mb: int = 1024) -> bytes:
    """A one-page PDF of about 2 MB whose content stream inflates to `inflated_mb` MB of drawing commands."""
    chunk = b"0 0 m 1 1 l S\n" * 4096
    compressor = zlib.compressobj(9)
    stream = b"".join(compressor.compress(chunk) for _ in range(inflated_mb * 1024 * 1024 // len(chunk)))
    stream += compressor.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.mark.slow
async def test_files_that_inflate_past_the_worker_memory_limit_fail_with_a_clear_code(db, start_watcher):
    [png] = await queue_invoices(db, [huge_png()], content_type="image/png")
    [pdf] = await queue_invoices(db, [huge_pdf()], content_type="application/pdf")
    assert (await db["invoices"].find_one({"_id": pdf}))["size"] < 3_000_000
    # The real extraction; the extractor's own log of the failed decode is expected.
    watcher = start_watcher(tracebacks_expected=True, WATCHER_TEST_EXTRACTOR="", WORKER_MEMORY_MB=MEMORY_MB,
                            JOB_TIMEOUT_SECONDS="120")

    async def both_final() -> bool:
        return await db["invoices"].count_documents({"status": {"$in": ["processed", "failed"]}}) == 2

    await wait_until(both_final, 240, "both files to end", watcher)
    for invoice_id in (png, pdf):
        invoice = await db["invoices"].find_one({"_id": invoice_id})
        assert invoice["status"] == "failed", invoice
        assert invoice["error"]["code"] == "too_large_to_process", invoice["error"]
        assert f"{MEMORY_MB} MB" in invoice["error"]["message"]
        assert invoice["attempts"] == 1  # retrying cannot help: failed at once
    assert watcher.alive()
    log = watcher.log()
    assert f"memory limit {MEMORY_MB} MB" in log
    assert "too_large_to_process" in log

"""A burst of near-limit image bombs, cut short, does not blow up the API's memory (issue 10, hostile use 1)."""

from __future__ import annotations

import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from core.embedded import free_port
from tests.factories import register_org
from tests.support import wait_http

SIDE = 8944  # 8944 x 8944 RGBA: just under the default limit of 80 megapixels, 320 MB once decoded


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def near_limit_png(side: int = SIDE) -> bytes:
    """A blank RGBA PNG compressed row block by row block (the test never holds its pixels either)."""
    compressor = zlib.compressobj(9)
    row = b"\0" + b"\0" * (side * 4)
    block = row * 256
    parts = [compressor.compress(block) for _ in range(side // 256)]
    parts.append(compressor.compress(row * (side % 256)))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")


def _memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def test_eight_concurrent_truncated_near_limit_pngs_keep_the_api_small(start_process):
    port = free_port()
    api = start_process("api", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health", process=api)
    admin = register_org(url)
    complete = near_limit_png()
    truncated = complete[:-2000]  # cut short inside the image data, like a broken transfer

    def upload(index: int) -> httpx.Response:
        return admin.client.post("/invoices/upload", files={"file": (f"bomb{index}.png", truncated, "image/png")},
                                 timeout=120)

    baseline_kb = _memory_kb(api.pid, "VmRSS")
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(upload, range(8)))
    peak_kb, after_kb = _memory_kb(api.pid, "VmHWM"), _memory_kb(api.pid, "VmRSS")
    print(f"API RSS: baseline {baseline_kb / 1024:.0f} MB, peak {peak_kb / 1024:.0f} MB, after {after_kb / 1024:.0f} MB")

    assert [r.status_code for r in responses] == [422] * 8, [r.text for r in responses]
    assert all("truncated" in r.json()["detail"] for r in responses)
    assert (peak_kb - baseline_kb) / 1024 < 200, "the checks held decoded frames"
    assert (after_kb - baseline_kb) / 1024 < 100, "a refused upload's memory was kept"

    accepted = admin.client.post("/invoices/upload", files={"file": ("whole.png", complete, "image/png")}, timeout=120)
    assert accepted.status_code == 202, accepted.text

"""GET /invoices/{id}/pages/{n}?width=1000 for A4 PDF pages: the first (rendered) and second (cached) request.

Uploads A4 PDFs from the datasets (text-layer invoices, read in place) and a phone-photo-sized JPEG through a
real API process, then for each page asks for it at 1000 px as PNG and WebP: the first request renders with
pdfium (or Pillow) and encodes, the second must come from the cache. Target: an A4 PDF page at 1000 px in
≤ 300 ms. `--json OUT` writes the figures.
"""

from __future__ import annotations

import argparse
import base64
import io
import time

import httpx
from PIL import Image, ImageDraw

from bench.common import DATASETS, api_process, embedded_database, percentile, print_table, signed_in_headers, write_json

A4_PDFS = ["AzureInterior.pdf", "coolblue1.pdf", "free_fiber.pdf", "oyo.pdf", "saeco.pdf"]


def photo_jpeg() -> bytes:
    image = Image.new("RGB", (3024, 4032), "white")
    draw = ImageDraw.Draw(image)
    for row in range(60):
        draw.text((200, 100 + row * 60), f"ITEM {row:02d} ........................ {row * 3.5:8.2f}", fill="black")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def timed_get(client: httpx.Client, path: str, **params: object) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed, response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    files = [(name, (DATASETS / "invoice2data" / name).read_bytes()) for name in A4_PDFS]
    files.append(("photo-12mp.jpg", photo_jpeg()))

    results: dict[str, dict[str, list[float]]] = {}
    sizes: dict[str, int] = {}
    with embedded_database() as server, api_process(server.uri) as (url, _):
        client = httpx.Client(base_url=f"{url}/api/v1", headers=signed_in_headers(url), timeout=60)
        for name, data in files:
            created = client.post("/invoices", json={"filename": name, "content_base64": base64.b64encode(data).decode()})
            created.raise_for_status()
            invoice = created.json()
            kind = "photo (12 MP JPEG)" if name.endswith(".jpg") else "A4 PDF page"
            for image_format in ("png", "webp"):
                for page in range(1, (invoice["pages"] or 1) + 1):
                    path = f"/invoices/{invoice['id']}/pages/{page}"
                    first, response = timed_get(client, path, width=args.width, format=image_format)
                    second, _ = timed_get(client, path, width=args.width, format=image_format)
                    entry = results.setdefault(f"{kind}, {image_format}", {"first": [], "second": []})
                    entry["first"].append(first)
                    entry["second"].append(second)
                    sizes[f"{kind}, {image_format}"] = len(response.content)

    rows = [
        (case, len(t["first"]), percentile(t["first"], 50), max(t["first"]), percentile(t["second"], 50),
         max(t["second"]), f"{sizes[case] / 1024:.0f}")
        for case, t in results.items()
    ]
    print_table(f"page image at {args.width} px: first request (render) vs second (cache); target ≤ 300 ms",
                ["case", "n", "first p50 ms", "first max ms", "second p50 ms", "second max ms", "KB"], rows)
    write_json(args.json_out, {"width": args.width, "results": results, "bytes": sizes})


if __name__ == "__main__":
    main()

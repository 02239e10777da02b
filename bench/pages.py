"""What the pages people look at cost: a page of the invoice list, and a page image of one invoice.

`python -m bench.pages list [--invoices 10000]`: GET /invoices?limit=50 with N processed invoices of one
organization in the embedded database, loaded as the watcher leaves them (the extraction of real A4 PDFs from
the datasets, read once and stored N times under fresh ids and dates). Times the first page, a walk through
the next pages by cursor, a search and the review queue, with the bytes each answer sends.

`python -m bench.pages [images]`: GET /invoices/{id}/pages/{n}?width=1000 for A4 PDF pages: the first
(rendered) and second (cached) request. Uploads A4 PDFs from the datasets (text-layer invoices, read in
place) and a phone-photo-sized JPEG through a real API process, then for each page asks for it at 1000 px as
PNG and WebP: the first request renders with pdfium (or Pillow) and encodes, the second must come from the
cache. Target: an A4 PDF page at 1000 px in ≤ 300 ms.

`--json OUT` writes the figures.
"""

from __future__ import annotations

import argparse
import base64
import io
import random
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
from PIL import Image, ImageDraw

from bson import ObjectId
from pymongo import MongoClient

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


def images(args: argparse.Namespace) -> None:
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


LIST_PAGE = 50
LOAD_BATCH = 1_000


def processed_invoices() -> list[tuple[dict, list[str]]]:
    """The stored extraction (as the watcher writes it) and search terms of each A4 PDF of the datasets."""
    from core.bson_codec import to_bson
    from core.search import invoice_search_terms
    from extraction import extract

    read = []
    for name in A4_PDFS:
        result = extract((DATASETS / "invoice2data" / name).read_bytes(), "application/pdf")
        fields = result.fields
        terms = invoice_search_terms(
            filename=name, vendor_name=fields.vendor_name.value if fields.vendor_name else None,
            invoice_number=fields.invoice_number.value if fields.invoice_number else None, text=result.text)
        read.append((to_bson(result.model_dump(mode="python", exclude={"text"})), terms))
    return read


def stored_invoice(rng: random.Random, org_id: ObjectId, owner_id: ObjectId, now: datetime,
                   read: tuple[dict, list[str]]) -> dict:
    from core.review import review_document, review_of
    from core.summary import event_summary

    extraction, terms = read
    created = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
    finished = created + timedelta(seconds=rng.uniform(1, 20))
    review = review_document(review_of(status="processed", extraction=extraction))
    return {
        "_id": ObjectId(), "owner_id": owner_id, "org_id": org_id, "filename": f"scan-{rng.randrange(10**8)}.pdf",
        "content_type": "application/pdf", "size": rng.randint(20_000, 400_000), "sha256": uuid.uuid4().hex * 2,
        "pages": extraction.get("pages") or 1, "duplicate_of": None, "status": "processed",
        "previous_status": "processing", "attempts": 1, "file_id": ObjectId(), "created_at": created,
        "updated_at": finished, "queued_at": created, "processed_at": finished, "corrections": {},
        "search_terms": terms, "lease": None, "retry_at": None, "error": None,
        "timings": {"queued_ms": 5.0, "extract_ms": 900.0, "total_ms": 905.0},
        "status_history": [
            {"status": "processing", "previous_status": "pending", "at": created, "error": None},
            {"status": "processed", "previous_status": "processing", "at": finished, "error": None},
        ],
        "extraction": extraction, "review": review, "summary": event_summary(extraction, {}),
    }


def timed_pages(client: httpx.Client, calls: int, follow: bool, **params: object) -> tuple[list[float], list[int]]:
    """`calls` requests of one list page; with `follow`, each asks for the page after the previous one."""
    durations, sizes, cursor = [], [], None
    for _ in range(calls):
        query = {"limit": LIST_PAGE, **params, **({"cursor": cursor} if cursor else {})}
        elapsed, response = timed_get(client, "/invoices", **query)
        durations.append(elapsed)
        sizes.append(len(response.content))
        if follow:
            cursor = response.json()["next_cursor"]
            if cursor is None:
                break
    return durations, sizes


def list_pages(args: argparse.Namespace) -> None:
    rng = random.Random(7)
    read = processed_invoices()
    with embedded_database() as server, api_process(server.uri, ACCESS_TOKEN_MINUTES="240") as (url, _):
        client = httpx.Client(base_url=f"{url}/api/v1", headers=signed_in_headers(url), timeout=120)
        me = client.get("/auth/me").json()
        org_id, owner_id = ObjectId(me["org_id"]), ObjectId(me["id"])
        database = MongoClient(server.uri, tz_aware=True)["bench"]
        invoices = database.invoices
        now = datetime.now(timezone.utc)
        # The organization is as old as its invoices.
        database.organizations.update_one({"_id": org_id}, {"$set": {"created_at": now - timedelta(days=90)}})
        started = time.perf_counter()
        for offset in range(0, args.invoices, LOAD_BATCH):
            batch = min(LOAD_BATCH, args.invoices - offset)
            invoices.insert_many([stored_invoice(rng, org_id, owner_id, now, rng.choice(read)) for _ in range(batch)])
        load_s = time.perf_counter() - started
        vendor = next(term for term in read[0][1] if len(term) > 3)
        timed_pages(client, 3, False)  # warm-up: connections, caches
        cases = {
            "first page": timed_pages(client, args.calls, False),
            "next pages (cursor)": timed_pages(client, args.calls, True),
            f"search q={vendor[:4]}": timed_pages(client, args.calls, False, q=vendor[:4]),
            "review queue": timed_pages(client, args.calls, False, review="needs_review", sort="created_at"),
        }
    rows = [(case, len(d), percentile(d, 50), percentile(d, 95), max(d), f"{sum(s) / len(s) / 1024:.1f}")
            for case, (d, s) in cases.items()]
    print_table(f"GET /invoices?limit={LIST_PAGE} with {args.invoices:,} invoices (loaded in {load_s:.0f} s)",
                ["case", "n", "p50 ms", "p95 ms", "max ms", "KB per page"], rows)
    write_json(args.json_out, {"invoices": args.invoices, "page": LIST_PAGE,
                               "results": {case: {"ms": d, "bytes": s} for case, (d, s) in cases.items()}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", choices=["images", "list"], default="images")
    parser.add_argument("--width", type=int, default=1000, help="images: the page width asked for")
    parser.add_argument("--invoices", type=int, default=10_000, help="list: how many invoices are stored")
    parser.add_argument("--calls", type=int, default=20, help="list: requests per case")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    (list_pages if args.what == "list" else images)(args)


if __name__ == "__main__":
    main()

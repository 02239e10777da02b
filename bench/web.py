"""What each route of the web app costs to load: JavaScript and CSS, gzipped, from Vite's build manifest.

A route loads the entry chunk, its page chunk and every chunk they import statically (lazy imports are
other routes). Budgets: the sign-in route at most 150 KB of gzipped JavaScript, the dashboard route at most
250 KB in all. Build first (`make web`); `--json OUT` writes the figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from bench.common import print_table, write_json

DIST = Path(__file__).resolve().parents[1] / "clients" / "web" / "dist"
ROUTES = {
    "/signin": "SignIn", "/signup": "SignUp", "/invoices": "Invoices", "/invoices/:id": "InvoicePage",
    "/upload": "Upload", "/review": "Review", "/dashboard": "Dashboard", "/users": "Users", "/account": "Account",
}
SIGN_IN_JS_BUDGET = 150 * 1024
DASHBOARD_TOTAL_BUDGET = 250 * 1024


@dataclass(frozen=True)
class RouteSize:
    route: str
    js_bytes: int
    css_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.js_bytes + self.css_bytes


def load_manifest(dist: Path = DIST) -> dict:
    path = dist / ".vite" / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: build the app first (`make web`)")
    return json.loads(path.read_text())


def _closure(manifest: dict, keys: list[str]) -> tuple[set[str], set[str]]:
    """Every JS file and stylesheet loaded with these chunks (static imports followed, lazy ones not)."""
    scripts: set[str] = set()
    styles: set[str] = set()
    pending, seen = list(keys), set()
    while pending:
        key = pending.pop()
        if key in seen:
            continue
        seen.add(key)
        chunk = manifest[key]
        scripts.add(chunk["file"])
        styles.update(chunk.get("css", []))
        pending.extend(chunk.get("imports", []))
    return scripts, styles


def _gzipped(files: set[str], dist: Path) -> int:
    # Level 9, as the API's gzip middleware sends the assets.
    return sum(len(gzip.compress((dist / name).read_bytes(), compresslevel=9)) for name in files)


def route_size(manifest: dict, page: str, dist: Path = DIST, route: str = "") -> RouteSize:
    entry = next(key for key, chunk in manifest.items() if chunk.get("isEntry"))
    scripts, styles = _closure(manifest, [entry, f"src/pages/{page}.tsx"])
    return RouteSize(route or page, _gzipped(scripts, dist), _gzipped(styles, dist))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    manifest = load_manifest()
    sizes = [route_size(manifest, page, route=route) for route, page in ROUTES.items()]
    print_table(
        "Web app: gzipped bytes loaded per route (entry + page + static imports)",
        ["route", "JS KB", "CSS KB", "total KB"],
        [(s.route, s.js_bytes / 1024, s.css_bytes / 1024, s.total_bytes / 1024) for s in sizes],
    )
    print(f"budgets: /signin JS ≤ {SIGN_IN_JS_BUDGET // 1024} KB, /dashboard total ≤ {DASHBOARD_TOTAL_BUDGET // 1024} KB")
    write_json(args.json, [{"route": s.route, "js_bytes": s.js_bytes, "css_bytes": s.css_bytes} for s in sizes])


if __name__ == "__main__":
    main()

"""The first screen stays light: JavaScript per route, gzipped, read from Vite's build manifest."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.web.support import DIST

SIGN_IN_JS_BUDGET = 150 * 1024
DASHBOARD_TOTAL_BUDGET = 250 * 1024


def _manifest() -> dict:
    path = DIST / ".vite" / "manifest.json"
    if not path.is_file():
        pytest.fail("The web app is not built: run `make web` (or `cd clients && npm ci && npm run build`)")
    return json.loads(path.read_text())


def _closure(manifest: dict, keys: list[str]) -> tuple[set[str], set[str]]:
    """Every JS file and stylesheet loaded with these chunks (static imports followed, lazy ones not)."""
    scripts: set[str] = set()
    styles: set[str] = set()
    pending = list(keys)
    seen: set[str] = set()
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


def _gzipped(files: set[str]) -> int:
    return sum(len(gzip.compress((DIST / name).read_bytes(), compresslevel=9)) for name in files)


def _route_sizes(manifest: dict, page: str) -> tuple[int, int]:
    entry = next(key for key, chunk in manifest.items() if chunk.get("isEntry"))
    scripts, styles = _closure(manifest, [entry, f"src/pages/{page}.tsx"])
    js = _gzipped(scripts)
    return js, js + _gzipped(styles)


def test_sign_in_route_loads_at_most_150_kb_of_gzipped_javascript():
    js, total = _route_sizes(_manifest(), "SignIn")
    print(f"sign-in route: {js / 1024:.1f} KB JS gzipped, {total / 1024:.1f} KB with CSS")
    assert js <= SIGN_IN_JS_BUDGET


def test_dashboard_route_loads_at_most_250_kb_in_total():
    js, total = _route_sizes(_manifest(), "Dashboard")
    print(f"dashboard route: {js / 1024:.1f} KB JS gzipped, {total / 1024:.1f} KB with CSS")
    assert total <= DASHBOARD_TOTAL_BUDGET


def test_routes_are_split():
    manifest = _manifest()
    lazy = {key for chunk in manifest.values() for key in chunk.get("dynamicImports", [])}
    assert {"src/pages/SignIn.tsx", "src/pages/Dashboard.tsx", "src/pages/InvoicePage.tsx", "src/pages/Upload.tsx"} <= lazy

"""The first screen stays light: gzipped bytes per route, read from Vite's build manifest (bench/web.py)."""

from __future__ import annotations

import pytest

from bench.web import DASHBOARD_TOTAL_BUDGET, SIGN_IN_JS_BUDGET, load_manifest, route_size


@pytest.fixture(scope="module")
def manifest() -> dict:
    try:
        return load_manifest()
    except FileNotFoundError as exc:
        pytest.fail(str(exc))


def test_sign_in_route_loads_at_most_150_kb_of_gzipped_javascript(manifest):
    size = route_size(manifest, "SignIn")
    assert size.js_bytes <= SIGN_IN_JS_BUDGET, f"{size.js_bytes / 1024:.1f} KB"


def test_dashboard_route_loads_at_most_250_kb_in_total(manifest):
    size = route_size(manifest, "Dashboard")
    assert size.total_bytes <= DASHBOARD_TOTAL_BUDGET, f"{size.total_bytes / 1024:.1f} KB"


def test_routes_are_split(manifest):
    lazy = {key for chunk in manifest.values() for key in chunk.get("dynamicImports", [])}
    assert {"src/pages/SignIn.tsx", "src/pages/Dashboard.tsx", "src/pages/InvoicePage.tsx", "src/pages/Upload.tsx"} <= lazy

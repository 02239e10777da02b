"""The README's walkthrough script runs against a real API process and gets the documented answers."""

from __future__ import annotations

import subprocess
import sys

from tests.support import REPO


def test_walkthrough_script(api_url):
    run = subprocess.run([sys.executable, str(REPO / "examples" / "walkthrough.py"), "--url", api_url, "--wait", "0"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    for expected in ("POST /api/v1/auth/register -> 201", "POST /api/v1/auth/login -> 200",
                     "POST /api/v1/invoices -> 202", "POST /api/v1/invoices/upload -> 202", "GET /api/v1/invoices -> 200",
                     "/file -> 200", "PATCH /api/v1/invoices/", "-> 204", "-> 404"):
        assert expected in out, out

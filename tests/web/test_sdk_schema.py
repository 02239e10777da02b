"""clients/sdk/src/schema.d.ts is generated from the API's OpenAPI document; a stale copy fails here."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support import REPO

CLIENTS = REPO / "clients"


def test_generated_sdk_types_match_the_api():
    if shutil.which("node") is None or not (CLIENTS / "node_modules" / ".bin" / "openapi-typescript").exists():
        pytest.fail("Node and the clients' packages are needed: run `make web` (npm ci in clients/)")
    result = subprocess.run(["node", "sdk/scripts/generate.mjs", "--check"], cwd=CLIENTS, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, (
        f"{result.stderr.strip()}\nRegenerate with `cd clients && npm run generate --workspace sdk` and commit it."
    )

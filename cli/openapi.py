"""`invoicer openapi`: print the API's OpenAPI document (what the clients' type generator reads)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer


def openapi_document() -> dict[str, Any]:
    """The document exactly as `invoicer api` serves it at /openapi.json, built without a database."""
    from api.main import create_app
    from core.config import Settings
    from realtime.server import mount

    # No database, no secret and no .env are needed to describe the routes.
    settings = Settings(_env_file=None, env="test", jwt_secret="openapi-document-only-" + "x" * 32)
    app = create_app(settings, connect_database=False)
    mount(app, settings)
    return app.openapi()


def openapi(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the OpenAPI document as JSON, keys in a stable order (diff-friendly)."""
    text = json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)


def register(app: typer.Typer) -> None:
    app.command()(openapi)

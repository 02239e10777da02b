"""`invoicer`: the one front door. Each command group lives in its own module of this package."""

from __future__ import annotations

import typer

from cli import extract, maintenance, openapi, realtime, stack, users, watcher

app = typer.Typer(
    help="Invoicer: turn photos, scans and PDFs of invoices into structured data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (stack, users, watcher, realtime, extract, openapi, maintenance):
    module.register(app)

if __name__ == "__main__":
    app()

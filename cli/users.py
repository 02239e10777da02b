"""`invoicer user create`: accounts from the command line (e.g. the first admin when sign-up is off)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from api.users import service as users
from api.users.schemas import UserCreate
from cli.stack import ensure_database
from core.config import get_settings
from core.db import connect
from core.logging import configure_logging
from core.models import Organization, Role

console = Console()
user_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)


@user_app.command("create")
def create(
    email: Annotated[str, typer.Option(help="Login email (stored in lower case).")],
    password: Annotated[str, typer.Option(help="At least 10 characters.", prompt=True, hide_input=True)],
    role: Annotated[Role, typer.Option(help="admin or employee.")] = Role.employee,
    name: Annotated[str | None, typer.Option(help="Display name (default: the email's local part).")] = None,
    organization: Annotated[str, typer.Option(help="Organization name; created when it does not exist.")] = "Default",
) -> None:
    """Create a user in an organization."""
    try:
        data = UserCreate(email=email, password=password, role=role, name=name or email.split("@")[0])
    except ValidationError as exc:
        console.print(f"[red]{exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}[/]")
        raise typer.Exit(2) from None
    asyncio.run(_create(data, organization))


async def _create(data: UserCreate, organization: str) -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    uri, server = ensure_database(settings, create=False)
    client, _ = await connect(settings, uri)
    try:
        org = await Organization.find_one(Organization.name == organization)
        if org is None:
            org = Organization(name=organization)
            await org.insert()
        user = await users.create_user(data, org.id)
        console.print(f"Created {user.role.value} [bold]{user.email}[/] in organization {org.name!r} ({org.id})")
    except users.EmailTaken:
        console.print(f"[red]An account with the email {data.email} exists already[/]")
        raise typer.Exit(1) from None
    finally:
        await client.close()
        if server:
            server.stop()


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")

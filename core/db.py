"""The MongoDB connection. The application only ever sees a URI: embedded SecantusDB or a real replica set."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from beanie import init_beanie

from core.config import Settings
from core.models import DOCUMENT_MODELS
from core.storage import ensure_indexes as ensure_file_indexes


def make_client(uri: str, **kwargs: object) -> AsyncMongoClient:
    # tz_aware: datetimes come back as aware UTC, the only kind the code handles.
    return AsyncMongoClient(uri, tz_aware=True, **kwargs)


async def connect(
    settings: Settings, uri: str | None = None, *, create_indexes: bool | None = None, **client_options: object
) -> tuple[AsyncMongoClient, AsyncDatabase]:
    """Open a client and bind the Beanie documents to the configured database. Indexes are `migrate`'s
    (`invoicer migrate`, run once before the services); a process creates them itself only when
    `create_indexes` (default MIGRATE_ON_START) says so, as tests and one-machine setups do."""
    uri = uri or settings.mongodb_uri
    if not uri:
        raise RuntimeError("MONGODB_URI is not set; start the embedded database with `invoicer db` or `invoicer up`")
    client = make_client(uri, **client_options)
    database = client[settings.mongodb_db]
    create_indexes = settings.migrate_on_start if create_indexes is None else create_indexes
    await init_beanie(database=database, document_models=DOCUMENT_MODELS, skip_indexes=not create_indexes)
    if create_indexes:
        await ensure_file_indexes(database)
    return client, database


async def migrate(settings: Settings, uri: str | None = None) -> None:
    """Create every index the flow needs (idempotent): the one step `invoicer migrate` runs before the services."""
    client, _ = await connect(settings, uri, create_indexes=True)
    await client.close()


def describe_database(uri: str, database: str) -> str:
    """Which database a command uses, for a person: the URI without its password, and the database name."""
    parsed = urlsplit(uri)
    if parsed.password is not None:
        host = parsed.netloc.rsplit("@", 1)[1]
        parsed = parsed._replace(netloc=f"{parsed.username}:***@{host}")
    return f"{urlunsplit(parsed)} database {database!r}"

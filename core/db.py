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
    settings: Settings, uri: str | None = None, **client_options: object
) -> tuple[AsyncMongoClient, AsyncDatabase]:
    """Open a client, bind the Beanie documents to the configured database and ensure indexes."""
    uri = uri or settings.mongodb_uri
    if not uri:
        raise RuntimeError("MONGODB_URI is not set; start the embedded database with `invoicer db` or `invoicer up`")
    client = make_client(uri, **client_options)
    database = client[settings.mongodb_db]
    await init_beanie(database=database, document_models=DOCUMENT_MODELS)
    await ensure_file_indexes(database)
    return client, database


def describe_database(uri: str, database: str) -> str:
    """Which database a command uses, for a person: the URI without its password, and the database name."""
    parsed = urlsplit(uri)
    if parsed.password is not None:
        host = parsed.netloc.rsplit("@", 1)[1]
        parsed = parsed._replace(netloc=f"{parsed.username}:***@{host}")
    return f"{urlunsplit(parsed)} database {database!r}"

"""Fixtures shared by every suite: a real SecantusDB server, a fresh database per test, real processes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from core.config import Settings
from core.db import connect
from core.embedded import EmbeddedServer, free_port, start_embedded
from tests.support import Process, base_env, wait_http

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    log = tmp_path_factory.mktemp("secantus") / "secantusd.log"
    server = start_embedded(":memory:", durable=False, log_file=log)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongo_uri(mongo_server: EmbeddedServer) -> str:
    return mongo_server.uri


@pytest.fixture
def db_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(db_name: str, tmp_path: Path, mongo_uri: str) -> Settings:
    return Settings(
        env="test", mongodb_uri=mongo_uri, mongodb_db=db_name, data_dir=tmp_path / "data",
        jwt_secret="test-secret-please-change-0123456789abcdef",
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator:
    """A fresh database on the shared server, with the Beanie documents bound to it."""
    client, database = await connect(settings)
    yield database
    await client.drop_database(settings.mongodb_db)
    await client.close()


@pytest.fixture
def start_process(tmp_path: Path, mongo_uri: str, db_name: str) -> Iterator[Callable[..., Process]]:
    """Start real `invoicer …` processes on this test's database; all are stopped at teardown."""
    started: list[Process] = []

    def start(*args: str, **env_overrides: str) -> Process:
        env = base_env(mongo_uri, db_name, tmp_path / "data", **env_overrides)
        proc = Process(list(args), env, tmp_path / f"{args[0]}-{len(started)}.log").start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def start_api(start_process: Callable[..., Process]) -> Callable[..., str]:
    """Start `invoicer api` on a free port and return its base URL once /health answers."""

    def start(**env_overrides: str) -> str:
        port = free_port()
        proc = start_process("api", "--port", str(port), **env_overrides)
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/health", process=proc)
        return base

    return start

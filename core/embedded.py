"""Start the embedded SecantusDB server as a child process, for `make up` and the tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_uri(port: int, host: str = "127.0.0.1") -> str:
    # retryWrites=false: SecantusDB 0.7's write rate collapses with retryable writes on (DESIGN.md).
    return f"mongodb://{host}:{port}/?retryWrites=false&directConnection=true"


def _server_binary() -> str:
    beside_python = Path(sys.executable).with_name("secantusd-py")
    return str(beside_python) if beside_python.exists() else (shutil.which("secantusd-py") or "secantusd-py")


@dataclass
class EmbeddedServer:
    process: subprocess.Popen
    port: int
    storage: str

    @property
    def uri(self) -> str:
        return embedded_uri(self.port)

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_embedded(
    storage: str | Path,
    port: int | None = None,
    *,
    durable: bool = True,
    log_file: Path | None = None,
    wait_seconds: float = 30.0,
) -> EmbeddedServer:
    """Start `secantusd-py` and wait until it answers a ping.

    `durable` turns on --sync-on-commit: without it a SIGKILL loses the last ~100 ms of
    acknowledged writes. `storage=":memory:"` is for tests.
    """
    port = port or free_port()
    storage = str(storage)
    if storage != ":memory:":
        Path(storage).mkdir(parents=True, exist_ok=True)
    cmd = [_server_binary(), "--host", "127.0.0.1", "--port", str(port), "--storage-path", storage,
           "--log-level", "WARNING"]
    if durable:
        cmd.append("--sync-on-commit")
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL
    process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = EmbeddedServer(process=process, port=port, storage=storage)
    wait_until_ready(server.uri, wait_seconds, process)
    return server


def answers(uri: str, timeout_ms: int = 300) -> bool:
    """Whether a database answers a ping at `uri` within `timeout_ms`."""
    try:
        with MongoClient(uri, serverSelectionTimeoutMS=timeout_ms) as client:
            client.admin.command("ping")
        return True
    except PyMongoError:
        return False


def wait_until_ready(uri: str, wait_seconds: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"secantusd-py exited with code {process.returncode} during start-up")
        try:
            with MongoClient(uri, serverSelectionTimeoutMS=500) as client:
                client.admin.command("ping")
            return
        except PyMongoError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the database at {uri} did not answer within {wait_seconds:.0f} s") from None
            time.sleep(0.1)

"""Helpers for tests that run real processes: the `invoicer` CLI as subprocesses, waiting on HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

INVOICER = str(Path(sys.executable).with_name("invoicer"))
REPO = Path(__file__).resolve().parents[1]
TEST_JWT_SECRET = "test-secret-please-change-0123456789abcdef"


def base_env(mongo_uri: str, db_name: str, data_dir: Path, **overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "ENV": "test",
        "MONGODB_URI": mongo_uri,
        "MONGODB_DB": db_name,
        "JWT_SECRET": TEST_JWT_SECRET,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "INFO",
        "OMP_THREAD_LIMIT": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(overrides)
    return env


@dataclass
class Process:
    """A real `invoicer …` process with its output in a log file (printed when a test fails)."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = field(default=None, init=False)

    def start(self) -> Process:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(
            [INVOICER, *self.args], env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int:
        assert self.popen is not None
        return self.popen.wait(timeout)

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.popen is None:
            return None
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_http(url: str, timeout: float = 30.0, process: Process | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and not process.alive():
            raise RuntimeError(f"process exited before {url} answered:\n{process.log()[-4000:]}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout} s")
        time.sleep(0.1)

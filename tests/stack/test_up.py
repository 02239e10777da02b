"""`invoicer up` as a newcomer runs it: embedded database, API and watcher; Ctrl-C stops all of them."""

from __future__ import annotations

import os
import signal
import subprocess

import httpx
import pytest

from core.embedded import free_port
from tests.support import INVOICER, REPO, wait_http


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.add(int(entry))
    return found


@pytest.mark.slow
def test_up_serves_docs_keeps_data_and_stops_cleanly_on_ctrl_c(tmp_path):
    api_port, db_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URI", "JWT_SECRET")}
    env.update(DATA_DIR=str(tmp_path / "data"), API_PORT=str(api_port), EMBEDDED_DB_PORT=str(db_port),
               MONGODB_DB="up_test", LOG_LEVEL="WARNING")

    def start() -> subprocess.Popen:
        proc = subprocess.Popen([INVOICER, "up"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        wait_http(f"http://127.0.0.1:{api_port}/health", timeout=90)
        return proc

    def stop(proc: subprocess.Popen) -> str:
        children = _children(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, output
        assert all(not os.path.exists(f"/proc/{c}") or "Z" in open(f"/proc/{c}/stat").read().split()[2] for c in children)
        return output

    proc = start()
    docs = httpx.get(f"http://127.0.0.1:{api_port}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    email = "first@example.com"
    assert httpx.post(f"http://127.0.0.1:{api_port}/api/v1/auth/register", json={
        "email": email, "password": "a long password", "name": "F", "organization": "O"}).status_code == 201
    output = stop(proc)
    assert f"/docs" in output and "Invoicer is up" in output
    assert (tmp_path / "data" / "db").is_dir()

    proc = start()  # the second run reuses the data
    login = httpx.post(f"http://127.0.0.1:{api_port}/api/v1/auth/login",
                       data={"username": email, "password": "a long password"})
    assert login.status_code == 200
    stop(proc)

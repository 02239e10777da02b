"""`invoicer up` as a newcomer runs it: embedded database, API and watcher; Ctrl-C stops all of them."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import re
import signal
import subprocess
import time

import httpx
import pytest
import socketio
from PIL import Image

from core.config import Settings
from core.db import connect
from core.embedded import answers, embedded_uri, free_port, start_embedded
from tests.support import INVOICER, REPO, wait_http
from tests.watcher.extractors import SCRIPTED
from tests.watcher.support import queue_invoices

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


def up_env(tmp_path, database: str, **settings: str) -> tuple[dict[str, str], int, int]:  # noqa: ANN001
    """The environment of an `invoicer up` of its own (its database, ports and data), and its two ports."""
    api_port, db_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URI", "JWT_SECRET")}
    env.update({"DATA_DIR": str(tmp_path / "data"), "API_PORT": str(api_port), "EMBEDDED_DB_PORT": str(db_port),
                "MONGODB_DB": database, "LOG_LEVEL": "INFO", **settings})
    return env, api_port, db_port


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
    env, api_port, _ = up_env(tmp_path, "up_test", LOG_LEVEL="WARNING")

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


@pytest.mark.slow
async def test_one_ctrl_c_lets_a_running_job_finish_and_no_secret_reaches_the_logs(tmp_path):
    """Ctrl-C in a terminal signals the whole foreground group; `invoicer up` alone must take it, and stop the
    watcher once, so that a job already running gets SHUTDOWN_GRACE_SECONDS and ends `processed`."""
    database = "ctrl_c"
    env, api_port, db_port = up_env(tmp_path, database, WATCHER_TEST_EXTRACTOR=SCRIPTED, PYTHONPATH=str(REPO),
                                    WATCHER_CONCURRENCY="1", SHUTDOWN_GRACE_SECONDS="30", PYTHONUNBUFFERED="1")
    # The database outlives `up` (which leaves one it did not start running), so the outcome can be read after.
    server = start_embedded(tmp_path / "data" / "db", db_port)
    log_path = tmp_path / "up.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([INVOICER, "up"], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        base = f"http://127.0.0.1:{api_port}/api/v1"
        wait_http(f"http://127.0.0.1:{api_port}/health", timeout=90)
        password = "correct horse battery staple 42"
        registered = httpx.post(f"{base}/auth/register", json={
            "email": "ctrl-c@example.com", "password": password, "name": "C", "organization": "O"})
        assert registered.status_code == 201, registered.text
        login = httpx.post(f"{base}/auth/login", data={"username": "ctrl-c@example.com", "password": password})
        tokens = login.json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        image = io.BytesIO()
        Image.new("RGB", (64, 64), "white").save(image, "PNG")
        uploaded = httpx.post(f"{base}/invoices", headers=headers, json={
            "filename": "a.png", "content_base64": base64.b64encode(image.getvalue()).decode()})
        assert uploaded.status_code == 202, uploaded.text
        httpx.get(f"{base}/invoices", params={"access_token": tokens["access_token"]})  # a token where it does not go
        live = socketio.AsyncClient(reconnection=False)  # the realtime side: a token in the Socket.IO auth
        await live.connect(f"http://127.0.0.1:{api_port}", auth={"token": tokens["access_token"]}, wait_timeout=10)
        await live.disconnect()
        async with httpx.AsyncClient(timeout=10) as http:  # and on the SSE stream, with a `since`
            async with http.stream("GET", f"{base}/events", headers=headers,
                                   params={"since": "2024-01-01T00:00:00Z"}) as stream:
                assert stream.status_code == 200

        client, db = await connect(Settings(mongodb_uri=embedded_uri(db_port), mongodb_db=database))
        try:
            started = tmp_path / "job-started"
            [slow] = await queue_invoices(db, [f"sleep 5 {started}".encode()])
            deadline = time.monotonic() + 60
            while not started.exists():  # running in a worker, not only claimed (those are handed back at once)
                assert time.monotonic() < deadline and proc.poll() is None, log_path.read_text()
                await asyncio.sleep(0.1)
            os.killpg(proc.pid, signal.SIGINT)  # one Ctrl-C, to the whole group, as a terminal sends it
            assert await asyncio.to_thread(proc.wait, 60) == 0, log_path.read_text()
        finally:
            await client.close()
        client, db = await connect(Settings(mongodb_uri=embedded_uri(db_port), mongodb_db=database))
        invoice = await db["invoices"].find_one({"_id": slow})
        await client.close()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        server.stop()

    output = log_path.read_text()
    assert invoice["status"] == "processed", (invoice, output[-4000:])
    assert [step["status"] for step in invoice["status_history"]] == ["processing", "processed"]
    assert "second stop signal" not in output and "handed" not in output
    assert f"invoice {slow} attempt 1: processed in" in output
    # Nothing secret in any process's log: not the password, not a token, not the generated JWT secret.
    secret = (tmp_path / "data" / "jwt_secret").read_text().strip()
    for value in (password, tokens["access_token"], tokens.get("refresh_token") or password, secret):
        assert value not in output
    # Log lines carry a timestamp; the banner is never wrapped, whatever the width of a file.
    log_lines = [line for line in output.splitlines() if " INFO " in line or " WARNING " in line]
    assert log_lines and all(TIMESTAMP.match(line) for line in log_lines), log_lines[:5]
    [database_line] = [line for line in output.splitlines() if line.strip().startswith("Database:")]
    assert "directConnection=true" in database_line and f"'{database}'" in database_line


@pytest.mark.slow
def test_up_starts_the_embedded_database_again_when_it_dies(tmp_path):
    env, api_port, db_port = up_env(tmp_path, "restart")
    proc = subprocess.Popen([INVOICER, "up"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{api_port}/health", timeout=90)
        [database] = [pid for pid in _children(proc.pid) if "secantusd" in _cmdline(pid)]
        os.kill(database, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            again = [pid for pid in _children(proc.pid) if pid != database and "secantusd" in _cmdline(pid)]
            if again and answers(embedded_uri(db_port)):
                break
            assert time.monotonic() < deadline, "the database was not started again"
            time.sleep(0.2)
        registered = httpx.post(f"http://127.0.0.1:{api_port}/api/v1/auth/register", json={
            "email": "after@example.com", "password": "a long passphrase 7", "name": "A", "organization": "O"},
            timeout=30)
        assert registered.status_code == 201, registered.text
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "starting it again" in output and "is back" in output


def _cmdline(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/cmdline").read()
    except OSError:
        return ""


def test_commands_use_the_project_database_wherever_they_run_and_never_start_an_empty_one(tmp_path):
    """A relative DATA_DIR is the checkout's, not the working directory's; `invoicer user create` with a
    DATA_DIR where no database exists says so instead of quietly starting a new, empty database."""
    assert Settings(data_dir=".data").data_dir == REPO / ".data"
    env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URI", "JWT_SECRET")}
    env.update(DATA_DIR=str(tmp_path / "nothing-here"), EMBEDDED_DB_PORT=str(free_port()))
    created = subprocess.run([INVOICER, "user", "create", "--email", "a@example.com", "--password",
                              "a long passphrase 7"], env=env, cwd=tmp_path, capture_output=True, text=True,
                             timeout=60)
    assert created.returncode == 2, created
    assert f"no database in {tmp_path / 'nothing-here' / 'db'}" in created.stderr
    assert not (tmp_path / "nothing-here" / "db").exists()

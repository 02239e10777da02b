"""The OpenAPI document tells the truth: schemathesis 4, every check, against a real `invoicer api` process.

A bounded number of examples per operation keeps the run to about a minute; the event stream is left out
(it never ends; tests/realtime covers it). Any finding fails the test, with schemathesis' report printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.embedded import free_port
from tests.factories import invoice_jpeg, register_org, upload_json
from tests.support import wait_http

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES_PER_OPERATION = 25


def test_schemathesis_finds_nothing(start_process, tmp_path):
    port = free_port()
    # Generated requests register and log in thousands of times: the throttles would answer 429 to most.
    api = start_process("api", "--port", str(port), REGISTRATIONS_PER_HOUR="1000000", LOGIN_ATTEMPTS_PER_MINUTE="1000000")
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health", process=api)
    admin = register_org(url)
    invoice = upload_json(admin, invoice_jpeg("contract")).json()

    result = subprocess.run(
        [SCHEMATHESIS, "--config-file", str(CONFIG), "run", f"{url}/openapi.json",
         "--checks", "all", "--max-examples", str(EXAMPLES_PER_OPERATION), "--workers", "1",
         "--header", f"Authorization: Bearer {admin.tokens['access_token']}",
         "--exclude-path", "/api/v1/events", "--request-timeout", "30", "--no-color",
         "--report-dir", str(tmp_path / "report")],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,  # its example cache stays out of the tree
        env={**os.environ, "INVOICE_ID": invoice["id"], "USER_ID": admin.user["id"]},
    )
    print(result.stdout[-4000:])  # the summary, shown with -s
    assert result.returncode == 0, f"schemathesis found problems:\n{result.stdout[-20000:]}\n{result.stderr[-3000:]}"
    assert "passed" in result.stdout
    assert "Traceback" not in api.log(), api.log()[-5000:]

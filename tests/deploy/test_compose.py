"""docker-compose.yml is safe by default: settings from .env, the API on localhost only, TLS in a profile,
no open sign-up, a real init, health checks (MongoDB waits for PRIMARY; the watcher's /healthz), memory
limits, and the indexes created by a migrate service before the services start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import REPO

APP_SERVICES = ("migrate", "api", "watcher")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_every_service_has_init_a_memory_limit_and_settings_from_env(compose):
    for name, service in compose["services"].items():
        assert service.get("init") is True, name
        assert service.get("mem_limit"), name
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert [entry["path"] for entry in service["env_file"]] == [".env"], name
        assert service["environment"]["ALLOW_SIGNUP"].endswith(":-false}"), name  # off unless .env says so
        assert service["environment"]["MIGRATE_ON_START"] == "false", name


def test_the_api_listens_on_localhost_unless_told_and_tls_is_a_profile(compose):
    [port] = compose["services"]["api"]["ports"]
    assert port.startswith("${API_BIND:-127.0.0.1}:")
    caddy = compose["services"]["caddy"]
    assert caddy["profiles"] == ["tls"]
    caddyfile = Path(REPO / caddy["volumes"][0].split(":")[0])
    assert caddyfile.is_file() and "reverse_proxy api:8000" in caddyfile.read_text()


def test_health_checks_mongo_waits_for_primary_and_the_watcher_has_healthz(compose):
    mongo = " ".join(compose["services"]["mongo"]["healthcheck"]["test"])
    assert "isWritablePrimary" in mongo and "quit(1)" in mongo
    watcher = compose["services"]["watcher"]
    assert "/healthz" in " ".join(watcher["healthcheck"]["test"])
    assert watcher["environment"]["WATCHER_METRICS_PORT"] == "9101"
    assert "/ready" in " ".join(compose["services"]["api"]["healthcheck"]["test"])


def test_migrate_runs_once_before_the_services(compose):
    assert compose["services"]["migrate"]["command"] == ["invoicer", "migrate"]
    assert compose["services"]["migrate"]["restart"] == "no"
    for name in ("api", "watcher"):
        depends = compose["services"][name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["mongo"]["condition"] == "service_healthy"


def test_the_image_installs_locked_dependencies_without_the_embedded_database_and_serves_the_web_app():
    dockerfile = (REPO / "Dockerfile").read_text()
    lock = (REPO / "deploy" / "requirements.lock").read_text()
    assert "pip install --require-hashes --no-deps -r deploy/requirements.lock" in dockerfile
    assert dockerfile.index("requirements.lock") < dockerfile.index("COPY core")  # a layer code changes keep
    assert "\nsecantusdb==" not in lock.lower() and "\npymongo==" in lock
    assert "npm run build --workspace web" in dockerfile and "COPY --from=web /clients/web/dist" in dockerfile

"""Settings and secrets: production needs a real secret, secrets never print, the dev secret is private."""

from __future__ import annotations

import stat
import subprocess

import pytest
from pydantic import ValidationError

from core.config import Settings
from core.security import hash_password, verify_password
from tests.support import INVOICER


def test_production_refuses_a_short_secret_and_never_prints_secrets():
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None, env="production", jwt_secret="x", llm_api_key="sk-very-secret-key")
    assert "at least 32 bytes" in str(raised.value)
    assert "sk-very-secret-key" not in str(raised.value)
    settings = Settings(_env_file=None, env="production", jwt_secret="s" * 32, llm_api_key="sk-very-secret-key",
                        metrics_token="metrics-secret")
    assert "sk-very-secret-key" not in repr(settings) and "metrics-secret" not in repr(settings)
    assert "s" * 32 not in repr(settings)


def test_a_start_up_error_prints_no_secret(tmp_path):
    result = subprocess.run(
        [INVOICER, "api", "--port", "1"], capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ENV": "production", "JWT_SECRET": "short-secret-value",
             "LLM_API_KEY": "sk-leaky-key-123", "MONGODB_URI": "mongodb://127.0.0.1:1"},
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "32 bytes" in output
    assert "sk-leaky-key-123" not in output and "short-secret-value" not in output


def test_the_development_secret_is_private_from_its_first_byte(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    secret = settings.resolved_jwt_secret()
    assert len(secret) >= 32 and settings.resolved_jwt_secret() == secret
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "data" / "jwt_secret").stat().st_mode) == 0o600


def test_passwords_longer_than_bcrypt_reads_still_count_every_byte():
    stored = hash_password("p" * 80 + "one")
    assert verify_password("p" * 80 + "one", stored) and not verify_password("p" * 80 + "two", stored)

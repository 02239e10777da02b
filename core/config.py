"""The one settings class. Every knob is an environment variable (or a line in `.env`)."""

from __future__ import annotations

import ipaddress
import os
import secrets
import time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


MIN_PRODUCTION_SECRET_BYTES = 32
PROJECT_DIR = Path(__file__).resolve().parents[1]  # the checkout (or install) that holds core/


class Settings(BaseSettings):
    # hide_input_in_errors: a start-up error must not print the values it was given (secrets among them).
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    env: Literal["development", "production", "test"] = "development"
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one JSON object per line, for log shippers
    # Relative paths are taken from the project folder, not the working directory (see `_anchor_data_dir`).
    data_dir: Path = Path(".data")

    # Database. Unset MONGODB_URI means: start (or reuse) the embedded SecantusDB.
    mongodb_uri: str | None = None
    mongodb_db: str = "invoicer"
    embedded_db_port: int = 27117  # where `invoicer db` / `invoicer up` serve the embedded database

    # HTTP
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Addresses (or CIDR networks) of reverse proxies whose X-Forwarded-For is believed; others' is ignored.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Bearer token for /metrics and the details of /ready (an admin's access token works too). Unset: admins only.
    metrics_token: SecretStr | None = None
    database_timeout_ms: int = 2000  # server selection on request paths: answer 503 quickly when the DB is away
    sse_connections_per_user: int = 10  # live event streams one user may hold open; more are answered 429

    # Auth
    jwt_secret: SecretStr | None = None
    jwt_algorithm: str = "HS256"
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    allow_signup: bool = True
    login_attempts_per_minute: int = 10  # failed logins per account and per address
    registrations_per_hour: int = 60  # sign-ups per address

    # Upload limits
    max_upload_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 80_000_000
    max_pdf_pages: int = 50  # also the limit for frames of a multi-page image (TIFF)
    upload_checks_at_once: int = 2  # uploads whose bytes are checked at the same time; others wait their turn

    # Limits on what a person writes
    max_text_field_chars: int = 1000  # a corrected text field (vendor name, address, …)
    max_line_items: int = 500
    max_money_digits: int = 18  # significant digits of an amount; at most 4 of them after the point

    # Watcher
    watcher_concurrency: int = 0  # 0 = one worker per CPU core
    watcher_prefetch: int = 2
    lease_seconds: float = 60.0
    job_timeout_seconds: float = 120.0
    max_attempts: int = 3
    migrate_on_start: bool = True  # create indexes in every process at start; off where `invoicer migrate` runs first
    max_lease_expiries: int = 5  # leases lost to dead watchers before an invoice fails (they cost no attempt)
    retry_base_seconds: float = 5.0
    sweep_interval_seconds: float = 30.0
    orphan_sweep_interval_seconds: float = 3600.0  # how often stored files no invoice names are deleted
    orphan_grace_seconds: float = 3600.0  # a file younger than this may still be waiting for its invoice
    shutdown_grace_seconds: float = 20.0
    worker_memory_mb: int = 1500  # address space per extraction worker; a file needing more fails; 0 = no limit
    heartbeat_seconds: float = 5.0
    watcher_group: str = "default"  # the watchers that split the buckets of work between them
    watcher_metrics_port: int = 0  # serve the watcher's Prometheus metrics on this port; 0 = off
    # Test-only: a dotted path to a replacement for extraction.extract. Refused in production.
    watcher_test_extractor: str | None = None

    # Extraction
    ocr_engine: Literal["auto", "tesseract", "rapidocr"] = "auto"
    ocr_languages: str = "eng"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_seconds: float = 30.0
    # Push notifications to phones through Expo's push HTTP API (https://exp.host/--/api/v2/push/send, or a relay
    # that speaks it); unset: no pushes are sent.
    expo_push_url: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, values: dict) -> dict:
        for name in ("cors_origins", "trusted_proxies"):
            raw = values.get(name) if isinstance(values, dict) else None
            if isinstance(raw, str):
                values[name] = [o.strip() for o in raw.split(",") if o.strip()]
        return values

    @model_validator(mode="after")
    def _anchor_data_dir(self) -> Settings:
        # `invoicer user create` run from another folder must find the same database, not start an empty one.
        # In a checkout that is the project folder; an installed package has none (set DATA_DIR there).
        if not self.data_dir.is_absolute() and (PROJECT_DIR / "pyproject.toml").is_file():
            self.data_dir = PROJECT_DIR / self.data_dir
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(f"TRUSTED_PROXIES: {value!r} is not an IP address or CIDR network") from None
        return values

    @model_validator(mode="after")
    def _production_needs_secret(self) -> Settings:
        if self.env == "production":
            if not self.jwt_secret:
                raise ValueError("JWT_SECRET is required when ENV=production")
            if len(self.jwt_secret.get_secret_value().encode()) < MIN_PRODUCTION_SECRET_BYTES:
                raise ValueError(
                    f"JWT_SECRET must be at least {MIN_PRODUCTION_SECRET_BYTES} bytes when ENV=production "
                    "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
            if self.watcher_test_extractor:
                raise ValueError("WATCHER_TEST_EXTRACTOR is a test setting; it is refused when ENV=production")
        return self

    def resolved_jwt_secret(self) -> str:
        """The configured secret, or (development) one generated once and kept in the data dir."""
        if self.jwt_secret:
            return self.jwt_secret.get_secret_value()
        path = self.data_dir / "jwt_secret"
        if not path.exists():
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            try:
                # Created 0600 from its first byte; O_EXCL: when two processes race, one writes and both read it.
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as secret_file:
                    secret_file.write(secrets.token_urlsafe(48))
        for _ in range(50):  # a racing process may have created the file and not written it yet
            if secret := path.read_text().strip():
                return secret
            time.sleep(0.02)
        raise RuntimeError(f"{path} is empty; delete it and start again")


@lru_cache
def get_settings() -> Settings:
    return Settings()

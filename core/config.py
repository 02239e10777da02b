"""The one settings class. Every knob is an environment variable (or a line in `.env`)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parents[1]  # the checkout (or install) that holds core/

class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

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

    # Auth
    jwt_secret: str | None = None
    jwt_algorithm: str = "HS256"
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    allow_signup: bool = True
    login_attempts_per_minute: int = 10

    # Upload limits
    max_upload_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 80_000_000
    max_pdf_pages: int = 50

    # Watcher
    watcher_concurrency: int = 0  # 0 = one worker per CPU core
    watcher_prefetch: int = 2
    lease_seconds: float = 60.0
    job_timeout_seconds: float = 120.0
    max_attempts: int = 3
    retry_base_seconds: float = 5.0
    sweep_interval_seconds: float = 30.0
    orphan_sweep_interval_seconds: float = 3600.0  # how often stored files no invoice names are deleted
    orphan_grace_seconds: float = 3600.0  # a file younger than this may still be waiting for its invoice
    shutdown_grace_seconds: float = 20.0
    worker_memory_mb: int = 1500  # address space per extraction worker; a file needing more fails; 0 = no limit
    heartbeat_seconds: float = 5.0
    watcher_group: str = "default"  # the name a group of watchers keeps its change-stream resume token under
    watcher_metrics_port: int = 0  # serve the watcher's Prometheus metrics on this port; 0 = off
    # Test-only: a dotted path to a replacement for extraction.extract. Refused in production.
    watcher_test_extractor: str | None = None

    # Extraction
    ocr_engine: Literal["auto", "tesseract", "rapidocr"] = "auto"
    ocr_languages: str = "eng"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout_seconds: float = 30.0

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, values: dict) -> dict:
        raw = values.get("cors_origins") if isinstance(values, dict) else None
        if isinstance(raw, str):
            values["cors_origins"] = [o.strip() for o in raw.split(",") if o.strip()]
        return values

    @model_validator(mode="after")
    def _anchor_data_dir(self) -> Settings:
        # `invoicer user create` run from another folder must find the same database, not start an empty one.
        # In a checkout that is the project folder; an installed package has none (set DATA_DIR there).
        if not self.data_dir.is_absolute() and (PROJECT_DIR / "pyproject.toml").is_file():
            self.data_dir = PROJECT_DIR / self.data_dir
        return self

    @model_validator(mode="after")
    def _production_needs_secret(self) -> Settings:
        if self.env == "production":
            if not self.jwt_secret:
                raise ValueError("JWT_SECRET is required when ENV=production")
            if self.watcher_test_extractor:
                raise ValueError("WATCHER_TEST_EXTRACTOR is a test setting; it is refused when ENV=production")
        return self

    def resolved_jwt_secret(self) -> str:
        """The configured secret, or (development) one generated once and kept in the data dir."""
        if self.jwt_secret:
            return self.jwt_secret
        path = self.data_dir / "jwt_secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()

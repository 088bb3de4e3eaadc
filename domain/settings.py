"""The one settings class, read from PLANTOPS_* environment variables."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLANTOPS_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of an external PostgreSQL; unset runs the embedded one.",
    )
    temporal_address: str | None = Field(
        default=None,
        description="host:port of an external Temporal frontend; unset runs the dev server.",
    )
    temporal_namespace: str = "default"
    task_queue: str = "plantops"
    data_dir: Path = Field(default=Path(".plantops"), description="Embedded data folder.")
    pg_port: int = Field(default=5433, description="Port of the embedded PostgreSQL.")
    temporal_port: int = Field(default=7233, description="gRPC port of the dev server.")
    temporal_ui_port: int = Field(default=8233, description="Web UI port of the dev server.")
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_url: str | None = Field(default=None, description="Base URL used in links.")
    secret_key: str | None = Field(
        default=None,
        description="Signs tokens and session cookies; generated under data_dir when unset.",
    )
    token_ttl_minutes: int = Field(default=480, ge=1)
    session_ttl_minutes: int = Field(default=720, ge=1)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "plantops@localhost"
    log_level: str = "INFO"

    @property
    def web_url(self) -> str:
        return self.public_url or f"http://{self.api_host}:{self.api_port}"

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept under the data folder."""
        if self.secret_key:
            return self.secret_key
        import secrets

        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()

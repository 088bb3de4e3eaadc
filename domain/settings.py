"""The one settings class, read from PLANTOPS_* environment variables."""

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from domain.rules.sign_in import SignInLimits

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
    api_workers: int = Field(
        default=1, ge=1, le=64, description="API processes; one per core serves more at once."
    )
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
    twilio_account_sid: str | None = Field(
        default=None, description="Enables SMS, WhatsApp, voice."
    )
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = Field(default=None, description="Sender for SMS and voice.")
    twilio_whatsapp_from: str | None = Field(default=None, description="WhatsApp sender number.")
    twilio_api_base: str | None = Field(
        default=None, description="Another base URL for the Twilio API (a relay or recorder)."
    )
    provider_timeout_seconds: float = Field(
        default=20,
        gt=0,
        description="Longest wait for the mail server or Twilio at each step of one send.",
    )
    response_g1_minutes: int = Field(default=15, ge=1, description="G1 time to accept.")
    response_g2_minutes: int = Field(default=120, ge=1, description="G2 time to accept.")
    response_g3_minutes: int = Field(default=480, ge=1, description="G3 time to accept.")
    maintenance_window_weekday: int = Field(
        default=5, ge=0, le=6, description="G4 waits for this weekday (0 Monday), site time."
    )
    maintenance_window_hour: int = Field(default=6, ge=0, le=23)
    voice_call_after_seconds: int = Field(
        default=300, ge=1, description="H1: call the supervisor if unacknowledged this long."
    )
    workflow_sandbox: bool = Field(
        default=False,
        description="Run workflows in Temporal's sandbox, which checks every call at run time "
        "(about a fifth of the worker's CPU); the test suite always runs them in it.",
    )
    sensor_raw_retention_days: int = Field(
        default=90, ge=1, le=3650, description="Raw sensor readings are kept this many days."
    )
    summary_every_hours: int = Field(default=4, ge=1, description="H3 summary email period.")
    daily_digest_hour_utc: int = Field(default=6, ge=0, le=23, description="H4 digest hour.")
    demo: bool = Field(
        default=False, description="Demo mode: the demo machines keep producing (set by up)."
    )
    rex_due_days: int = Field(
        default=7, ge=1, le=365, description="An approved REX is due this long after approval."
    )
    idempotency_ttl_hours: int = Field(
        default=24, ge=1, le=720, description="How long a write's Idempotency-Key is kept."
    )
    kpi_period_days: int = Field(
        default=30, ge=1, le=3660, description="The anomaly KPIs cover this many last days."
    )
    log_level: str = "INFO"
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated proxy addresses or networks whose X-Forwarded-For is "
        "believed for the client address (sign-in limits); empty believes none.",
    )
    sign_in_slow_after: int = Field(default=5, ge=1, description="Failures before waits grow.")
    sign_in_first_wait_seconds: float = Field(
        default=1.0, gt=0, description="Wait after the first slowed failure; doubles each time."
    )
    sign_in_lock_after: int = Field(default=10, ge=1, description="Failures that lock a pair.")
    sign_in_window_minutes: int = Field(default=15, ge=1, description="Failures count this long.")
    sign_in_lock_minutes: int = Field(default=15, ge=1, description="How long a lock lasts.")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        from domain.rules.sign_in import parse_networks

        parse_networks(value)  # a typo fails at start, not silently at the first request
        return value

    @property
    def web_url(self) -> str:
        return self.public_url or f"http://{self.api_host}:{self.api_port}"

    def response_times(self):
        from datetime import timedelta

        from domain.rules.criticality import ResponseTimes

        return ResponseTimes(
            timedelta(minutes=self.response_g1_minutes),
            timedelta(minutes=self.response_g2_minutes),
            timedelta(minutes=self.response_g3_minutes),
            self.maintenance_window_weekday,
            self.maintenance_window_hour,
        )

    def sign_in_limits(self) -> "SignInLimits":
        from datetime import timedelta

        from domain.rules.sign_in import SignInLimits

        return SignInLimits(
            slow_after=self.sign_in_slow_after,
            first_wait=timedelta(seconds=self.sign_in_first_wait_seconds),
            lock_after=self.sign_in_lock_after,
            window=timedelta(minutes=self.sign_in_window_minutes),
            lock_for=timedelta(minutes=self.sign_in_lock_minutes),
        )

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

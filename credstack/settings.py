"""Settings from environment variables (prefix ``CREDSTACK_``); read only by web/ and cli/.

Every setting is documented in README.md (a test checks that none is left out).
"""

from __future__ import annotations

import os
import secrets
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CREDSTACK_", extra="ignore")

    database_url: str = "sqlite:///./var/credstack.db"
    base_url: str = "http://127.0.0.1:8000"
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key material that encrypts signing keys at rest. Without it, a random "
        "key is created once in var/secret.key (mode 0600) for development.",
    )
    secret_key_file: Path = Path("var/secret.key")
    email_backend: Literal["console", "smtp"] = "console"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    mail_from: str = "credstack <no-reply@credstack.localhost>"
    reminder_days: list[int] = [60, 30, 7]
    mail_interval_seconds: float = Field(default=5.0, ge=0)
    remote_enabled: bool = False
    remote_allowlist: list[str] = []
    remote_timeout_seconds: float = 5.0
    remote_max_bytes: int = 2_000_000
    max_body_bytes: int = 5_000_000
    jobs: Literal["auto", "inline", "procrastinate"] = "auto"
    signing_processes: int = Field(default=0, ge=0)
    verify_cache_seconds: float = Field(default=5.0, ge=0)
    session_days: int = Field(
        default=14,
        ge=1,
        le=365,
        description="How long a web sign-in lasts (the session cookie and its server row).",
    )

    def secret(self) -> bytes:
        """The at-rest encryption secret (created once for development if unset)."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode("utf-8")
        path = self.secret_key_file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
        return path.read_text("utf-8").strip().encode("utf-8")

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def use_procrastinate(self) -> bool:
        return self.jobs == "procrastinate" or (self.jobs == "auto" and self.is_postgres)


@cache
def get_settings() -> Settings:
    return Settings()

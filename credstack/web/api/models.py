"""Request and response bodies of the HTTP API (wire shapes, camelCase where OB is)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        """Text columns cannot hold NUL (PostgreSQL refuses it): refuse it up front."""
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class ProfileUpdate(Body):
    name: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=500)
    email: str | None = Field(default=None, max_length=320)
    description: str | None = None


class AchievementIn(Body):
    key: str = Field(
        max_length=100, description="Stable key; each definition is a new version of it."
    )
    definition: dict[str, Any] = Field(description="Open Badges 3.0 Achievement JSON.")
    validity_days: int | None = Field(
        default=None, ge=1, le=36_525, description="validUntil = issue + days"
    )
    publish: bool = True


class EvidenceIn(Body):
    id: str | None = None
    name: str | None = None
    narrative: str | None = None
    description: str | None = None


class AwardIn(Body):
    achievement: str = Field(description="Achievement version id, or its key (latest).")
    recipient_email: str | None = Field(default=None, max_length=320)
    recipient_did: str | None = Field(default=None, max_length=500)
    learner_name: str | None = Field(default=None, max_length=200)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    activity_start: datetime | None = None
    activity_end: datetime | None = None
    credits_earned: float | None = None
    evidence: list[EvidenceIn] = []
    result: str | None = Field(
        default=None, description="A result value, if the achievement defines a result description."
    )
    idempotency_key: str | None = Field(default=None, max_length=200)


class StatusChange(Body):
    reason: str | None = Field(default=None, max_length=2000, description="Kept private.")


class TokenIn(Body):
    name: str = "api"
    scopes: list[str] | None = None

"""Request and response bodies of the HTTP API (wire shapes, camelCase where OB is)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProfileUpdate(Body):
    name: str | None = None
    url: str | None = None
    email: str | None = None
    description: str | None = None


class AchievementIn(Body):
    key: str = Field(description="Stable key; each definition is a new version of it.")
    definition: dict[str, Any] = Field(description="Open Badges 3.0 Achievement JSON.")
    validity_days: int | None = Field(default=None, description="validUntil = issue + days")
    publish: bool = True


class EvidenceIn(Body):
    id: str | None = None
    name: str | None = None
    narrative: str | None = None
    description: str | None = None


class AwardIn(Body):
    achievement: str = Field(description="Achievement version id, or its key (latest).")
    recipient_email: str | None = None
    recipient_did: str | None = None
    learner_name: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    activity_start: datetime | None = None
    activity_end: datetime | None = None
    credits_earned: float | None = None
    evidence: list[EvidenceIn] = []
    result: str | None = Field(
        default=None, description="A result value, if the achievement defines a result description."
    )
    idempotency_key: str | None = None


class StatusChange(Body):
    reason: str | None = Field(default=None, max_length=2000, description="Kept private.")


class TokenIn(Body):
    name: str = "api"
    scopes: list[str] | None = None

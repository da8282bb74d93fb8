"""The platform context every use case runs in: repositories, identity and the world.

Built by the composition roots (web/ and cli/) from one database session; services
receive it as an argument and never build adapters themselves.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from credstack.crypto.did import VerificationMethod
from credstack.domain.platform import Award
from credstack.domain.ports import (
    AchievementRepository,
    AwardRepository,
    Clock,
    KeyRepository,
    OrganizationRepository,
    Outbox,
    StackingRepository,
    StatusListRepository,
    TokenRepository,
)
from credstack.services.status import StatusResolver


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Platform:
    orgs: OrganizationRepository
    keys: KeyRepository
    achievements: AchievementRepository
    awards: AwardRepository
    status_lists: StatusListRepository
    tokens: TokenRepository
    base_url: str
    secret: bytes
    clock: Clock = utc_now
    rng: random.Random = field(default_factory=random.SystemRandom)
    remote_dids: Callable[[str], VerificationMethod | None] | None = None
    remote_status: StatusResolver | None = None
    outbox: Outbox | None = None
    stacking: StackingRepository | None = None
    #: Called after an award is made, revoked, suspended or reinstated (``event`` says
    #: which); the stacking engine re-evaluates the stacks it touches.
    on_change: Callable[[Platform, Award, str], None] | None = None

    def now(self) -> datetime:
        return self.clock()

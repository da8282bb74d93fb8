"""The verification API's per-process cache (decision 0013) over a real database: what it
keeps, when it looks again, and that the process sees its own revocations at once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from credstack.crypto import status_list
from credstack.db.session import session_factory, transaction
from credstack.domain.platform import Award
from credstack.services import awards
from credstack.services.organizations import rotate_key
from credstack.services.verifying import verify
from credstack.web.api.vcapi import VerifyCache
from tests.conftest import BASE_URL, SECRET
from tests.db.support import define, issue, new_org, platform_over


@dataclass
class Ticking:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingSessions:
    """A session factory that counts the sessions it opens."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self.opened = 0

    def __call__(self) -> Session:
        self.opened += 1
        return self.factory()


@dataclass
class World:
    factory: sessionmaker[Session]
    slug: str
    award: Award

    @property
    def credential(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.award.document)
        return loaded

    @contextmanager
    def committed(self) -> Iterator[Any]:
        with transaction(self.factory) as session:
            yield platform_over(session)


@pytest.fixture
def world(engine: Engine) -> World:
    """An organization with one credential, committed (a cache reads with its own sessions)."""
    factory = session_factory(engine)
    slug = f"cache-{uuid.uuid4().hex[:8]}"
    with transaction(factory) as session:
        found = platform_over(session)
        org = new_org(found, slug)
        award = issue(found, org, define(found, org), recipient_did="did:example:learner")
    return World(factory, slug, award)


def cache_of(world: World, ttl: float, clock: Ticking | None = None) -> tuple[VerifyCache, Any]:
    sessions = CountingSessions(world.factory)
    cache = VerifyCache(
        sessions,  # type: ignore[arg-type]
        base_url=BASE_URL,
        ttl=ttl,
        clock=clock or Ticking(),
    )
    return cache, sessions


def codes(cache: VerifyCache, credential: dict[str, Any]) -> list[str]:
    return [c.code for c in verify(credential, cache.options()).failed()]


def flip_bit_elsewhere(world: World, list_id: str, index: int) -> None:
    """Another process revokes: the row changes, nothing in this process hears of it."""
    with world.committed() as other:
        state = other.status_lists.get(list_id)
        assert state is not None
        bits = bytearray(state.bits)
        status_list.set_status(bits, index, 1)
        other.status_lists.save(replace(state, bits=bytes(bits), version=state.version + 1))


def test_once_cached_a_verification_opens_no_database_session(world: World) -> None:
    cache, sessions = cache_of(world, ttl=60)
    assert codes(cache, world.credential) == []
    assert cache.covers(world.credential)
    opened = sessions.opened

    for _ in range(20):
        assert codes(cache, world.credential) == []

    assert sessions.opened == opened


def test_with_a_ttl_of_zero_a_revocation_by_another_process_shows_at_once(world: World) -> None:
    cache, _ = cache_of(world, ttl=0)
    assert codes(cache, world.credential) == []
    assert not cache.covers(world.credential)  # nothing is ever fresh: the thread pool

    flip_bit_elsewhere(world, world.award.revocation_list_id, world.award.status_index)

    assert codes(cache, world.credential) == ["status.revoked"]


def test_a_revocation_by_another_process_shows_once_the_ttl_has_passed(world: World) -> None:
    clock = Ticking()
    cache, sessions = cache_of(world, ttl=5, clock=clock)
    assert codes(cache, world.credential) == []
    flip_bit_elsewhere(world, world.award.revocation_list_id, world.award.status_index)

    clock.now += 4
    assert codes(cache, world.credential) == []  # still within the TTL: the cached list
    clock.now += 2
    opened = sessions.opened
    assert codes(cache, world.credential) == ["status.revoked"]
    assert sessions.opened > opened


def test_an_unchanged_list_is_revalidated_by_its_version_and_kept(world: World) -> None:
    clock = Ticking()
    cache, _ = cache_of(world, ttl=5, clock=clock)
    assert codes(cache, world.credential) == []
    url = world.credential["credentialStatus"][0]["statusListCredential"]
    before = cache.status(url, world.award.issued_at)

    clock.now += 10
    after = cache.status(url, world.award.issued_at)

    assert before is not None
    assert after is before  # the same decoded list: only its version was read


def test_this_process_sees_its_own_revocation_and_suspension_at_once(world: World) -> None:
    cache, _ = cache_of(world, ttl=3600)
    assert codes(cache, world.credential) == []

    with world.committed() as found:
        awards.suspend(found, awards.get_award(found, world.award.id))
    assert codes(cache, world.credential) == ["status.suspended"]

    with world.committed() as found:
        awards.revoke(found, awards.get_award(found, world.award.id), "fraud")
    assert codes(cache, world.credential) == ["status.revoked", "status.suspended"]


def test_a_key_added_after_the_document_was_cached_is_found(world: World) -> None:
    clock = Ticking()
    cache, _ = cache_of(world, ttl=3600, clock=clock)
    assert codes(cache, world.credential) == []
    with world.committed() as found:
        org = found.orgs.by_slug(world.slug)
        assert org is not None
        rotate_key(found.keys, org, secret=SECRET, now=found.now())
        record = found.achievements.of(org.id)[0]
        newer = issue(found, org, record, recipient_did="did:example:other")

    clock.now += 1  # the cached document is a second old now
    assert codes(cache, json.loads(newer.document)) == []
    assert codes(cache, world.credential) == []  # the old key stays in the document


def test_credentials_of_other_issuers_are_not_covered(world: World) -> None:
    cache, _ = cache_of(world, ttl=60)
    foreign = {**world.credential}
    foreign["proof"] = [{**world.credential["proof"][0], "verificationMethod": "did:web:x#k"}]
    assert codes(cache, world.credential) == []

    assert cache.covers(world.credential)
    assert not cache.covers(foreign)
    assert "proof.invalid" in codes(cache, foreign)

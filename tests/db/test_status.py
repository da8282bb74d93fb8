"""Revocation and suspension over a real database, including writers that overlap."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import Engine

from credstack.crypto import status_list
from credstack.db.session import session_factory, transaction
from credstack.domain.errors import Conflict
from credstack.services import awards
from credstack.services.platform import Platform
from tests.conftest import Clock
from tests.db.support import ScriptedRandom, check, define, issue, new_org, platform_over


def _bit(platform: Platform, list_id: str, index: int) -> int:
    state = platform.status_lists.get(list_id)
    assert state is not None
    return status_list.get_status(state.bits, index)


def test_a_revoked_award_fails_verification_with_status_revoked(
    platform: Platform, clock: Clock
) -> None:
    org = new_org(platform)
    award = issue(platform, org, define(platform, org))
    before = platform.status_lists.get(award.revocation_list_id)
    clock.advance(hours=1)
    revoked = awards.revoke(platform, award, "copied the project")
    assert revoked.revoked_at == platform.now()
    assert revoked.revocation_reason == "copied the project"
    assert _bit(platform, award.revocation_list_id, award.status_index) == 1
    assert _bit(platform, award.suspension_list_id, award.status_index) == 0
    after = platform.status_lists.get(award.revocation_list_id)
    assert before is not None
    assert after is not None
    assert after.version == before.version + 1
    assert after.updated_at == platform.now()
    result = check(platform, award)
    assert not result.verified
    assert [c.code for c in result.failed()] == ["status.revoked"]


def test_suspension_is_reversible(platform: Platform) -> None:
    org = new_org(platform)
    award = issue(platform, org, define(platform, org))
    suspended = awards.suspend(platform, award)
    assert suspended.suspended
    assert [c.code for c in check(platform, award).failed()] == ["status.suspended"]
    reinstated = awards.suspend(platform, suspended, suspended=False)
    assert not reinstated.suspended
    assert _bit(platform, award.suspension_list_id, award.status_index) == 0
    assert check(platform, award).verified


def test_a_revoked_award_cannot_be_reinstated(platform: Platform) -> None:
    org = new_org(platform)
    award = awards.revoke(platform, issue(platform, org, define(platform, org)))
    with pytest.raises(Conflict, match="revoked"):
        awards.suspend(platform, award, suspended=False)


def test_changing_the_status_of_one_award_leaves_its_neighbours_alone(platform: Platform) -> None:
    org = new_org(platform)
    record = define(platform, org)
    one, two = issue(platform, org, record), issue(platform, org, record)
    awards.revoke(platform, one)
    awards.suspend(platform, two)
    assert _bit(platform, one.revocation_list_id, two.status_index) == 0
    assert _bit(platform, one.suspension_list_id, one.status_index) == 0
    assert check(platform, one).codes().count("status.ok") == 1
    assert check(platform, two).codes().count("status.ok") == 1


def test_an_expired_award_fails_verification(platform: Platform, clock: Clock) -> None:
    org = new_org(platform)
    award = issue(platform, org, define(platform, org, validity_days=30))
    clock.advance(days=31)
    assert [c.code for c in check(platform, award).failed()] == ["validity.expired"]
    clock.advance(days=-31)
    assert check(platform, award).verified


def test_a_revocation_committed_while_another_award_is_issued_is_kept(engine: Engine) -> None:
    """Issuing rewrites the list row it allocates from; it must not undo a fresh revocation."""
    factory = session_factory(engine)
    slug = f"race-{uuid.uuid4().hex[:8]}"
    with transaction(factory) as session:
        setup = platform_over(session)
        org = new_org(setup, slug)
        record = define(setup, org)
        first = issue(setup, org, record)

    def revoke_first_elsewhere() -> None:
        with transaction(factory) as other:
            elsewhere = platform_over(other)
            awards.revoke(elsewhere, awards.get_award(elsewhere, first.id), "fraud")

    with transaction(factory) as session:
        racing = platform_over(session, rng=ScriptedRandom(before=revoke_first_elsewhere))
        second = issue(racing, org, record)

    with factory() as session:
        later = platform_over(session)
        assert _bit(later, first.revocation_list_id, first.status_index) == 1
        assert "status.revoked" in check(later, first).codes()
        assert check(later, awards.get_award(later, second.id)).verified


def test_revocations_made_at_the_same_time_on_one_list_all_stick(engine: Engine) -> None:
    factory = session_factory(engine)
    with transaction(factory) as session:
        setup = platform_over(session)
        org = new_org(setup, f"burst-{uuid.uuid4().hex[:8]}")
        record = define(setup, org)
        issued = [issue(setup, org, record) for _ in range(8)]
    start = threading.Barrier(len(issued))
    failures: list[BaseException] = []

    def revoke(award_id: str) -> None:
        start.wait()
        try:
            with transaction(factory) as unit_session:
                unit = platform_over(unit_session)
                awards.revoke(unit, awards.get_award(unit, award_id))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=revoke, args=(a.id,)) for a in issued]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    with factory() as session:
        later = platform_over(session)
        bits = [_bit(later, a.revocation_list_id, a.status_index) for a in issued]
    assert bits == [1] * len(issued)


def test_revoking_again_keeps_the_first_revocation_and_its_reason(
    platform: Platform, clock: Clock
) -> None:
    org = new_org(platform)
    first = awards.revoke(platform, issue(platform, org, define(platform, org)), "fraud")
    clock.advance(days=1)
    again = awards.revoke(platform, first)
    assert (again.revoked_at, again.revocation_reason) == (first.revoked_at, "fraud")

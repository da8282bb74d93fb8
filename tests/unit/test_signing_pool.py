"""The signing pool (decision 0013): the same results as signing in this process, a dead
worker does not lose a batch, and workers do not outlive a runner killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from credstack.crypto.keys import ed25519_from_seed
from credstack.domain.achievements import Profile
from credstack.domain.credentials import RecipientDid, build_credential
from credstack.services import bulk
from credstack.services.catalog import data_analyst_stack
from credstack.services.verifying import VerifyOptions, data_integrity
from credstack.signing_pool import SigningPool

DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def batch_of(count: int) -> bulk.SigningBatch:
    key = ed25519_from_seed(bytes(range(32)))
    achievement = data_analyst_stack("https://bench.credstack.example").components[0]
    documents = [
        build_credential(
            credential_id=f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
            issuer=Profile(id=key.controller, name="Pool College"),
            achievement=achievement,
            recipient=RecipientDid(f"did:example:learner-{n}"),
            valid_from=WHEN,
        )
        for n in range(count)
    ]
    return bulk.SigningBatch(key, key.public, WHEN, documents)


def verified(text: str) -> bool:
    check, _ = data_integrity(json.loads(text), VerifyOptions(now=WHEN))
    return check.ok


def test_the_pool_signs_like_this_process_in_order() -> None:
    batch = batch_of(9)
    here = bulk.sign_documents(batch)

    with SigningPool(2, chunk=2, min_batch=1) as pool:
        pooled = pool(batch)()

    assert [ok for ok, _ in pooled] == [True] * 9
    assert [json.loads(t)["id"] for _, t in pooled] == [json.loads(t)["id"] for _, t in here]
    assert all(verified(text) for _, text in pooled)


def test_a_batch_whose_worker_died_is_signed_here_and_the_next_gets_a_new_pool() -> None:
    batch = batch_of(6)
    with SigningPool(2, chunk=1, min_batch=1) as pool:
        assert all(ok for ok, _ in pool(batch)())
        executor = pool._pool()
        for pid in list(executor._processes):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)

        again = pool(batch)()
        after = pool(batch)()

    assert [ok for ok, _ in again] == [True] * 6
    assert [ok for ok, _ in after] == [True] * 6


CHILD = """
import sys, time
from tests.unit.test_signing_pool import batch_of
from credstack.signing_pool import SigningPool
pool = SigningPool(2, chunk=1, min_batch=1)
pool(batch_of(4))()
print(" ".join(str(p) for p in pool._pool()._processes), flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_workers_die_with_a_runner_killed_with_sigkill() -> None:
    root = Path(__file__).resolve().parents[2]
    runner = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, cwd=root
    )
    assert runner.stdout is not None
    workers = [int(pid) for pid in runner.stdout.readline().split()]
    assert len(workers) == 2
    assert all(_alive(pid) for pid in workers)

    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=10)

    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)

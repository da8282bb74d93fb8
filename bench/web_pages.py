"""Server time of the learner's pages with a large wallet (issue #5, Performance).

Seeds a temporary SQLite database through the services: one college with 20 published
pathways of 11 components each, and a learner holding 200 of those credentials (10 per
pathway; the 11th, a capstone, is missing, so every pathway shows a map at 10 of 11),
all claimed into the learner's wallet. Then serves the app with uvicorn on 127.0.0.1 (one
process, no access log) and times, over one keep-alive connection, BENCH_PAGE_REQUESTS
(default 200) requests of

* ``GET /wallet`` signed in: 200 cards, each verified live, and 20 pathway maps;
* ``GET /credentials/{id}`` with ``Accept: text/html``: the public verification page.

The wallet is measured twice: with the verification cache of decision 0013 (the
default, ``CREDSTACK_VERIFY_CACHE_SECONDS=5``), and with it off (``0``: every card reads
its issuer's DID document and status lists from the database), which is the reference.
Times are the request latency seen by the client on loopback (the server's time plus a
fraction of a millisecond). ``main()`` returns the rows (figure, ours, reference, ratio,
target).
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REQUESTS = int(os.environ.get("BENCH_PAGE_REQUESTS", "200"))
PATHWAYS = 20
PER_PATHWAY = 10
LEARNER = "ada.bench@example.org"
PASSWORD = "bench password of the learner"  # noqa: S105 - a throwaway bench account
SECRET = "bench-secret-bench-secret-bench-secret"  # noqa: S105 - a throwaway database
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pathway(i: int) -> dict[str, Any]:
    """Pathway ``i``: ten skills (the first a prerequisite of the last) and a capstone."""
    components: list[dict[str, Any]] = [
        {
            "kind": "achievement",
            "id": f"c{k}",
            "achievementId": f"urn:bench:{i}:{k}",
            "name": f"Skill {i}.{k}",
            "credits": 1,
            **({"prerequisites": ["c0"]} if k == PER_PATHWAY - 1 else {}),
        }
        for k in range(PER_PATHWAY)
    ]
    components.append(
        {"kind": "achievement", "id": "capstone", "achievementId": f"urn:bench:{i}:capstone",
         "name": f"Capstone {i}", "credits": 3, "prerequisites": ["c0", "c1"]}
    )  # fmt: skip
    ids = [c["id"] for c in components]
    return {
        "format": "credstack-pathway/1",
        "id": f"https://bench.example/pathways/{i}",
        "name": f"Bench Pathway {i:02d}",
        "description": "Ten skills and a capstone.",
        "version": 1,
        "orgId": "",
        "finalMilestone": "diploma",
        "components": components,
        "milestones": [
            {"id": "diploma", "name": f"Bench Diploma {i}", "achievementId": f"urn:bench:{i}:d",
             "achievementType": "Diploma", "requirement": {"kind": "all_of", "of": ids}},
        ],
    }  # fmt: skip


def seed(database_url: str, base_url: str) -> str:
    """The college, its pathways, the learner's 200 claimed credentials; one award id."""
    from credstack.db.accounts import AccountStore  # noqa: PLC0415 - keeps --help light
    from credstack.db.repositories import platform_for  # noqa: PLC0415
    from credstack.db.session import make_engine, session_factory, transaction, upgrade  # noqa: PLC0415
    from credstack.domain.pathways import AchievementComponent  # noqa: PLC0415
    from credstack.services import accounts, awards, pathway_catalog  # noqa: PLC0415
    from credstack.services.organizations import create_organization  # noqa: PLC0415

    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with transaction(session_factory(engine)) as session:
            # No stacking reaction while seeding: no milestone can be met (the capstones
            # are missing) and progress is computed when the wallet is read.
            found = platform_for(session, base_url=base_url, secret=SECRET.encode(), on_change=None)
            org = create_organization(
                found.orgs,
                found.keys,
                slug="bench-college",
                name="Bench College",
                secret=SECRET.encode(),
                now=datetime.now(UTC),
            )
            issuer = awards.issuer_of(found, org)
            first = ""
            for i in range(PATHWAYS):
                record, problems = pathway_catalog.import_pathway(
                    found, org, pathway(i), publish=True
                )
                assert not problems, problems
                for component in pathway_catalog.parsed(record).components:
                    if component.id == "capstone":
                        continue
                    assert isinstance(component, AchievementComponent)
                    achievement = pathway_catalog.key_of(found, org, component.achievement_id)
                    assert achievement is not None
                    award = awards.issue_award(
                        found, issuer, achievement, awards.AwardRequest(recipient_email=LEARNER)
                    )
                    first = first or award.id
            ctx = accounts.Accounts(found, AccountStore(session))
            user = accounts.sign_up(ctx, LEARNER, PASSWORD)
            assert user is not None
            ctx.store.mark_verified(user.id, datetime.now(UTC))
            verified = ctx.store.user(user.id)
            assert verified is not None
            claimed = accounts.claim_all(ctx, verified)
            assert len(claimed) == PATHWAYS * PER_PATHWAY, len(claimed)
        return first
    finally:
        engine.dispose()


def _server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", "credstack.web.main:app", "--host", "127.0.0.1",
        "--port", str(port), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_until_up(base: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not start")


def _sign_in(client: httpx.Client) -> None:
    form = client.get("/sign-in", headers=BROWSER)
    token = _CSRF.search(form.text)
    assert token, "no CSRF token on /sign-in"
    done = client.post(
        "/sign-in",
        data={"csrf_token": token.group(1), "email": LEARNER, "password": PASSWORD, "next": ""},
        headers=BROWSER,
    )
    assert done.status_code == 303, done.text[:300]


def _times(client: httpx.Client, path: str, check: str) -> list[float]:
    for _ in range(5):  # warm up: templates, contexts, caches
        assert check in client.get(path, headers=BROWSER).text
    found = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(path, headers=BROWSER)
        found.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    assert check in response.text
    return found


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(len(ordered) * 0.95) - 1)]


def measure(
    database_url: str, port: int, award_id: str, cache_seconds: str
) -> dict[str, list[float]]:
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CREDSTACK_DATABASE_URL": database_url,
        "CREDSTACK_BASE_URL": base,
        "CREDSTACK_SECRET_KEY": SECRET,
        "CREDSTACK_MAIL_INTERVAL_SECONDS": "0",
        "CREDSTACK_VERIFY_CACHE_SECONDS": cache_seconds,
    }
    server = _server(env, port)
    try:
        _wait_until_up(base)
        with httpx.Client(base_url=base, timeout=60) as client:
            _sign_in(client)
            wallet = _times(client, "/wallet", f"Your credentials ({PATHWAYS * PER_PATHWAY})")
            verify = _times(client, f"/credentials/{award_id}", "Verified")
    finally:
        server.terminate()
        server.wait(timeout=20)
    return {"wallet": wallet, "verify": verify}


def _rows(ours: dict[str, list[float]], uncached: dict[str, list[float]]) -> list[dict[str, Any]]:
    rows = []
    for page, label in (("wallet", "wallet page"), ("verify", "verification page")):
        for stat, measure_of in (("median", statistics.median), ("p95", _p95)):
            mine = measure_of(ours[page])
            ref = measure_of(uncached[page])
            rows.append(
                {
                    "figure": f"{label} ms ({stat})",
                    "ours": round(mine, 2),
                    "reference": round(ref, 2),
                    "ratio": round(ref / mine, 2) if mine else None,
                    "target": (
                        f"{PATHWAYS * PER_PATHWAY} cards verified live, {PATHWAYS} maps; "
                        "reference: verification cache off"
                        if page == "wallet"
                        else "GET /credentials/{id} as a browser; reference: cache off"
                    )
                    + f" ({len(ours[page])} requests)",
                }
            )
    return rows


def main() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'pages.db'}"
        port = _port()  # credential ids and DIDs name the base URL: one port for all runs
        print("seeding 200 credentials in 20 pathways …", file=sys.stderr)
        award_id = seed(url, f"http://127.0.0.1:{port}")
        print(f"timing the pages ({REQUESTS} requests each) …", file=sys.stderr)
        ours = measure(url, port, award_id, "5")
        uncached = measure(url, port, award_id, "0")
    rows = _rows(ours, uncached)
    for row in rows:
        print(f"  {json.dumps(row)}", file=sys.stderr)
    return rows


if __name__ == "__main__":
    for found in main():
        print(json.dumps(found))

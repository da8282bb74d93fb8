"""Bulk issuing over HTTP against the live server: upload, report, start, poll.

On SQLite the server runs a started job in a thread of its own; on PostgreSQL it defers
the job to procrastinate, and the test works the queue the way ``credstack worker --once``
does.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from credstack.domain.platform import ALL_SCOPES, Scope
from credstack.jobs import BulkRunner
from tests.conftest import SECRET, LiveServer
from tests.web.conftest import Tenant, TenantFactory


def learners(count: int) -> bytes:
    lines = [
        "email,name,credits_earned",
        *(f"bulk{i}@example.org,Learner {i},2" for i in range(count)),
    ]
    return ("\n".join(lines) + "\n").encode()


def upload(
    tenant: Tenant, achievement: str, data: bytes, name: str = "learners.csv"
) -> httpx.Response:
    return tenant.api.post(
        "/api/v1/bulk",
        data={"achievement": achievement},
        files={"file": (name, data, "text/csv")},
    )


def work_the_queue(server: LiveServer) -> None:
    """On PostgreSQL, what ``credstack worker --once`` does; on SQLite the server works."""
    settings = server.settings
    if not settings.use_procrastinate:
        return
    with BulkRunner.open(
        database_url=settings.database_url,
        base_url=settings.base_url,
        secret=SECRET,
        use_procrastinate=True,
    ) as runner:
        runner.work(once=True)


def poll_until_finished(tenant: Tenant, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = tenant.api.get(f"/api/v1/bulk/{job_id}")
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"bulk job {job_id} did not finish")


def test_an_upload_with_errors_gets_422_with_the_report_and_nothing_is_issued(
    tenant: Tenant,
) -> None:
    achievement = tenant.define()
    data = (
        b"email,name,awarded_date\n"
        b"ada@example.org,Ada,2026-02-30\n"
        b"nope,Bob,\n"
        b"ada@example.org,Ada,2026-02-30\n"
    )

    response = upload(tenant, achievement["id"], data)

    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid"
    report = body["report"]
    assert (report["total"], report["valid"]) == (3, 0)
    assert [(e["row"], e["column"]) for e in report["errors"]] == [
        (2, "awarded_date"),
        (3, "email"),
        (4, "awarded_date"),
    ]
    assert tenant.api.get("/api/v1/bulk").json() == []
    assert tenant.api.get("/api/v1/awards").json()["total"] == 0


def test_upload_report_start_and_poll_until_every_row_is_issued(
    tenant: Tenant, live_server: LiveServer
) -> None:
    achievement = tenant.define()

    uploaded = upload(tenant, achievement["key"], learners(25))

    assert uploaded.status_code == 201, uploaded.text
    job = uploaded.json()["job"]
    assert (job["state"], job["total"], job["issued"]) == ("validated", 25, 0)
    assert uploaded.json()["report"]["valid"] == 25
    assert tenant.api.get("/api/v1/awards").json()["total"] == 0
    report = tenant.api.get(f"/api/v1/bulk/{job['id']}/report")
    assert report.status_code == 200
    assert report.json()["validation"]["total"] == 25
    assert report.json()["failures"] == []

    started = tenant.api.post(f"/api/v1/bulk/{job['id']}/start")
    assert started.status_code == 202, started.text
    assert started.json()["state"] in ("queued", "running", "done")
    work_the_queue(live_server)
    finished = poll_until_finished(tenant, job["id"])

    assert (finished["state"], finished["issued"], finished["failed"]) == ("done", 25, 0)
    assert (finished["pending"], finished["progress"]) == (0, 1.0)
    listed = tenant.api.get("/api/v1/awards", params={"limit": 100}).json()
    assert listed["total"] == 25
    one = tenant.api.get(f"/api/v1/awards/{listed['awards'][0]['id']}").json()
    assert tenant.verify(one["credential"]).status_code == 200

    again = upload(tenant, achievement["id"], learners(25))
    assert again.status_code == 201
    assert tenant.api.post(f"/api/v1/bulk/{again.json()['job']['id']}/start").status_code == 202
    work_the_queue(live_server)
    rerun = poll_until_finished(tenant, again.json()["job"]["id"])
    assert (rerun["issued"], rerun["alreadyIssued"]) == (0, 25)
    assert tenant.api.get("/api/v1/awards").json()["total"] == 25
    assert [j["id"] for j in tenant.api.get("/api/v1/bulk").json()] in (
        [rerun["id"], finished["id"]],
        [finished["id"], rerun["id"]],
    )


def test_the_bulk_api_needs_the_bulk_scope_and_keeps_to_the_callers_organization(
    tenants: TenantFactory,
) -> None:
    owner = tenants()
    achievement = owner.define()
    job = upload(owner, achievement["id"], learners(2)).json()["job"]
    reader = tenants(scopes=ALL_SCOPES - {Scope.BULK})
    stranger = tenants()

    assert upload(reader, achievement["id"], learners(2)).status_code == 403
    assert reader.api.get(f"/api/v1/bulk/{job['id']}").status_code == 403
    assert stranger.api.get(f"/api/v1/bulk/{job['id']}").status_code == 404
    assert stranger.api.post(f"/api/v1/bulk/{job['id']}/start").status_code == 404
    assert upload(stranger, achievement["id"], learners(2)).status_code == 404


def test_an_unreadable_upload_is_refused(tenant: Tenant) -> None:
    achievement = tenant.define()

    response = upload(tenant, achievement["id"], b"\xff\xfe\x00\x01garbage", name="x.xlsx")

    assert response.status_code == 422
    assert "XLSX" in response.json()["detail"]

"""Analytics of the issuer console: the figures for a known dataset (credentials issued at
known times, a pathway whose stacks arrive by themselves), computed by the database on
SQLite and on PostgreSQL; the page with its SVG charts and tables; and each report as CSV.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from credstack.db.analytics import Analytics
from credstack.db.repositories import platform_for
from credstack.db.session import session_factory, transaction
from credstack.domain.platform import AchievementVersion, Organization, Role, StaffMember
from credstack.services import achievements, analytics, awards, pathway_catalog
from credstack.services.organizations import create_organization, profile_of
from credstack.services.platform import Platform
from tests.conftest import BASE_URL, NOW, SECRET, Clock
from tests.web.pages_support import Visitor, link_in_outbox, settings_for, site, unique_email

DAY = timedelta(days=1)


def define(
    found: Platform, org: Organization, key: str, name: str, days: int
) -> AchievementVersion:
    return achievements.define(
        found.achievements,
        org,
        key=key,
        definition={
            "type": ["Achievement"],
            "name": name,
            "description": f"About {name}.",
            "criteria": {"narrative": f"Earn {name}."},
            "creditsAvailable": 1.0,
        },
        creator=profile_of(org, found.base_url),
        base_url=found.base_url,
        now=found.now(),
        validity_days=days,
    )


def pathway(org: Organization, name: str = "Data Path") -> dict[str, Any]:
    """Components a and b; a foundation badge for a, the final certificate for both."""

    def ref(key: str) -> str:
        return pathway_catalog.key_url(BASE_URL, org.slug, key)

    return {
        "format": "credstack-pathway/1",
        "id": f"{BASE_URL}/orgs/{org.slug}/pathways/data",
        "name": name,
        "finalMilestone": "certificate",
        "components": [
            {"kind": "achievement", "id": "a", "achievementId": ref("a"), "credits": 1},
            {"kind": "achievement", "id": "b", "achievementId": ref("b"), "credits": 1},
        ],
        "milestones": [
            {
                "id": "foundation",
                "name": "Foundation Badge",
                "achievementId": "urn:x:foundation",
                "achievementType": "Badge",
                "requirement": {"kind": "all_of", "of": ["a"]},
            },
            {
                "id": "certificate",
                "name": "Data Certificate",
                "achievementId": "urn:x:certificate",
                "requirement": {"kind": "all_of", "of": ["a", "b"]},
            },
        ],
    }


@dataclass
class Dataset:
    org: Organization
    now: datetime
    issued: list[datetime]  # when every credential (stacks included) was issued


def seed(found: Platform, clock: Clock, name: str = "Data Path") -> Dataset:
    """The known dataset, ``clock.now`` being "now" (see each line for what it adds)."""
    now = clock.now
    org = create_organization(
        found.orgs, found.keys, slug=f"a-{uuid.uuid4().hex[:12]}", name="Analytic U",
        secret=SECRET, now=now - 60 * DAY,
    )  # fmt: skip
    clock.now = now - 40 * DAY
    a = define(found, org, "a", "Alpha", 45)
    b = define(found, org, "b", "Beta", 101)
    c = define(found, org, "c", "Gamma", 25)
    record, problems = pathway_catalog.import_pathway(found, org, pathway(org, name), publish=True)
    assert (problems, record.published) == ([], True)
    issuer = awards.issuer_of(found, org)
    issued: list[datetime] = []

    def give(achievement: AchievementVersion, who: str, days_ago: int) -> None:
        clock.now = now - days_ago * DAY
        request = awards.AwardRequest(recipient_email=f"{who}@{org.slug}.example")
        awards.issue_award(found, issuer, achievement, request)

    give(a, "l2", 30)  # + the foundation stack: valid until now+15 (both)
    give(a, "l1", 20)  # + the foundation stack: until now+25
    give(b, "l2", 20)  # until now+81; + the certificate stack, until now+15: 10 days
    give(a, "l4", 14)  # + the foundation stack: until now+31
    give(b, "l4", 10)  # until now+91; + the certificate stack, until now+31: 4 days
    give(b, "l3", 5)  # until now+96; enrolled, nothing met
    give(c, "l6", 3)  # revoked below: counted in its week, nowhere else
    give(c, "l5", 2)  # until now+23
    issued = [now - d * DAY for d in (30, 30, 20, 20, 20, 20, 14, 14, 10, 10, 5, 3, 2)]
    clock.now = now - 1 * DAY
    l6 = found.awards.for_recipient(org.id, [f"l6@{org.slug}.example"])
    awards.revoke(found, l6[0], "issued in error")
    clock.now = now
    return Dataset(org, now, issued)


def test_the_figures_of_a_known_dataset(platform: Platform, db: Session, clock: Clock) -> None:
    data = seed(platform, clock)
    repo = Analytics(db)

    report = analytics.report(repo, data.org, now=data.now, base_url=BASE_URL)

    assert report.now == NOW  # a Monday: the current week starts today
    assert [w.start for w in report.weeks][-1] == datetime(2026, 6, 1, tzinfo=UTC)
    assert report.weeks[0].start == datetime(2026, 6, 1, tzinfo=UTC) - timedelta(weeks=25)
    weekly = {w.start.date().isoformat(): w.count for w in report.weeks if w.count}
    assert weekly == {
        "2026-04-27": 2,  # l2's a and foundation (2 May)
        "2026-05-11": 4,  # l1's a and foundation, l2's b and certificate (12 May)
        "2026-05-18": 4,  # l4's a and foundation (18 May), b and certificate (22 May)
        "2026-05-25": 3,  # l3's b (27 May), l6's c (29 May, revoked since), l5's c (30 May)
    }
    assert sum(w.count for w in report.weeks) == len(data.issued)

    (funnel,) = report.funnels
    assert [(s.label, s.count) for s in funnel.steps] == [
        ("Enrolled", 4),
        ("Foundation Badge", 3),
        ("Completed: Data Certificate", 2),
    ]
    assert (funnel.enrolled, funnel.completed) == (4, 2)
    (completion,) = report.completions
    assert (completion.learners, completion.median_days) == (2, 7.0)  # 10 and 4 days
    # l1 (2), l2 (4), l3 (1), l4 (4), l5 (1) hold unrevoked credentials; l6 none
    assert (report.stacking.learners, report.stacking.stacking) == (5, 3)
    assert report.stacking.share == pytest.approx(0.6)
    # within 30: l1 a+foundation, l2 a+foundation+certificate, l5 c; 60: l4's three; 90: l2 b
    assert [(e.days, e.count) for e in report.expiring] == [(30, 6), (60, 9), (90, 10)]


def test_an_organization_without_data_gets_zeros_not_errors(
    platform: Platform, db: Session, clock: Clock
) -> None:
    org = create_organization(
        platform.orgs, platform.keys, slug="empty-org", name="Empty", secret=SECRET, now=NOW
    )
    report = analytics.report(Analytics(db), org, now=NOW, base_url=BASE_URL)
    assert len(report.weeks) == 26
    assert {w.count for w in report.weeks} == {0}
    assert (report.funnels, report.completions) == ((), ())
    assert (report.stacking.learners, report.stacking.share) == (0, None)
    assert [e.count for e in report.expiring] == [0, 0, 0]


def test_the_week_edges_are_mondays_at_midnight_utc() -> None:
    sunday_night = datetime(2026, 6, 7, 23, 59, tzinfo=UTC)
    edges = analytics.week_edges(sunday_night, weeks=2)
    assert edges == [
        datetime(2026, 5, 25, tzinfo=UTC),
        datetime(2026, 6, 1, tzinfo=UTC),
        datetime(2026, 6, 8, tzinfo=UTC),
    ]


# --- the page and its CSV -----------------------------------------------------------------


@pytest.fixture(scope="module")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    folder = tmp_path_factory.mktemp("analytics-pages")
    with site(settings_for(database_url, BASE_URL, folder)) as built:
        yield built


@pytest.fixture(scope="module")
def viewer(app: FastAPI, engine: Engine) -> tuple[Visitor, str]:
    email = unique_email("viewer")
    visitor = Visitor(app, BASE_URL)
    visitor.sign_up(email)
    visitor.get(link_in_outbox(engine, email, "/account/verify-email/"))
    assert visitor.sign_in(email).status_code == 303
    return visitor, email


@pytest.fixture
def seeded(engine: Engine, viewer: tuple[Visitor, str]) -> Dataset:
    """The known dataset (committed, "now" being the real time) with the viewer on staff."""
    clock = Clock(datetime.now(UTC))
    with transaction(session_factory(engine)) as session:
        found = platform_for(session, base_url=BASE_URL, secret=SECRET, clock=clock)
        data = seed(found, clock, name='Data, "Path" =1+1')
        found.orgs.add_staff(StaffMember(data.org.id, viewer[1], Role.VIEWER))
    return data


def csv_of(visitor: Visitor, org: Organization, report: str) -> list[dict[str, str]]:
    response = visitor.get(f"/console/{org.slug}/analytics/{report}?format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith(
        f'attachment; filename="{org.slug}-{report}-'
    )
    return list(csv.DictReader(io.StringIO(response.text)))


def test_the_analytics_page_draws_each_chart_with_its_numbers(
    viewer: tuple[Visitor, str], seeded: Dataset
) -> None:
    visitor, _ = viewer
    page = visitor.get(f"/console/{seeded.org.slug}/analytics")
    assert page.status_code == 200
    charts = re.findall(
        r'<svg [^>]*class="chart" role="img"[^>]*>\s*<title id="[^"]+">([^<]+)', page.text
    )
    assert charts == [
        "Credentials issued per week, last 26 weeks",
        "Data, &quot;Path&quot; =1+1 (version 1): learners at each step",
        "Median days to complete each pathway",
        "Learners by number of credentials",
        "Credentials expiring soon",
    ]
    assert "13 credentials issued in the last 26 weeks." in page.text
    assert "Enrolled: 4, Foundation Badge: 3, Completed: Data Certificate: 2." in page.text
    assert "<strong>60.0%</strong> of learners (3 of 5)" in page.text
    assert "6 within 30 days, 9 within 60 days, 10 within 90 days." in page.text
    assert "7.0 days over 2 learners" in page.text
    assert page.text.count('?format=csv" download>Download CSV') == 5
    assert re.search(r"<td>Within 60 days</td>|<td>60</td><td>9</td>", page.text)


def test_every_report_exports_as_csv_that_parses(
    viewer: tuple[Visitor, str], seeded: Dataset
) -> None:
    visitor, _ = viewer
    org = seeded.org
    weeks = csv_of(visitor, org, "awards-per-week")
    assert len(weeks) == 26
    assert sum(int(w["credentials"]) for w in weeks) == 13
    starts = [datetime.fromisoformat(w["week_start"]).replace(tzinfo=UTC) for w in weeks]
    for moment in seeded.issued:  # each credential sits in the week the CSV says
        (row,) = [w for w, s in zip(weeks, starts, strict=True) if s <= moment < s + 7 * DAY]
        assert int(row["credentials"]) > 0
    funnels = csv_of(visitor, org, "funnels")
    name = 'Data, "Path" =1+1'  # commas and quotes survive; it does not start a formula
    assert [(f["pathway"], f["step"], f["milestone"], f["learners"]) for f in funnels] == [
        (name, "Enrolled", "", "4"),
        (name, "Foundation Badge", "foundation", "3"),
        (name, "Completed: Data Certificate", "certificate", "2"),
    ]
    assert csv_of(visitor, org, "time-to-complete") == [
        {"pathway": 'Data, "Path" =1+1', "completions": "2", "median_days": "7.0"}
    ]
    assert csv_of(visitor, org, "stacking") == [
        {"learners_with_1_or_more": "5", "learners_with_2_or_more": "3", "share": "0.6"}
    ]
    assert csv_of(visitor, org, "expiring") == [
        {"within_days": "30", "credentials": "6"},
        {"within_days": "60", "credentials": "9"},
        {"within_days": "90", "credentials": "10"},
    ]
    raw = visitor.get(f"/console/{org.slug}/analytics/time-to-complete?format=csv").text
    assert raw.startswith('pathway,completions,median_days\r\n"Data, ""Path"" =1+1",2,7.0\r\n')


def test_a_formula_looking_name_is_defused_in_csv_and_unknown_reports_are_404(
    engine: Engine, viewer: tuple[Visitor, str]
) -> None:
    visitor, email = viewer
    clock = Clock(datetime.now(UTC))
    with transaction(session_factory(engine)) as session:
        found = platform_for(session, base_url=BASE_URL, secret=SECRET, clock=clock)
        data = seed(found, clock, name="=HYPERLINK(1)")
        found.orgs.add_staff(StaffMember(data.org.id, email, Role.VIEWER))
    (row,) = csv_of(visitor, data.org, "time-to-complete")
    assert row["pathway"] == "'=HYPERLINK(1)"
    missing = visitor.get(f"/console/{data.org.slug}/analytics/nothing?format=csv")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    html = visitor.get(f"/console/{data.org.slug}/analytics/funnels")
    assert (html.status_code, html.headers["location"]) == (
        303,
        f"/console/{data.org.slug}/analytics#funnels",
    )

"""The issuer console over real HTTP (the application under Starlette's test client, on
SQLite and PostgreSQL): roles from staff lists, CSRF, the achievement form and its live
preview, pathway import, editing, validation and graph, what-if and publishing, awarding,
revoking and suspending, bulk issuing with its progress, keys and status lists; and the
pathway graph's layout and SVG on their own."""

from __future__ import annotations

import html
import io
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import Response
from sqlalchemy import Engine, select

from credstack.db.repositories import platform_for
from credstack.db.session import session_factory, transaction
from credstack.db.tables import AchievementRow, AwardRow, PathwayRow
from credstack.domain.pathway_graph import layout, milestone_node
from credstack.domain.pathway_json import from_json
from credstack.domain.platform import AchievementVersion, Award, Organization, Role, StaffMember
from credstack.jobs import BulkRunner
from credstack.services import achievements, awards
from credstack.services.organizations import create_organization, profile_of
from credstack.services.pathway_catalog import key_url
from credstack.web.pages.graph_svg import render_svg
from tests.conftest import BASE_URL, SECRET
from tests.web.pages_support import Visitor, link_in_outbox, settings_for, site, unique_email

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "pathways"
HTMX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    folder = tmp_path_factory.mktemp("console-pages")
    with site(settings_for(database_url, BASE_URL, folder)) as built:
        yield built


def confirmed(app: FastAPI, engine: Engine, email: str) -> Visitor:
    """A person who signed up, confirmed the address from the email, and signed in."""
    visitor = Visitor(app, BASE_URL)
    assert visitor.sign_up(email).status_code == 303
    assert visitor.get(link_in_outbox(engine, email, "/account/verify-email/")).status_code == 303
    assert visitor.sign_in(email).status_code == 303
    return visitor


@dataclass
class People:
    """Signed-in browsers: an owner, an issuer, a viewer, and a learner on no staff list."""

    owner: Visitor
    issuer: Visitor
    viewer: Visitor
    stranger: Visitor
    emails: dict[Role, str]


@pytest.fixture(scope="module")
def people(app: FastAPI, engine: Engine) -> People:
    emails = {role: unique_email(role.value) for role in Role}
    owner, issuer, viewer = (confirmed(app, engine, emails[r]) for r in Role)
    stranger = confirmed(app, engine, unique_email("stranger"))
    return People(owner, issuer, viewer, stranger, emails)


def new_org(engine: Engine, people: People, name: str = "Console College") -> Organization:
    """A new organization whose staff list names the three people, one role each."""
    with transaction(session_factory(engine)) as session:
        found = platform_for(session, base_url=BASE_URL, secret=SECRET)
        org = create_organization(
            found.orgs,
            found.keys,
            slug=f"c-{uuid.uuid4().hex[:12]}",
            name=name,
            secret=SECRET,
            now=datetime.now(UTC),
        )
        for role, email in people.emails.items():
            found.orgs.add_staff(StaffMember(org.id, email, role))
    return org


@pytest.fixture
def org(engine: Engine, people: People) -> Organization:
    return new_org(engine, people)


def define(
    engine: Engine, org: Organization, key: str, name: str, **fields: Any
) -> AchievementVersion:
    with transaction(session_factory(engine)) as session:
        found = platform_for(session, base_url=BASE_URL, secret=SECRET)
        return achievements.define(
            found.achievements,
            org,
            key=key,
            definition={
                "type": ["Achievement"],
                "name": name,
                "description": f"About {name}.",
                "criteria": {"narrative": f"Earn {name}."},
                **fields,
            },
            creator=profile_of(org, BASE_URL),
            base_url=BASE_URL,
            now=datetime.now(UTC),
        )


def issue_to(engine: Engine, org: Organization, record: AchievementVersion, email: str) -> Award:
    with transaction(session_factory(engine)) as session:
        found = platform_for(session, base_url=BASE_URL, secret=SECRET)
        request = awards.AwardRequest(recipient_email=email, learner_name="Ada")
        return awards.issue_award(found, awards.issuer_of(found, org), record, request)


def stored_award(engine: Engine, award_id: str) -> AwardRow:
    with transaction(session_factory(engine)) as session:
        row = session.get(AwardRow, award_id)
        assert row is not None
        session.expunge(row)
        return row


def pre_json(page: str) -> Any:
    """The JSON shown in the page's first ``<pre>`` block."""
    shown = re.search(r"<pre[^>]*>(.*?)</pre>", page, re.S)
    assert shown is not None
    return json.loads(html.unescape(shown.group(1)))


def forbidden(response: Response, words: str = "") -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert words in response.text


# --- who may do what ------------------------------------------------------------------------


def test_the_console_lists_the_organizations_of_the_signed_in_staff(
    people: People, org: Organization
) -> None:
    home = people.viewer.get("/console")
    assert home.status_code == 200
    assert re.search(rf"<td>{org.name}</td>\s*<td>Viewer</td>", home.text)
    assert f'href="/console/{org.slug}"' in home.text

    overview = people.issuer.get(f"/console/{org.slug}")
    assert overview.status_code == 200
    assert "<h1>Console College</h1>" in overview.text
    for section in ("achievements", "pathways", "awards", "bulk", "keys", "analytics"):
        assert f'href="/console/{org.slug}/{section}"' in overview.text
    assert 'aria-current="page">Overview</a>' in overview.text


def test_only_the_organizations_staff_get_in(
    app: FastAPI, people: People, org: Organization
) -> None:
    forbidden(people.stranger.get(f"/console/{org.slug}"), "staff list does not")
    forbidden(people.stranger.get(f"/console/{org.slug}/awards"))
    forbidden(people.stranger.get("/console/no-such-org"))
    anonymous = Visitor(app, BASE_URL).get(f"/console/{org.slug}/awards")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/sign-in?next=/console/{org.slug}/awards"


def test_a_viewer_reads_everything_but_changes_nothing(
    engine: Engine, people: People, org: Organization
) -> None:
    record = define(engine, org, "sql", "SQL Fundamentals")
    award = issue_to(engine, org, record, unique_email())
    viewer = people.viewer
    for section in ("", "/achievements", "/pathways", "/awards", "/bulk", "/keys", "/analytics"):
        page = viewer.get(f"/console/{org.slug}{section}")
        assert page.status_code == 200, section
    assert "Issue credential" not in viewer.get(f"/console/{org.slug}/awards").text
    assert "Define an achievement" not in viewer.get(f"/console/{org.slug}/achievements").text

    base = f"/console/{org.slug}"
    forbidden(
        viewer.post(f"{base}/awards", {"achievement": record.id, "recipient": "a@example.org"}),
        "as viewer of Console College you cannot issue credentials",
    )
    forbidden(viewer.post(f"{base}/awards/{award.id}/revoke", {"reason": "no"}))
    forbidden(viewer.post(f"{base}/awards/{award.id}/suspend"))
    forbidden(viewer.post(f"{base}/achievements", {"name": "X", "description": "Y"}))
    forbidden(viewer.post(f"{base}/pathways/import", {"text": "{}"}))
    forbidden(viewer.post(f"{base}/keys/rotate"))
    assert stored_award(engine, award.id).revoked_at is None


def test_only_an_owner_rotates_the_signing_key(
    engine: Engine, people: People, org: Organization
) -> None:
    keys = f"/console/{org.slug}/keys"
    people.issuer.get(keys)
    forbidden(people.issuer.post(f"{keys}/rotate"), "rotate the signing key")
    page = people.owner.get(keys)
    assert page.text.count("yes, active") == 1
    rotated = people.owner.post(f"{keys}/rotate")
    assert rotated.status_code == 303
    after = people.owner.follow(rotated)
    assert "New signing key key-" in after.text
    assert after.text.count("yes, active") == 1
    assert after.text.count("kept for verification") == 1
    assert len(pre_json(after.text)["verificationMethod"]) == 2


def test_an_owner_sets_the_linkedin_organization_id(
    engine: Engine, people: People, org: Organization
) -> None:
    keys = f"/console/{org.slug}/keys"
    people.issuer.get(keys)
    forbidden(
        people.issuer.post(f"/console/{org.slug}/linkedin", {"organization_id": "1234"}),
        "set the LinkedIn organization id",
    )
    people.owner.get(keys)
    saved = people.owner.post(f"/console/{org.slug}/linkedin", {"organization_id": "98765"})
    assert saved.status_code == 303
    after = people.owner.follow(saved)
    assert "LinkedIn organization id set to 98765." in after.text
    assert 'value="98765"' in after.text
    refused = people.owner.post(f"/console/{org.slug}/linkedin", {"organization_id": "acme"})
    assert refused.status_code in (400, 422)


CSRF_FORMS = [
    "/achievements",
    "/achievements/preview",
    "/pathways/import",
    "/pathways/editor",
    "/pathways/check",
    "/pathways/publish",
    "/awards",
    "/awards/some-award/revoke",
    "/awards/some-award/suspend",
    "/awards/some-award/unsuspend",
    "/bulk",
    "/bulk/some-job/start",
    "/keys/rotate",
]


@pytest.mark.parametrize("path", CSRF_FORMS)
def test_every_console_form_without_the_csrf_token_is_refused(
    people: People, org: Organization, path: str
) -> None:
    owner = people.owner
    owner.get(f"/console/{org.slug}")
    response = owner.http.post(
        f"/console/{org.slug}{path}", data={"name": "x"}, headers={"Accept": "text/html"}
    )
    forbidden(response, "came from another site")
    forged = owner.http.post(
        f"/console/{org.slug}{path}", data={"csrf_token": "forged"}, headers=HTMX
    )
    assert forged.status_code == 403


# --- achievements -------------------------------------------------------------------------


ACHIEVEMENT_FORM = {
    "name": "Data Visualisation",
    "description": "Builds honest charts.",
    "criteria": "Pass the portfolio review.",
    "achievement_type": "MicroCredential",
    "credits": "2.5",
    "hours": "30",
    "level": "EQF 5",
    "ects": "2",
    "price": "49.00",
    "currency": "eur",
    "alignments": "Visualise data | https://skills.example/viz | V1\n\n",
    "validity_days": "730",
}


def test_the_live_preview_shows_the_ob3_json_or_the_problem_inline(
    people: People, org: Organization
) -> None:
    issuer = people.issuer
    issuer.get(f"/console/{org.slug}/achievements")
    url = f"/console/{org.slug}/achievements/preview"

    good = issuer.post(url, ACHIEVEMENT_FORM, headers=HTMX)
    assert good.status_code == 200
    assert "<html" not in good.text  # a fragment
    achievement = pre_json(good.text)
    assert achievement["name"] == "Data Visualisation"
    assert achievement["achievementType"] == "MicroCredential"
    assert (achievement["creditsAvailable"], achievement["ects"]) == (2.5, 2.0)
    assert achievement["price"] == {"amount": "49.00", "currency": "EUR"}
    assert achievement["alignment"][0]["targetCode"] == "V1"
    assert achievement["creator"]["name"] == "Console College"
    assert "version 1 of <code>data-visualisation</code>" in good.text
    assert "valid for 730 days" in good.text
    assert 'hx-swap-oob="innerHTML:#preview-status"' in good.text

    no_criteria = issuer.post(url, {**ACHIEVEMENT_FORM, "criteria": ""}, headers=HTMX)
    assert no_criteria.status_code == 200
    assert "Not valid yet." in no_criteria.text
    assert "Criteria: a narrative or an id" in no_criteria.text
    bad_price = issuer.post(url, {**ACHIEVEMENT_FORM, "currency": ""}, headers=HTMX)
    assert "Price: give an amount and a currency" in bad_price.text
    bad_credits = issuer.post(url, {**ACHIEVEMENT_FORM, "credits": "two"}, headers=HTMX)
    assert "Credits: enter a number" in bad_credits.text
    bad_type = issuer.post(url, {**ACHIEVEMENT_FORM, "achievement_type": "Trophy"}, headers=HTMX)
    assert "Achievement type: &#39;Trophy&#39; is not a known value" in bad_type.text


def test_publishing_the_form_defines_the_achievement_and_then_its_next_version(
    engine: Engine, people: People, org: Organization
) -> None:
    issuer = people.issuer
    issuer.get(f"/console/{org.slug}/achievements")
    url = f"/console/{org.slug}/achievements"

    preview = issuer.post(url, {**ACHIEVEMENT_FORM, "intent": "preview"})  # without JavaScript
    assert preview.status_code == 200
    assert "&#34;creditsAvailable&#34;: 2.5" in preview.text
    refused = issuer.post(url, {**ACHIEVEMENT_FORM, "name": ""})
    assert refused.status_code == 422
    assert "Name: must be a non-empty string" in refused.text
    assert 'value="Builds honest charts."' not in refused.text  # a textarea keeps it instead
    assert "Builds honest charts.</textarea>" in refused.text

    published = issuer.post(url, ACHIEVEMENT_FORM)
    assert published.status_code == 303
    listed = issuer.follow(published)
    assert "Published Data Visualisation (key data-visualisation, version 1)." in listed.text
    assert "<code>data-visualisation</code>" in listed.text
    again = issuer.post(url, {**ACHIEVEMENT_FORM, "key": "data-visualisation", "credits": "3"})
    assert "version 2" in issuer.follow(again).text
    with transaction(session_factory(engine)) as session:
        rows = session.scalars(
            select(AchievementRow)
            .where(AchievementRow.org_id == org.id)
            .order_by(AchievementRow.version)
        ).all()
        stored = [(r.key, r.version, r.published, r.validity_days, r.definition) for r in rows]
    assert [(k, v, p, d) for k, v, p, d, _ in stored] == [
        ("data-visualisation", 1, True, 730),
        ("data-visualisation", 2, True, 730),
    ]
    assert stored[1][4]["creditsAvailable"] == 3.0
    assert stored[0][4]["learningHours"] == 30.0


# --- pathways -------------------------------------------------------------------------------


def test_importing_a_pathway_with_problems_shows_them_inline_with_its_graph(
    engine: Engine, people: People, org: Organization
) -> None:
    issuer = people.issuer
    issuer.get(f"/console/{org.slug}/pathways")
    broken = (FIXTURES / "invalid.json").read_text()

    imported = issuer.post(
        f"/console/{org.slug}/pathways/import",
        files={"upload": ("broken.json", broken.encode(), "application/json")},
    )
    assert imported.status_code == 303, imported.text
    view = issuer.follow(imported)
    assert "Saved Broken version 1 as a draft. It has" in view.text
    assert "problems to fix before publishing" in view.text
    assert "component id &#39;python&#39; is defined 2 times" in view.text
    assert '<code class="code">prerequisite.cycle</code>' in view.text
    svg = re.search(r'<svg [^>]*class="pathway-graph" role="img".*?</svg>', view.text, re.S)
    assert svg is not None
    assert "<title id=" in svg.group(0)
    assert 'data-node="milestone:certificate"' in svg.group(0)
    assert "Publish version 1" not in view.text  # it cannot be published
    assert "If you publish this version" in view.text

    unusable = issuer.post(f"/console/{org.slug}/pathways/import", {"text": '{"name": "x"}'})
    assert unusable.status_code == 422
    assert "neither a credstack pathway" in unusable.text
    not_json = issuer.post(f"/console/{org.slug}/pathways/import", {"text": "{nope"})
    assert not_json.status_code == 422
    assert "this is not JSON" in not_json.text
    with transaction(session_factory(engine)) as session:
        versions = session.scalars(select(PathwayRow.version).where(PathwayRow.org_id == org.id))
        assert list(versions) == [1]


def test_the_check_fragment_validates_json_and_the_structured_form_without_storing(
    engine: Engine, people: People, org: Organization
) -> None:
    sql = define(engine, org, "sql", "SQL Fundamentals", creditsAvailable=2.0)
    python = define(engine, org, "python", "Python for Data")
    issuer = people.issuer
    issuer.get(f"/console/{org.slug}/pathways/new")
    url = f"/console/{org.slug}/pathways/check"

    ctdl = (FIXTURES / "data-analytics.ctdl.json").read_text()
    from_ctdl = issuer.post(url, {"source": "json", "text": ctdl}, headers=HTMX)
    assert from_ctdl.status_code == 200
    assert "<svg" in from_ctdl.text
    assert "SQL Fundamentals" in from_ctdl.text
    broken = issuer.post(url, {"source": "json", "text": "[1, 2]"}, headers=HTMX)
    assert "This cannot be read as a pathway." in broken.text

    form = {
        "source": "form",
        "name": "Data Path",
        "c0_id": "sql",
        "c0_achievement": key_url(BASE_URL, org.slug, sql.key),
        "c1_id": "py",
        "c1_achievement": key_url(BASE_URL, org.slug, python.key),
        "c1_credits": "1.5",
        "c1_prerequisites": "sql",
        "c2_id": "",
        "m0_name": "Data Certificate",
        "m0_rule": "credits",
        "m0_credits": "10",
    }
    checked = issuer.post(url, form, headers=HTMX)
    assert "10 credits required but the pool (sql, py) offers only 3.5" in checked.text
    assert '"prerequisites": [' in checked.text.replace("&#34;", '"')
    good = issuer.post(url, {**form, "m0_credits": "3.5"}, headers=HTMX)
    assert "No problems:" in good.text
    assert 'data-node="py"' in good.text
    assert 'data-node="milestone:data-certificate"' in good.text
    with transaction(session_factory(engine)) as session:
        assert session.scalars(select(PathwayRow).where(PathwayRow.org_id == org.id)).all() == []


def test_the_structured_editor_saves_a_draft_shows_what_if_and_publishes(
    engine: Engine, people: People, org: Organization
) -> None:
    sql = define(engine, org, "sql", "SQL Fundamentals", creditsAvailable=1.0)
    viz = define(engine, org, "viz", "Dashboards", creditsAvailable=1.0)
    learner = unique_email("finisher")
    issue_to(engine, org, sql, learner)
    issue_to(engine, org, viz, learner)
    issuer = people.issuer
    editor = issuer.get(f"/console/{org.slug}/pathways/new")
    assert editor.status_code == 200
    assert 'name="c2_id"' in editor.text
    assert 'name="c3_id"' not in editor.text
    fields = {
        "name": "Dashboards Path",
        "description": "SQL, then dashboards.",
        "c0_id": "sql",
        "c0_achievement": key_url(BASE_URL, org.slug, "sql"),
        "c1_id": "viz",
        "c1_achievement": key_url(BASE_URL, org.slug, "viz"),
        "c1_prerequisites": "sql",
        "m0_id": "badge",
        "m0_name": "Dashboards Badge",
        "m0_type": "Badge",
        "m0_rule": "at_least",
        "m0_n": "2",
    }
    more = issuer.post(
        f"/console/{org.slug}/pathways/editor", {**fields, "intent": "add_component"}
    )
    assert 'name="c2_id"' in more.text
    assert 'value="Dashboards Path"' in more.text
    nameless = issuer.post(
        f"/console/{org.slug}/pathways/editor", {**fields, "m0_name": "", "intent": "save"}
    )
    assert nameless.status_code == 422
    assert "Milestone 1 (badge): give it a name" in nameless.text

    saved = issuer.post(f"/console/{org.slug}/pathways/editor", {**fields, "intent": "save"})
    assert saved.status_code == 303, saved.text
    view = issuer.follow(saved)
    assert "Saved Dashboards Path version 1 as a draft. It validates" in view.text
    assert "No problems:" in view.text
    assert "If you publish this version" in view.text
    assert re.search(r"Milestone badge</strong>:\s*1 learner newly complete", view.text)
    assert learner in view.text
    iri = f"{BASE_URL}/orgs/{org.slug}/pathways/dashboards-path"
    assert iri in view.text

    published = issuer.post(f"/console/{org.slug}/pathways/publish", {"id": iri, "version": "1"})
    assert published.status_code == 303
    shown = issuer.follow(published)
    assert "Published Dashboards Path version 1." in shown.text
    assert '<span class="tag tag-ok">published</span>' in shown.text
    reopened = issuer.get(f"/console/{org.slug}/pathways/new?id={iri}")
    assert 'value="Dashboards Path"' in reopened.text
    assert 'name="c1_prerequisites" type="text" value="sql"' in reopened.text
    listed = issuer.get(f"/console/{org.slug}/pathways")
    assert "Dashboards Path" in listed.text
    assert "version 1</a>" in listed.text
    with transaction(session_factory(engine)) as session:
        stored = session.scalars(select(PathwayRow).where(PathwayRow.iri == iri)).one()
        pathway = from_json(stored.definition)
    assert stored.published
    assert [c.id for c in pathway.components] == ["sql", "viz"]
    assert pathway.milestones[0].requirement.to_json()["n"] == 2


# --- awards ---------------------------------------------------------------------------------


def test_an_issuer_awards_one_credential_and_revokes_it_with_a_reason(
    engine: Engine, people: People, org: Organization
) -> None:
    record = define(engine, org, "sql", "SQL Fundamentals")
    issuer = people.issuer
    page = issuer.get(f"/console/{org.slug}/awards")
    assert f'<option value="{record.id}">SQL Fundamentals</option>' in page.text
    email = unique_email("awardee")

    bad = issuer.post(
        f"/console/{org.slug}/awards", {"achievement": record.id, "recipient": "not-an-email"}
    )
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text
    done = issuer.post(
        f"/console/{org.slug}/awards",
        {"achievement": record.id, "recipient": email, "learner": "Grace"},
    )
    assert done.status_code == 303
    listed = issuer.follow(done)
    assert f"Issued SQL Fundamentals to {email}." in listed.text
    found = re.search(r'id="award-([0-9a-f-]{36})"', listed.text)
    assert found is not None
    award_id = found.group(1)
    assert stored_award(engine, award_id).learner_name == "Grace"

    suspended = issuer.post(f"/console/{org.slug}/awards/{award_id}/suspend", headers=HTMX)
    assert suspended.status_code == 200
    assert suspended.text.lstrip().startswith(
        f'<li class="card award award-suspended" id="award-{award_id}"'
    )
    assert f'id="status-{award_id}">Unsuspend' in suspended.text
    assert stored_award(engine, award_id).suspended
    unsuspended = issuer.post(f"/console/{org.slug}/awards/{award_id}/unsuspend")
    assert unsuspended.status_code == 303  # without htmx: back to the list
    assert "Reinstated the credential of" in issuer.follow(unsuspended).text
    assert not stored_award(engine, award_id).suspended

    no_reason = issuer.post(f"/console/{org.slug}/awards/{award_id}/revoke", {"reason": " "})
    assert no_reason.status_code == 422
    revoked = issuer.post(
        f"/console/{org.slug}/awards/{award_id}/revoke",
        {"reason": "assessed in error <script>"},
        headers=HTMX,
    )
    assert revoked.status_code == 200
    assert "revoked</span>" in revoked.text
    assert "assessed in error &lt;script&gt;" in revoked.text
    assert "Revoke for good" not in revoked.text
    row = stored_award(engine, award_id)
    assert (row.revoked_at is not None, row.revocation_reason) == (
        True,
        "assessed in error <script>",
    )
    verified = issuer.http.post(
        "/credentials/verify", json={"verifiableCredential": json.loads(row.document)}
    )
    assert "status.revoked" in verified.text


def test_another_organizations_award_cannot_be_touched(
    engine: Engine, people: People, org: Organization
) -> None:
    elsewhere = new_org(engine, people, "Elsewhere")
    award = issue_to(engine, elsewhere, define(engine, elsewhere, "x", "X"), unique_email())
    issuer = people.issuer
    issuer.get(f"/console/{org.slug}/awards")
    response = issuer.post(f"/console/{org.slug}/awards/{award.id}/revoke", {"reason": "mine"})
    assert response.status_code == 404
    assert stored_award(engine, award.id).revoked_at is None


# --- bulk -----------------------------------------------------------------------------------


def work_the_queue(app: FastAPI) -> None:
    """On PostgreSQL, what ``credstack worker --once`` does (in a thread: when the browser
    tests ran first, Playwright holds this thread's event loop); on SQLite the app works."""
    settings = app.state.settings
    if not settings.use_procrastinate:
        return

    def work() -> None:
        with BulkRunner.open(
            database_url=settings.database_url,
            base_url=settings.base_url,
            secret=SECRET,
            use_procrastinate=True,
        ) as runner:
            runner.work(once=True)

    worker = threading.Thread(target=work, name="bulk-worker")
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the bulk worker did not finish"


def poll(visitor: Visitor, url: str, limit: float = 120) -> Response:
    """The progress fragment, polled as htmx does, until it stops asking to be polled."""
    deadline = time.monotonic() + limit
    while True:
        fragment = visitor.get(url, headers=HTMX)
        assert fragment.status_code == 200
        if 'hx-trigger="every 1s"' not in fragment.text:
            return fragment
        assert time.monotonic() < deadline, "the bulk job did not finish"
        time.sleep(0.1)


def test_bulk_upload_report_confirm_and_the_progress_bar_until_done(
    app: FastAPI, engine: Engine, people: People, org: Organization
) -> None:
    record = define(engine, org, "sql", "SQL Fundamentals")
    issuer = people.issuer
    base = f"/console/{org.slug}/bulk"
    issuer.get(base)
    broken = b"email,name\nada@example.org,Ada\nnope,Bob\n"
    refused = issuer.post(
        base, {"achievement": record.id}, files={"file": ("broken.csv", broken, "text/csv")}
    )
    assert refused.status_code == 422
    assert "The file has 1 error; nothing was issued." in refused.text
    assert re.search(r"<td>3</td><td>email</td><td>[^<]+</td>", refused.text)

    rows = "\n".join(f"bulk{i}-{org.slug}@example.org,Learner {i}" for i in range(12))
    uploaded = issuer.post(
        base,
        {"achievement": record.id},
        files={"file": ("cohort.csv", f"email,name\n{rows}\n".encode(), "text/csv")},
    )
    assert uploaded.status_code == 303, uploaded.text
    job_url = uploaded.headers["location"]
    job = issuer.follow(uploaded)
    assert "12 rows checked. Nothing is issued until you confirm." in job.text
    assert "Issue 12 credentials" in job.text
    with transaction(session_factory(engine)) as session:
        issued = session.scalars(select(AwardRow.id).where(AwardRow.org_id == org.id)).all()
        assert issued == []
    forbidden(people.viewer.post(f"{job_url}/start"))

    started = issuer.post(f"{job_url}/start")
    assert started.status_code == 303
    page = issuer.follow(started)
    assert "Issuing has started." in page.text
    assert '<progress id="job-bar" max="12"' in page.text
    work_the_queue(app)
    done = poll(issuer, f"{job_url}/progress")
    assert "<strong>Done</strong>" in done.text
    assert '<progress id="job-bar" max="12" value="12"' in done.text
    assert "12 of 12 rows processed (100%): 12 issued, 0 failed." in done.text
    assert 'hx-swap-oob="innerHTML:#job-announce"' in done.text
    with transaction(session_factory(engine)) as session:
        recipients = session.scalars(
            select(AwardRow.recipient).where(AwardRow.org_id == org.id)
        ).all()
    assert sorted(recipients) == sorted(f"bulk{i}-{org.slug}@example.org" for i in range(12))
    listed = issuer.get(base)
    assert "cohort.csv" in listed.text
    assert "12 of 12" in listed.text


# --- keys and status lists ------------------------------------------------------------------


def test_the_keys_page_shows_the_did_document_and_the_status_lists(
    engine: Engine, people: People, org: Organization
) -> None:
    record = define(engine, org, "sql", "SQL Fundamentals")
    award = issue_to(engine, org, record, unique_email())
    page = people.viewer.get(f"/console/{org.slug}/keys")
    assert page.status_code == 200
    assert f"did:web:credstack.test:orgs:{org.slug}" in page.text
    assert f'href="/orgs/{org.slug}/did.json"' in page.text
    assert re.search(r"Revocation</th>\s*<td>1 of 131072</td>\s*<td>0</td>", page.text)
    assert re.search(r"Suspension</th>\s*<td>the indices of its revocation list", page.text)
    assert f"{BASE_URL}/orgs/{org.slug}/status/{award.revocation_list_id}" in page.text
    assert "Only an owner can rotate the signing key or set the LinkedIn organization id." in (
        page.text
    )


# --- the pathway graph on its own -----------------------------------------------------------


def test_the_layout_puts_components_in_columns_by_prerequisites_and_milestones_right() -> None:
    pathway = from_json(json.loads((FIXTURES / "data-analytics.json").read_text()))
    graph = layout(pathway)
    column = {n.id: n.column for n in graph.nodes}
    assert column == {
        "sql": 0,
        "viz": 0,
        "mooc-sql": 0,
        "python": 1,
        "capstone": 2,
        "milestone:foundation": 3,
        "milestone:certificate": 3,
    }
    final = graph.node(milestone_node("certificate"))
    assert final is not None
    assert final.final
    assert final.kind == "milestone"
    assert [n.id for n in graph.nodes if n.column == 3] == [
        "milestone:foundation",
        "milestone:certificate",
    ]
    edges = {(e.source, e.target, e.kind) for e in graph.edges}
    assert ("sql", "python", "prerequisite") in edges
    assert ("sql", "python", "precedes") not in edges  # the prerequisite says it already
    assert ("capstone", "milestone:certificate", "counts") in edges
    assert ("sql", "milestone:certificate", "counts") not in edges  # it leads there via python
    assert ("viz", "milestone:certificate", "counts") in edges
    assert all(0 <= n.x <= graph.width and 0 <= n.y <= graph.height for n in graph.nodes)
    assert len({(n.x, n.y) for n in graph.nodes}) == len(graph.nodes)


def test_a_prerequisite_cycle_still_lays_out_and_text_is_escaped_in_the_svg() -> None:
    data = json.loads((FIXTURES / "invalid.json").read_text())
    data["components"][0]["name"] = '<script>alert("x")</script> & co'
    graph = layout(from_json(data))
    assert {n.id for n in graph.nodes} >= {"sql", "python", "capstone", "orphan"}
    svg = render_svg(graph, {"sql": "earned", "python": "locked", "orphan": "bogus"})
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in svg
    assert svg.startswith("<svg ")
    assert 'role="img"' in svg
    assert 'class="node node-achievement node-earned"' in svg
    assert 'class="node node-achievement node-locked"' in svg
    assert "node-bogus" not in svg  # unknown states are ignored
    assert "earned · 1 credit" in svg  # the state in words, not colour alone


def test_an_xlsx_upload_gets_the_same_check(
    engine: Engine, people: People, org: Organization
) -> None:
    from openpyxl import Workbook  # type: ignore[import-untyped]  # noqa: PLC0415

    record = define(engine, org, "sql", "SQL Fundamentals")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Email", "Name", "valid_until"])
    sheet.append([f"xlsx-{org.slug}@example.org", "Ada", "2031-01-31"])
    sheet.append(["not an address", "Bob", ""])
    data = io.BytesIO()
    book.save(data)
    issuer = people.issuer
    issuer.get(f"/console/{org.slug}/bulk")
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    refused = issuer.post(
        f"/console/{org.slug}/bulk",
        {"achievement": record.id},
        files={"file": ("cohort.xlsx", data.getvalue(), xlsx)},
    )
    assert refused.status_code == 422
    assert "The check of cohort.xlsx" in refused.text
    assert re.search(r"<td>3</td><td>email</td>", refused.text)
    assert "<dt>Valid</dt><dd>1</dd>" in refused.text

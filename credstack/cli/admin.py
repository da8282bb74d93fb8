"""``credstack db | org | token | achievement | award | revoke | suspend | unsuspend | serve``."""

from __future__ import annotations

import json
import secrets
import sys
import uuid
from pathlib import Path
from typing import Annotated

import typer

from credstack.cli.context import platform
from credstack.cli.io import print_json, read_json, when
from credstack.db.session import upgrade
from credstack.domain.errors import Invalid
from credstack.domain.platform import ALL_SCOPES, ApiToken, Scope
from credstack.services import achievements, awards
from credstack.services.organizations import create_organization, org_by_slug, org_did, profile_of
from credstack.settings import get_settings
from credstack.web.deps import token_hash

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
org_app = typer.Typer(help="Organizations (issuers).", no_args_is_help=True)
token_app = typer.Typer(help="Scoped API tokens.", no_args_is_help=True)
achievement_app = typer.Typer(help="Achievements (credential definitions).", no_args_is_help=True)

OrgOption = Annotated[str, typer.Option("--org", help="Organization slug.")]


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply database migrations (the only way the schema changes)."""
    settings = get_settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"database at revision {revision}: {_redact(settings.database_url)}")


def _redact(url: str) -> str:
    head, sep, tail = url.partition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, _credentials = head.partition("://")
    return f"{scheme}://***@{tail}"


@org_app.command("create")
def org_create(
    slug: Annotated[str, typer.Argument(help="Short name used in URLs, e.g. 'acme-college'.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    url: Annotated[str | None, typer.Option(help="Home page.")] = None,
    email: Annotated[str | None, typer.Option(help="Contact email.")] = None,
    owner: Annotated[str | None, typer.Option(help="Owner's email address.")] = None,
) -> None:
    """Create an organization with a fresh signing key; prints its DID."""
    with platform() as found:
        create_organization(
            found.orgs,
            found.keys,
            slug=slug,
            name=name,
            secret=found.secret,
            now=found.now(),
            url=url,
            email=email,
            owner=owner,
        )
        typer.echo(org_did(found.base_url, slug))


@org_app.command("list")
def org_list() -> None:
    with platform() as found:
        for org in found.orgs.all():
            typer.echo(f"{org.slug}\t{org.name}\t{org_did(found.base_url, org.slug)}")


@org_app.command("show")
def org_show(slug: Annotated[str, typer.Argument()]) -> None:
    with platform() as found:
        print_json(profile_of(org_by_slug(found.orgs, slug), found.base_url).to_json())


@token_app.command("create")
def token_create(
    org: OrgOption,
    scopes: Annotated[
        list[str] | None,
        typer.Option("--scopes", help=f"Repeatable; default all: {' '.join(sorted(ALL_SCOPES))}."),
    ] = None,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
) -> None:
    """Create an API token; prints the bearer token as the last line (shown once)."""
    wanted = {s for entry in scopes or [] for s in entry.replace(",", " ").split()}
    unknown = wanted - set(ALL_SCOPES)
    if unknown:
        raise Invalid(f"unknown scopes {sorted(unknown)}; choose from {sorted(ALL_SCOPES)}")
    chosen = frozenset(wanted or ALL_SCOPES)
    value = "csk_" + secrets.token_urlsafe(32)
    with platform() as found:
        organization = org_by_slug(found.orgs, org)
        token = ApiToken(str(uuid.uuid4()), organization.id, name, chosen, found.now())
        found.tokens.add(token, token_hash(value))
    typer.echo(f"scopes: {' '.join(sorted(chosen))}", err=True)
    typer.echo(value)


@achievement_app.command("create")
def achievement_create(
    org: OrgOption,
    key: Annotated[str, typer.Option(help="Stable key, e.g. 'sql-fundamentals'.")],
    file: Annotated[Path, typer.Argument(help="Open Badges 3.0 Achievement JSON.")],
    validity_days: Annotated[int | None, typer.Option(help="Credentials expire after.")] = None,
    draft: Annotated[bool, typer.Option(help="Keep unpublished.")] = False,
) -> None:
    """Define an achievement (a new version when the key exists); prints its id."""
    definition = read_json(str(file), "achievement")
    with platform() as found:
        organization = org_by_slug(found.orgs, org)
        record = achievements.define(
            found.achievements,
            organization,
            key=key,
            definition=definition,
            creator=profile_of(organization, found.base_url),
            base_url=found.base_url,
            now=found.now(),
            validity_days=validity_days,
            publish=not draft,
        )
        typer.echo(f"{record.key} v{record.version}", err=True)
        typer.echo(record.id)


@achievement_app.command("list")
def achievement_list(org: OrgOption) -> None:
    with platform() as found:
        organization = org_by_slug(found.orgs, org)
        for record in found.achievements.of(organization.id):
            state = "published" if record.published else "draft"
            name = record.definition.get("name")
            typer.echo(f"{record.id}\t{record.key}\tv{record.version}\t{state}\t{name}")


def award_command(
    org: OrgOption,
    achievement: Annotated[str, typer.Option(help="Achievement id or key.")],
    recipient_email: Annotated[str | None, typer.Option()] = None,
    recipient_did: Annotated[str | None, typer.Option()] = None,
    name: Annotated[str | None, typer.Option(help="Learner's name.")] = None,
    valid_until: Annotated[str | None, typer.Option(help="ISO 8601.")] = None,
    credits_earned: Annotated[float | None, typer.Option()] = None,
    idempotency_key: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Issue one credential; prints it as signed."""
    with platform() as found:
        organization = org_by_slug(found.orgs, org)
        record = achievements.resolve(found.achievements, organization, achievement)
        award = awards.issue_award(
            found,
            awards.issuer_of(found, organization),
            record,
            awards.AwardRequest(
                recipient_email=recipient_email,
                recipient_did=recipient_did,
                learner_name=name,
                valid_until=when(valid_until, "--valid-until"),
                credits_earned=credits_earned,
                idempotency_key=idempotency_key,
            ),
        )
        sys.stdout.write(json.dumps(json.loads(award.document), indent=2) + "\n")


def revoke_command(
    credential_id: Annotated[str, typer.Argument(help="Credential URL or uuid.")],
    reason: Annotated[str | None, typer.Option(help="Kept private to the issuer.")] = None,
) -> None:
    """Revoke a credential for good."""
    with platform() as found:
        awards.revoke(found, awards.find(found, credential_id), reason)
    typer.echo(f"revoked {credential_id}")


def suspend_command(
    credential_id: Annotated[str, typer.Argument(help="Credential URL or uuid.")],
) -> None:
    """Suspend a credential (reversible)."""
    with platform() as found:
        awards.suspend(found, awards.find(found, credential_id))
    typer.echo(f"suspended {credential_id}")


def unsuspend_command(
    credential_id: Annotated[str, typer.Argument(help="Credential URL or uuid.")],
) -> None:
    """Lift a suspension."""
    with platform() as found:
        awards.suspend(found, awards.find(found, credential_id), suspended=False)
    typer.echo(f"reinstated {credential_id}")


def serve_command(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Run the HTTP server (API processes hold no state: add more behind a proxy)."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    uvicorn.run(
        "credstack.web.main:app",
        host=host,
        port=port,
        workers=workers,
        factory=False,
        log_level="info",
        proxy_headers=True,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(org_app, name="org")
    app.add_typer(token_app, name="token")
    app.add_typer(achievement_app, name="achievement")
    app.command("award")(award_command)
    app.command("revoke")(revoke_command)
    app.command("suspend")(suspend_command)
    app.command("unsuspend")(unsuspend_command)
    app.command("serve")(serve_command)


__all__ = ["Scope", "register"]

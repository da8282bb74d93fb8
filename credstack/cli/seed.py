"""``credstack seed``: demo data for ``make run`` (only into an empty database)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace

import typer

from credstack.cli.context import platform
from credstack.domain.platform import ALL_SCOPES, ApiToken
from credstack.services.organizations import org_by_slug
from credstack.services.seeding import seed_demo
from credstack.settings import get_settings
from credstack.web.deps import token_hash


def seed_command() -> None:
    """Add two demo organizations with catalogues and learners, if the database is empty."""
    settings = get_settings()
    with platform(settings) as found:
        seeded = seed_demo(replace(found, outbox=None))  # demo learners get no emails
        if seeded is None:
            typer.echo("database already has organizations; nothing seeded")
        else:
            typer.echo(f"seeded {len(seeded.organizations)} organizations, {seeded.awards} awards")
        org = org_by_slug(found.orgs, "demo-college") if seeded else None
        value = ""
        if org is not None:
            value = "csk_" + secrets.token_urlsafe(32)
            found.tokens.add(
                ApiToken(str(uuid.uuid4()), org.id, "demo", frozenset(ALL_SCOPES), found.now()),
                token_hash(value),
            )
    base = settings.base_url
    typer.echo(
        "\ncredstack is starting at "
        f"{base}\n"
        f"  API docs:          {base}/docs\n"
        f"  issuer DID:        {base}/orgs/demo-college/did.json\n"
        f"  verify over HTTP:  POST {base}/credentials/verify\n"
        f"  try the pages:     {base}/sign-up as registrar@college.example (console of the\n"
        "                     demo college) or ada@example.org (a wallet with a stacked\n"
        "                     certificate); confirmation links are printed here\n"
        "  more:              README.md"
    )
    if value:
        typer.echo(f"  demo API token:    {value}  (organization demo-college)")


def register(app: typer.Typer) -> None:
    app.command("seed")(seed_command)

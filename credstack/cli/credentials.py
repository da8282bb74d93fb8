"""``credstack sign | issue | verify | bake | unbake``."""

from __future__ import annotations

import json
import secrets
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from credstack.cli.context import platform as platform_context
from credstack.cli.io import print_json, read_bytes, read_json, when
from credstack.crypto.did import DidResolver
from credstack.crypto.jwt import is_compact_jws
from credstack.crypto.keys import read_key_file
from credstack.domain import baking
from credstack.domain.achievements import Achievement, Profile
from credstack.domain.credentials import Recipient, RecipientDid, RecipientEmail, build_credential
from credstack.domain.errors import Invalid
from credstack.services import awards
from credstack.services.issuing import ALL_FORMATS, sign
from credstack.services.status_lists import LocalStatusLists
from credstack.services.verifying import VerifyOptions, verify

KeyOption = Annotated[Path, typer.Option("--key", help="Key file from `credstack keys generate`.")]
SuiteOption = Annotated[
    str, typer.Option("--suite", help=f"Proof format: {' | '.join(ALL_FORMATS)}.")
]


def _emit(secured: dict[str, object] | str) -> None:
    if isinstance(secured, str):
        sys.stdout.write(secured + "\n")
    else:
        print_json(secured)


def sign_command(
    key: KeyOption,
    source: Annotated[str, typer.Argument(help="Unsigned credential (JSON) or - for stdin.")] = "-",
    suite: SuiteOption = "eddsa-rdfc-2022",
    created: Annotated[
        str | None, typer.Option(help="Proof timestamp (ISO 8601), for reproducible output.")
    ] = None,
) -> None:
    """Sign a credential; prints it signed (a compact JWT for vc-jwt)."""
    signing_key = read_key_file(key)
    credential = read_json(source, "credential")
    moment = when(created, "--created") or datetime.now(UTC).replace(microsecond=0)
    _emit(sign(credential, signing_key, suite=suite, created=moment))


def issue_command(
    key: KeyOption,
    achievement: Annotated[Path, typer.Option(help="Achievement definition (OB 3.0 JSON).")],
    recipient_email: Annotated[str | None, typer.Option(help="Recipient email (hashed).")] = None,
    recipient_did: Annotated[str | None, typer.Option(help="Recipient DID.")] = None,
    valid_from: Annotated[str | None, typer.Option(help="ISO 8601; default now.")] = None,
    valid_until: Annotated[str | None, typer.Option(help="ISO 8601 expiry.")] = None,
    issuer_name: Annotated[str, typer.Option(help="Issuer display name.")] = "credstack issuer",
    credential_id: Annotated[str | None, typer.Option("--id", help="Credential id URL.")] = None,
    suite: SuiteOption = "eddsa-rdfc-2022",
) -> None:
    """Build an Open Badges 3.0 credential for a recipient and sign it."""
    if (recipient_email is None) == (recipient_did is None):
        raise Invalid("give exactly one of --recipient-email and --recipient-did")
    signing_key = read_key_file(key)
    definition = Achievement.from_json(read_json(str(achievement), "achievement"))
    now = datetime.now(UTC).replace(microsecond=0)
    recipient: Recipient = (
        RecipientEmail(recipient_email, secrets.token_hex(8))
        if recipient_email is not None
        else RecipientDid(str(recipient_did))
    )
    credential = build_credential(
        credential_id=credential_id or f"urn:uuid:{uuid.uuid4()}",
        issuer=Profile(id=signing_key.controller, name=issuer_name),
        achievement=definition,
        recipient=recipient,
        valid_from=when(valid_from, "--valid-from") or now,
        valid_until=when(valid_until, "--valid-until"),
        awarded_date=now,
    )
    _emit(sign(credential, signing_key, suite=suite, created=now))


def verify_command(
    source: Annotated[str, typer.Argument(help="Credential: JSON, JWT, PNG or SVG; - for stdin.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    now: Annotated[str | None, typer.Option(help="Verify as of this time (ISO 8601).")] = None,
    status_list: Annotated[
        list[str] | None,
        typer.Option(
            help="A status list credential to consult, as FILE or URL=FILE when the "
            "credential names it by another URL than its id (repeatable).",
        ),
    ] = None,
    did_document: Annotated[
        list[Path] | None,
        typer.Option(help="A DID or controller document to trust for key lookup (repeatable)."),
    ] = None,
    use_platform: Annotated[
        bool,
        typer.Option(
            "--platform",
            help="Also resolve this platform's own organizations and status lists from its "
            "database (CREDSTACK_DATABASE_URL).",
        ),
    ] = False,
) -> None:
    """Verify a credential. Exit 0 verified, 1 not verified, 2 unusable input."""
    data = read_bytes(source)
    moment = when(now, "--now") or datetime.now(UTC)
    resolver = DidResolver(read_json(str(p), "DID document") for p in did_document or [])
    options = VerifyOptions(now=moment, resolve=resolver)
    if status_list:
        by_id, by_url = [], {}
        for entry in status_list:
            url, _, file = entry.rpartition("=") if "=" in entry else ("", "", entry)
            document = read_json(file, "status list")
            if url:
                by_url[url] = document
            else:
                by_id.append(document)
        lists = LocalStatusLists(by_id, options, at=by_url)
        options = VerifyOptions(now=moment, resolve=resolver, status=lists)
    if use_platform:
        with platform_context() as found:
            options = VerifyOptions(
                now=moment,
                resolve=awards.resolver(replace(found, remote_dids=resolver)),
                status=awards.PlatformStatusLists(found),
            )
            result = verify(data, options)
    else:
        result = verify(data, options)
    if result.failed() and result.codes() == ["input.unusable"]:
        raise Invalid(result.checks[0].message)
    if as_json:
        sys.stdout.write(json.dumps(result.to_json()) + "\n")
    else:
        console = Console(highlight=False, emoji=False)
        for check in result.checks:
            mark = "[green]✓[/green]" if check.ok else "[red]✗[/red]"
            console.print(f"{mark} {check.code:<24} {check.message}", markup=True)
        verdict = "[bold green]VERIFIED[/]" if result.verified else "[bold red]NOT VERIFIED[/]"
        console.print(verdict)
    raise typer.Exit(0 if result.verified else 1)


def bake_command(
    image: Annotated[Path, typer.Option(help="PNG or SVG image to bake into.")],
    source: Annotated[str, typer.Argument(help="Signed credential (JSON or JWT); - for stdin.")],
    out: Annotated[Path | None, typer.Option(help="Output image; default stdout.")] = None,
) -> None:
    """Embed a signed credential in a PNG or SVG image."""
    payload = read_bytes(source).decode("utf-8-sig").strip()
    if payload.startswith("{"):
        try:
            json.loads(payload)
        except json.JSONDecodeError as exc:
            raise Invalid(f"{source!r} is not valid JSON: {exc.msg}") from exc
    elif not is_compact_jws(payload):
        raise Invalid(f"{source!r} is neither a JSON credential nor a compact JWT")
    baked = baking.bake(read_bytes(str(image)), payload)
    if out is None:
        sys.stdout.buffer.write(baked)
    else:
        out.write_bytes(baked)


def unbake_command(
    image: Annotated[str, typer.Argument(help="Baked PNG or SVG; - for stdin.")],
) -> None:
    """Print the credential baked into an image."""
    payload = baking.unbake(read_bytes(image))
    if payload is None:
        raise Invalid(f"{image!r} carries no baked credential")
    sys.stdout.write(payload.strip() + "\n")


def register(app: typer.Typer) -> None:
    app.command("sign")(sign_command)
    app.command("issue")(issue_command)
    app.command("verify")(verify_command)
    app.command("bake")(bake_command)
    app.command("unbake")(unbake_command)

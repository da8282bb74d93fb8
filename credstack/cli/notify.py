"""``credstack notify send | remind``: deliver learner emails now (for cron or by hand).

The API processes do the same every few seconds (``credstack/web/mail.py``); these
commands are for deployments that turn that off (``CREDSTACK_MAIL_INTERVAL_SECONDS=0``)
and for operators who want the queue drained now. Both may run while the API runs: each
email goes to one sender. The summary goes to stderr, so that with the console backend
stdout holds only the emails. Exit status 1 when an email failed (it stays queued and is
tried again later).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.orm import Session, sessionmaker

from credstack.db.session import make_engine, session_factory
from credstack.notify import mailer_from_settings
from credstack.services.platform import utc_now
from credstack.settings import Settings, get_settings
from credstack.web.mail import queue_due_reminders, send_queued

app = typer.Typer(help="Learner emails: award notices and expiry reminders.", no_args_is_help=True)


@contextmanager
def _sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


@app.command("send")
def send_command() -> None:
    """Send every queued email that is due now (with CREDSTACK_EMAIL_BACKEND)."""
    settings = get_settings()
    with _sessions(settings) as sessions:
        sent, failed = send_queued(sessions, mailer_from_settings(settings))
    _report(sent, failed)


@app.command("remind")
def remind_command() -> None:
    """Queue the expiry reminders due now (CREDSTACK_REMINDER_DAYS), then send."""
    settings = get_settings()
    with _sessions(settings) as sessions:
        queued = queue_due_reminders(sessions, settings, settings.secret(), utc_now())
        typer.echo(f"{queued} reminder(s) queued", err=True)
        sent, failed = send_queued(sessions, mailer_from_settings(settings))
    _report(sent, failed)


def _report(sent: int, failed: int) -> None:
    typer.echo(f"{sent} email(s) sent, {failed} failed", err=True)
    if failed:
        typer.echo("failed emails stay queued and are tried again later", err=True)
        raise typer.Exit(1)

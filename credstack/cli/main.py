"""The ``credstack`` command. Every error is one line on stderr, never a traceback."""

from __future__ import annotations

import sys

import typer
from typer._click.exceptions import ClickException  # typer vendors its own click

from credstack.cli import admin, bench, bulk, credentials, demo, keys, pathway, seed, stacks
from credstack.cli.notify import app as notify_app
from credstack.domain.errors import CredstackError

app = typer.Typer(
    name="credstack",
    help="Issue, sign, verify and bake Open Badges 3.0 credentials.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(keys.app, name="keys")
credentials.register(app)
bench.register(app)
demo.register(app)
admin.register(app)
seed.register(app)
bulk.register(app)
app.add_typer(notify_app, name="notify")
app.add_typer(pathway.app, name="pathway")
stacks.register(app)


def fail(message: str) -> None:
    """Print one line naming the problem and exit 2 (unusable input)."""
    first = " ".join(str(message).split())
    if first:
        print(f"credstack: {first}", file=sys.stderr)
    sys.exit(2)


def run() -> None:
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        fail("interrupted")
    except ClickException as exc:
        fail(exc.format_message())
    except CredstackError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
    except Exception as exc:  # noqa: BLE001 - the CLI contract: one line, no traceback
        fail(f"unexpected error: {exc!r}")
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    run()

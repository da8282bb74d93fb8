"""Small input/output helpers shared by the commands."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from credstack.domain.credentials import parse_datetime
from credstack.domain.errors import Invalid


def read_bytes(source: str) -> bytes:
    """The bytes of FILE, or of standard input for ``-``."""
    if source == "-":
        return sys.stdin.buffer.read()
    path = Path(source)
    if not path.is_file():
        raise Invalid(f"cannot read {source!r}: no such file")
    return path.read_bytes()


def read_json(source: str, what: str = "input") -> dict[str, Any]:
    raw = read_bytes(source)
    try:
        value = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise Invalid(f"{what} {source!r} is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise Invalid(f"{what} {source!r} is not JSON: {exc.msg} at line {exc.lineno}") from exc
    if not isinstance(value, dict):
        raise Invalid(f"{what} {source!r} must hold a JSON object")
    return value


def when(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_datetime(text)
    except Invalid as exc:
        raise Invalid(f"{option}: {exc.message}") from exc


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")

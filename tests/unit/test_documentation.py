"""The public surface is documented: every setting and every command is in README.md."""

from __future__ import annotations

from pathlib import Path

import typer.main
from typer.core import TyperGroup

from credstack.cli.main import app
from credstack.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text("utf-8")


def _commands(group: object, prefix: str = "credstack") -> list[str]:
    if isinstance(group, TyperGroup):
        names: list[str] = []
        for name, command in group.commands.items():
            names.extend(_commands(command, f"{prefix} {name}"))
        return names
    return [prefix]


def test_every_setting_is_documented_in_the_readme() -> None:
    missing = [
        f"CREDSTACK_{name.upper()}"
        for name in Settings.model_fields
        if f"CREDSTACK_{name.upper()}" not in README
    ]
    assert missing == []


def test_every_command_is_documented_in_the_readme() -> None:
    commands = _commands(typer.main.get_command(app))
    assert len(commands) > 10
    missing = [c for c in commands if c not in README]
    assert missing == []


def test_the_changelog_has_an_unreleased_section() -> None:
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text("utf-8")


def test_every_decision_record_is_linked_from_the_architecture_page() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    records = sorted(p.name for p in (ROOT / "docs" / "decisions").glob("*.md"))
    assert records
    assert [r for r in records if r not in page] == []

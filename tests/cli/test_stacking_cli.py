"""The stacking commands run for real: import a pathway, award its components, watch
progress, receive the stack and its CLR, revoke a component, verify the CLR."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_platform_cli import Platform, assert_unusable
from tests.db.test_stacking import IRI, data_analyst
from tests.fresh_database import fresh_database

LEARNER = "ada@example.org"


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Platform]:
    with fresh_database("sqlite", tmp_path, "stacking_cli") as url:
        yield Platform(url, tmp_path)


def test_pathway_lifecycle_through_the_cli(cli: Platform, tmp_path: Path) -> None:
    pathway = tmp_path / "pathway.json"
    pathway.write_text(json.dumps(data_analyst()), "utf-8")
    cli.ok(("org", "create", "college", "--name", "City College"))
    [imported] = cli.ok(("pathway", "import", str(pathway), "--org", "college", "--publish"))
    assert f"{IRI} version 1 (published)" in imported

    [first] = cli.ok(
        ("award", "--org", "college", "--achievement", "excel-analysis",
         "--recipient-email", LEARNER),
    )  # fmt: skip
    [shown] = cli.ok(("pathway", "progress", IRI, "--learner", LEARNER))
    assert "[   earned] Excel Analysis" in shown
    assert "milestone certificate: 50.0%" in shown
    cli.ok(
        ("award", "--org", "college", "--achievement", "sql-fundamentals",
         "--recipient-email", LEARNER),
    )  # fmt: skip
    [listed] = cli.ok(("pathway", "stacks", "--learner", LEARNER))
    [stack] = json.loads(listed)
    assert stack["milestone"] == "certificate"
    assert stack["state"] == "active"

    [verified] = cli.ok(("pathway", "verify", stack["clr"]))
    report = json.loads(verified)
    assert report["verified"] is True
    assert "stack.ok" in [c["code"] for c in report["checks"]]
    assert len(report["components"]) == 3
    excel_id = json.loads(first)["id"].rsplit("/", 1)[-1]
    cli.ok(("revoke", excel_id, "--reason", "graded in error"))
    [listed] = cli.ok(("pathway", "stacks", "--learner", LEARNER))
    assert json.loads(listed)[0]["state"] == "suspended"
    [after] = cli.run(("pathway", "verify", stack["clr"]))
    assert after.returncode == 1
    assert "status.suspended" in after.stdout

    [exported] = cli.ok(("pathway", "export", IRI))
    ctdl = tmp_path / "exported.json"
    ctdl.write_text(exported, "utf-8")
    [checked] = cli.ok(("pathway", "validate", str(ctdl)))
    assert checked.startswith("valid: Data Analyst")


def test_stacking_command_errors_exit_2_with_one_line(cli: Platform, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json", "utf-8")
    missing, unknown_org, no_pathway = cli.run(
        ("pathway", "import", str(tmp_path / "nope.json"), "--org", "x"),
        ("pathway", "import", str(garbage), "--org", "x"),
        ("pathway", "progress", "https://nowhere.example/p", "--learner", LEARNER),
    )
    assert_unusable(missing, "nope.json")
    assert_unusable(unknown_org)
    assert_unusable(no_pathway, "nowhere.example")

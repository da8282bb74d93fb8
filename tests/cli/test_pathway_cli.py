"""``credstack pathway validate FILE``, run as the real console script.

Exit 0 and ``valid: <name> (N components, M milestones)`` for a publishable pathway; exit 1
and one line per problem naming the component ids; exit 2 and one ``credstack:`` line on
stderr for unusable input. Never a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CREDSTACK = Path(sys.executable).parent / "credstack"
FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "pathways"


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CREDSTACK), "pathway", "validate", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_unusable(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("credstack: ")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("name", "summary"),
    [
        ("data-analytics.json", "valid: Data Analytics (5 components, 2 milestones)"),
        ("data-analytics.ctdl.json", "valid: Data Analytics (5 components, 2 milestones)"),
        ("every-kind.json", "valid: Every Kind (8 components, 2 milestones)"),
        (
            "ctdl-standards-example.json",
            "valid: Data Analytics Micro-credential Stack (2 components, 1 milestones)",
        ),
        (
            "pathways-repo_PathwayConditions.json",
            "valid: http://example.edu/a7f231f4-21cb-4ba3-8c03-4f7a5f67781c "
            "(5 components, 3 milestones)",
        ),
    ],
)
def test_a_publishable_pathway_exits_0_with_a_one_line_summary(
    tmp_path: Path, name: str, summary: str
) -> None:
    done = run(str(FIXTURES / name), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == summary + "\n"
    assert done.stderr == ""


def test_a_pathway_with_problems_exits_1_with_one_line_per_problem(tmp_path: Path) -> None:
    done = run(str(FIXTURES / "invalid.json"), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":", 1)[0] for line in lines] == [
        "component.duplicate_id",
        "requirement.unknown_component",
        "requirement.unsatisfiable",
        "requirement.unsatisfiable",
        "milestone.empty",
        "prerequisite.cycle",
        "component.unused",
    ]
    assert "ghost" in lines[1]
    assert "sql -> capstone -> python -> sql" in lines[5]
    assert "orphan" in lines[6]
    assert "Traceback" not in done.stdout + done.stderr


def test_a_ctdl_pathway_with_problems_exits_1_too(tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "ctdl-standards-example.json").read_text("utf-8"))
    for node in doc["@graph"]:
        if node["@type"] == "ceterms:CredentialComponent" and "ceterms:hasCondition" in node:
            node["ceterms:hasCondition"][0]["ceterms:requiredNumber"] = 3
    (tmp_path / "p.json").write_text(json.dumps(doc), "utf-8")
    done = run("p.json", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "requirement.unsatisfiable: milestone data-analytics-certificate: at least 3 of 2 can "
        "never be met (sql-fundamentals-micro-credential, dashboards-with-python-micro-credential)"
    ]


def test_the_pathway_may_come_on_standard_input(tmp_path: Path) -> None:
    text = (FIXTURES / "stats-stack.json").read_text("utf-8")
    done = run("-", cwd=tmp_path, stdin=text)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "valid: Statistics Stack (2 components, 1 milestones)\n"


def test_unusable_input_exits_2_with_one_line(tmp_path: Path) -> None:
    assert_unusable(run("missing.json", cwd=tmp_path), "missing.json", "no such file")
    (tmp_path / "text.json").write_text("not json {", "utf-8")
    assert_unusable(run("text.json", cwd=tmp_path), "is not JSON")
    (tmp_path / "list.json").write_text("[1, 2]", "utf-8")
    assert_unusable(run("list.json", cwd=tmp_path), "JSON object")
    (tmp_path / "other.json").write_text('{"hello": "world"}', "utf-8")
    assert_unusable(run("other.json", cwd=tmp_path), "neither a credstack pathway", "CTDL")
    progression = str(FIXTURES / "pathways-repo_ProgressionModel.json")
    assert_unusable(run(progression, cwd=tmp_path), "no ceterms:Pathway")
    (tmp_path / "half.json").write_text(
        '{"format": "credstack-pathway/1", "id": "urn:p", "name": "Half", '
        '"components": [], "milestones": [], "finalMilestone": "x", "version": "two"}',
        "utf-8",
    )
    assert_unusable(run("half.json", cwd=tmp_path), "pathway.version: must be an integer")

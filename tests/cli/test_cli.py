"""The ``credstack`` console script, run for real in a temporary folder.

Exit codes: 0 verified / done, 1 not verified, 2 unusable input (one ``credstack:`` line on
stderr, never a traceback).
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import credstack
from credstack.crypto import status_list
from credstack.crypto.jwt import is_compact_jws
from credstack.crypto.keys import ed25519_from_seed, write_key_file
from credstack.crypto.loader import default_loader
from credstack.crypto.proofs import add_proof
from credstack.domain.baking import demo_badge_png, demo_badge_svg
from credstack.domain.credentials import hash_identity

CREDSTACK = Path(sys.executable).parent / "credstack"
SEED = "c96ef9ea10c5e414c471723aff9de72c35fa5b70fae97e8832ecac7d2e2b8ed6"
DID = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
KEY = ed25519_from_seed(bytes.fromhex(SEED))
CREATED = "2025-01-01T00:00:00Z"
ISSUED = datetime(2025, 1, 1, tzinfo=UTC)
LIST_URL = "https://cli.example/status/1"


class Cli:
    """Runs the real console script with ``tmp_path`` as working directory."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CREDSTACK), *args],
            cwd=self.cwd,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def ok(self, *args: str, stdin: str | None = None) -> str:
        done = self(*args, stdin=stdin)
        assert done.returncode == 0, done.stderr
        return done.stdout


def assert_unusable(done: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit 2 with exactly one line on stderr that starts with ``credstack:``."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("credstack: ")
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "issuer-key.json"
    write_key_file(path, KEY)
    return path


def achievement_json() -> dict[str, Any]:
    return {
        "id": "https://cli.example/achievements/sql",
        "type": ["Achievement"],
        "name": "SQL Fundamentals",
        "description": "Query relational databases.",
        "criteria": {"narrative": "Pass the assessed project."},
    }


def unsigned_credential(**changes: Any) -> dict[str, Any]:
    credential = credstack.build_credential(
        credential_id="urn:uuid:1c2d3e4f-0000-4000-8000-000000000099",
        issuer=credstack.Profile(id=DID, name="CLI College"),
        achievement=credstack.Achievement.from_json(achievement_json()),
        recipient=credstack.RecipientEmail("ada@example.org", "0123abcd"),
        valid_from=ISSUED,
        valid_until=ISSUED + timedelta(days=3650),
    )
    return {**credential, **changes}


@pytest.fixture
def unsigned_file(tmp_path: Path) -> Path:
    path = tmp_path / "unsigned.json"
    path.write_text(json.dumps(unsigned_credential()), "utf-8")
    return path


@pytest.fixture
def signed_file(tmp_path: Path) -> Path:
    signed = credstack.sign(unsigned_credential(), KEY, created=ISSUED)
    path = tmp_path / "signed.json"
    path.write_text(json.dumps(signed), "utf-8")
    return path


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value), "utf-8")
    return path


# -- keys ---------------------------------------------------------------------------------


def test_keys_generate_with_a_seed_prints_the_did_key_and_writes_a_0600_file(
    cli: Cli, tmp_path: Path
) -> None:
    stdout = cli.ok("keys", "generate", "--out", "k.json", "--seed", SEED)
    assert stdout.strip() == DID
    path = tmp_path / "k.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert credstack.load_key(path) == KEY


def test_keys_generate_refuses_to_overwrite_without_force(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text("precious", "utf-8")
    path.chmod(0o644)
    assert_unusable(cli("keys", "generate", "--out", "k.json", "--seed", SEED), "--force")
    assert path.read_text("utf-8") == "precious"
    assert cli.ok("keys", "generate", "--out", "k.json", "--seed", SEED, "--force").strip() == DID
    assert credstack.load_key(path) == KEY
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keys_generate_without_a_seed_makes_a_fresh_key_each_time(cli: Cli) -> None:
    first = cli.ok("keys", "generate", "--out", "a.json").strip()
    second = cli.ok("keys", "generate", "--out", "b.json").strip()
    assert first.startswith("did:key:z6Mk")
    assert first != second


@pytest.mark.parametrize(
    "seed", ["zz" * 32, "abcd", SEED + "00", ""], ids=["not-hex", "short", "long", "empty"]
)
def test_keys_generate_refuses_a_bad_seed(cli: Cli, tmp_path: Path, seed: str) -> None:
    assert_unusable(cli("keys", "generate", "--out", "k.json", "--seed", seed), "--seed")
    assert not (tmp_path / "k.json").exists()


# -- sign ---------------------------------------------------------------------------------


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_sign_with_created_is_reproducible(
    cli: Cli, key_file: Path, unsigned_file: Path, suite: str
) -> None:
    args = ("sign", "--key", str(key_file), str(unsigned_file), "--suite", suite)
    first = cli.ok(*args, "--created", CREATED)
    second = cli.ok(
        *args[:-1],
        "-",
        "--suite",
        suite,
        "--created",
        CREATED,
        stdin=unsigned_file.read_text("utf-8"),
    )
    assert first == second
    signed = json.loads(first)
    (proof,) = signed["proof"]
    assert proof["cryptosuite"] == suite
    assert proof["created"] == CREATED
    assert credstack.verify(signed, now=ISSUED).verified


def test_sign_vc_jwt_prints_one_compact_jwt(cli: Cli, key_file: Path, unsigned_file: Path) -> None:
    stdout = cli.ok("sign", "--key", str(key_file), str(unsigned_file), "--suite", "vc-jwt")
    lines = stdout.splitlines()
    assert len(lines) == 1
    assert is_compact_jws(lines[0])
    result = credstack.verify(lines[0], now=ISSUED)
    assert result.verified
    assert result.form == "jwt"


def test_sign_refuses_a_credential_whose_issuer_is_not_the_keys_did(
    cli: Cli, key_file: Path, tmp_path: Path
) -> None:
    other = unsigned_credential(issuer={"id": "did:example:someone-else", "type": ["Profile"]})
    source = write_json(tmp_path / "other.json", other)
    assert_unusable(
        cli("sign", "--key", str(key_file), str(source), "--created", CREATED),
        "did:example:someone-else",
        DID,
    )


def test_sign_refuses_an_undefined_term_in_safe_mode(
    cli: Cli, key_file: Path, tmp_path: Path
) -> None:
    credential = unsigned_credential()
    credential["credentialSubject"]["favouriteColour"] = "green"
    source = write_json(tmp_path / "undefined.json", credential)
    assert_unusable(
        cli("sign", "--key", str(key_file), str(source), "--created", CREATED),
        "favouriteColour",
        "credentialSubject.favouriteColour",
    )


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, ("missing.json", "no such file")),
        ("{not json", ("not JSON",)),
        ("[1, 2]", ("JSON object",)),
        ('{"hello": "world"}', ("no issuer",)),
        ("\udcff", ("UTF-8",)),
    ],
    ids=["missing-file", "malformed-json", "json-array", "not-a-credential", "not-utf8"],
)
def test_sign_refuses_unusable_input_with_one_line(
    cli: Cli, key_file: Path, tmp_path: Path, content: str | None, words: tuple[str, ...]
) -> None:
    source = tmp_path / "missing.json"
    if content is not None:
        source.write_bytes(content.encode("utf-8", "surrogateescape"))
    assert_unusable(cli("sign", "--key", str(key_file), str(source), "--created", CREATED), *words)


@pytest.mark.parametrize("created", ["yesterday", "2025-01-01", "2025-13-01T00:00:00Z"])
def test_sign_refuses_a_bad_created_time(
    cli: Cli, key_file: Path, unsigned_file: Path, created: str
) -> None:
    assert_unusable(
        cli("sign", "--key", str(key_file), str(unsigned_file), "--created", created),
        "--created",
    )


def test_sign_refuses_an_unknown_suite(cli: Cli, key_file: Path, unsigned_file: Path) -> None:
    assert_unusable(
        cli("sign", "--key", str(key_file), str(unsigned_file), "--suite", "rsa-2048"),
        "rsa-2048",
    )


def test_sign_refuses_a_malformed_key_file(cli: Cli, tmp_path: Path, unsigned_file: Path) -> None:
    bad_key = write_json(tmp_path / "bad-key.json", {"type": "Multikey", "controller": DID})
    assert_unusable(cli("sign", "--key", str(bad_key), str(unsigned_file)), "secretKeyMultibase")


# -- issue --------------------------------------------------------------------------------


@pytest.fixture
def achievement_file(tmp_path: Path) -> Path:
    return write_json(tmp_path / "achievement.json", achievement_json())


def test_issue_to_an_email_hashes_the_recipient(
    cli: Cli, key_file: Path, achievement_file: Path
) -> None:
    stdout = cli.ok(
        "issue",
        "--key",
        str(key_file),
        "--achievement",
        str(achievement_file),
        "--recipient-email",
        "Ada@Example.org",
        "--id",
        "https://cli.example/credentials/1",
    )
    credential = json.loads(stdout)
    assert credential["id"] == "https://cli.example/credentials/1"
    assert credential["issuer"]["id"] == DID
    (identity,) = credential["credentialSubject"]["identifier"]
    assert identity["identityType"] == "emailAddress"
    assert identity["identityHash"] == hash_identity("ada@example.org", identity["salt"])
    assert "ada@example.org" not in stdout.lower()
    assert credstack.verify(credential).verified


def test_issue_to_a_did_names_the_subject(cli: Cli, key_file: Path, achievement_file: Path) -> None:
    stdout = cli.ok(
        "issue",
        "--key",
        str(key_file),
        "--achievement",
        str(achievement_file),
        "--recipient-did",
        "did:example:ada",
        "--suite",
        "vc-jwt",
    )
    result = credstack.verify(stdout.strip())
    assert result.verified, result.failed()
    assert result.credential is not None
    assert result.credential["credentialSubject"]["id"] == "did:example:ada"


@pytest.mark.parametrize(
    "recipient",
    [(), ("--recipient-email", "a@example.org", "--recipient-did", "did:example:a")],
    ids=["neither", "both"],
)
def test_issue_needs_exactly_one_recipient(
    cli: Cli, key_file: Path, achievement_file: Path, recipient: tuple[str, ...]
) -> None:
    done = cli("issue", "--key", str(key_file), "--achievement", str(achievement_file), *recipient)
    assert_unusable(done, "exactly one")


def test_issue_refuses_an_achievement_without_criteria(
    cli: Cli, key_file: Path, tmp_path: Path
) -> None:
    definition = achievement_json()
    del definition["criteria"]
    source = write_json(tmp_path / "achievement.json", definition)
    done = cli(
        "issue",
        "--key",
        str(key_file),
        "--achievement",
        str(source),
        "--recipient-did",
        "did:example:a",
    )
    assert_unusable(done, "criteria")


# -- verify -------------------------------------------------------------------------------


def verify_json(cli: Cli, *args: str) -> tuple[int, dict[str, Any]]:
    done = cli("verify", "--json", *args)
    assert done.stderr == ""
    return done.returncode, json.loads(done.stdout)


def test_verify_json_reports_verified_and_every_check(cli: Cli, signed_file: Path) -> None:
    code, report = verify_json(cli, str(signed_file), "--now", "2025-06-01T00:00:00Z")
    assert code == 0
    assert set(report) == {"verified", "checks"}
    assert report["verified"] is True
    assert [c["code"] for c in report["checks"]] == [
        "structure.ok",
        "proof.ok",
        "issuer.ok",
        "validity.ok",
        "status.none",
    ]
    for check in report["checks"]:
        assert set(check) == {"code", "ok", "message"}
        assert check["ok"] is True
        assert isinstance(check["message"], str)


def test_verify_prints_a_readable_verdict(cli: Cli, signed_file: Path) -> None:
    stdout = cli.ok("verify", str(signed_file), "--now", "2025-06-01T00:00:00Z")
    assert "proof.ok" in stdout
    assert stdout.splitlines()[-1] == "VERIFIED"


def test_verify_exits_1_for_a_tampered_credential(
    cli: Cli, signed_file: Path, tmp_path: Path
) -> None:
    signed = json.loads(signed_file.read_text("utf-8"))
    signed["credentialSubject"]["achievement"]["name"] = "Doctor of Medicine"
    tampered = write_json(tmp_path / "tampered.json", signed)
    code, report = verify_json(cli, str(tampered))
    assert code == 1
    assert report["verified"] is False
    assert "proof.invalid" in [c["code"] for c in report["checks"]]


def test_verify_exits_1_for_an_expired_credential_with_now(cli: Cli, signed_file: Path) -> None:
    code, report = verify_json(cli, str(signed_file), "--now", "2040-01-01T00:00:00Z")
    assert code == 1
    failed = [c["code"] for c in report["checks"] if not c["ok"]]
    assert failed == ["validity.expired"]


def test_verify_reads_standard_input(cli: Cli, signed_file: Path) -> None:
    done = cli("verify", "--json", "-", "--now", CREATED, stdin=signed_file.read_text("utf-8"))
    assert done.returncode == 0
    assert json.loads(done.stdout)["verified"] is True


def test_verify_consults_a_status_list_given_on_the_command_line(cli: Cli, tmp_path: Path) -> None:
    entry = {
        "id": f"{LIST_URL}#7",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "7",
        "statusListCredential": LIST_URL,
    }
    credential = credstack.sign(unsigned_credential(credentialStatus=entry), KEY, created=ISSUED)
    bits = status_list.new_bitstring()
    status_list.set_status(bits, 7)
    status_doc = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": DID,
        "validFrom": CREATED,
        "credentialSubject": {
            "id": f"{LIST_URL}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": status_list.encode(bits),
        },
    }
    signed_list = add_proof(status_doc, KEY, created=CREATED, loader=default_loader())
    source = write_json(tmp_path / "credential.json", credential)
    list_file = write_json(tmp_path / "list.json", signed_list)
    code, report = verify_json(cli, str(source), "--status-list", str(list_file), "--now", CREATED)
    assert code == 1
    assert [c["code"] for c in report["checks"] if not c["ok"]] == ["status.revoked"]


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("missing.json", None, ("no such file",)),
        ("malformed.json", b'{"@context": [', ("not JSON",)),
        ("array.json", b"[1, 2, 3]", ("JSON object",)),
        ("garbage.bin", b"\xff\xfe\x00\x80", ("neither text",)),
        ("plain.png", demo_badge_png("plain"), ("no baked credential",)),
    ],
    ids=["missing-file", "malformed-json", "json-array", "garbage", "image-without-credential"],
)
def test_verify_exits_2_for_unusable_input(
    cli: Cli, tmp_path: Path, name: str, content: bytes | None, words: tuple[str, ...]
) -> None:
    if content is not None:
        (tmp_path / name).write_bytes(content)
    done = cli("verify", "--json", name)
    assert done.stdout == ""
    assert_unusable(done, *words)


def test_verify_refuses_a_bad_now(cli: Cli, signed_file: Path) -> None:
    assert_unusable(cli("verify", str(signed_file), "--now", "tomorrow"), "--now")


# -- bake and unbake ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_bake_then_unbake_returns_the_credential(
    cli: Cli, tmp_path: Path, signed_file: Path, kind: str
) -> None:
    image = tmp_path / f"badge.{kind}"
    image.write_bytes(demo_badge_png("CLI") if kind == "png" else demo_badge_svg("CLI"))
    done = cli("bake", "--image", str(image), str(signed_file), "--out", f"baked.{kind}")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    baked = tmp_path / f"baked.{kind}"
    unbaked = cli.ok("unbake", str(baked))
    assert json.loads(unbaked) == json.loads(signed_file.read_text("utf-8"))
    code, report = verify_json(cli, str(baked), "--now", CREATED)
    assert code == 0
    assert report["verified"] is True


def test_bake_accepts_a_vc_jwt(cli: Cli, tmp_path: Path) -> None:
    token = credstack.sign(unsigned_credential(), KEY, suite="vc-jwt", created=ISSUED)
    assert isinstance(token, str)
    source = tmp_path / "token.jwt"
    source.write_text(token + "\n", "utf-8")
    image = tmp_path / "badge.png"
    image.write_bytes(demo_badge_png())
    cli.ok("bake", "--image", str(image), str(source), "--out", "baked.png")
    assert cli.ok("unbake", "baked.png").strip() == token


def test_bake_refuses_a_payload_that_is_no_credential(cli: Cli, tmp_path: Path) -> None:
    image = tmp_path / "badge.png"
    image.write_bytes(demo_badge_png())
    source = tmp_path / "note.txt"
    source.write_text("just some text", "utf-8")
    assert_unusable(cli("bake", "--image", str(image), str(source), "--out", "o.png"), "neither")
    assert not (tmp_path / "o.png").exists()


def test_unbake_of_an_image_without_a_credential_exits_2(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "plain.svg").write_bytes(demo_badge_svg("plain"))
    assert_unusable(cli("unbake", "plain.svg"), "no baked credential")


# -- bench and demo -----------------------------------------------------------------------


def test_bench_prints_one_json_line_of_medians(
    cli: Cli, key_file: Path, unsigned_file: Path
) -> None:
    stdout = cli.ok(
        "bench", "--key", str(key_file), "--n", "3", stdin=unsigned_file.read_text("utf-8")
    )
    lines = stdout.splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert set(figures) == {"suite", "n", "issue_ms_median", "verify_ms_median"}
    assert figures["suite"] == "eddsa-rdfc-2022"
    assert figures["n"] == 3
    assert figures["issue_ms_median"] > 0
    assert figures["verify_ms_median"] > 0


def test_demo_issues_the_stack_and_writes_its_files(cli: Cli, tmp_path: Path) -> None:
    stdout = cli.ok("demo", "--out", "demo")
    folder = tmp_path / "demo"
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "1-excel-analysis.json",
        "2-sql-fundamentals.json",
        "3-python-for-data.json",
        "4-data-analyst-certificate.json",
        "data-analyst-certificate.png",
        "issuer-key.json",
    ]
    assert stat.S_IMODE((folder / "issuer-key.json").stat().st_mode) == 0o600
    assert "verifies" in stdout
    assert "does not verify" not in stdout
    certificate = json.loads((folder / "4-data-analyst-certificate.json").read_text("utf-8"))
    assert credstack.verify(certificate).verified
    assert credstack.verify((folder / "data-analyst-certificate.png").read_bytes()).verified


def test_an_unknown_command_exits_2_with_one_line(cli: Cli) -> None:
    assert_unusable(cli("frobnicate"), "frobnicate")

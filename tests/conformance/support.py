"""Where the standards folder is, and readers for the vectors it holds.

The vectors are read from ``../shared/specs`` (beside the repository; override with
``CREDSTACK_SHARED``), never copied into the repository. The 1EdTech OB 3.0 and CLR 2.0
vectors live inside the implementation-guide HTML fragments; :func:`guide_page` extracts
the credential JSON, the hex values and the key from those pages.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from credstack.crypto.did import DidResolver, VerificationMethod, did_document
from credstack.crypto.keys import Ed25519Key, ed25519_from_seed
from credstack.crypto.loader import OfflineLoader

SHARED = Path(os.environ.get("CREDSTACK_SHARED", Path(__file__).resolve().parents[3] / "shared"))
SPECS = SHARED / "specs"
SHARED_MISSING = (
    f"the shared standards folder {SPECS} is missing: clone it beside the repository "
    "(as ../shared) or point CREDSTACK_SHARED at it"
)
#: Module-level ``pytestmark`` for every conformance module.
requires_shared = pytest.mark.skipif(not SPECS.is_dir(), reason=SHARED_MISSING)

EDDSA_VECTORS = SPECS / "vc-di-eddsa" / "TestVectors"
GUIDE = SPECS / "ob_v3p0" / "test-vectors-1edtech"
STATUS_FIXTURES = SPECS / "bitstring-status-list" / "1edtech-validator-fixture"

#: The OB/CLR test key as a Multikey (STANDARDS-NOTES 1.10).
OB_KEY_MULTIBASE = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
_HEX = re.compile(r"^[0-9a-f]+$")


def read_json(path: Path) -> dict[str, Any]:
    value = json.loads(path.read_bytes().decode("utf-8"))
    assert isinstance(value, dict), f"{path} does not hold a JSON object"
    return value


def read_text(path: Path) -> str:
    """The exact text of a file (no newline translation)."""
    return path.read_bytes().decode("utf-8")


def string_contexts(document: dict[str, Any]) -> list[str]:
    contexts = document.get("@context", [])
    listed = contexts if isinstance(contexts, list) else [contexts]
    return [c for c in listed if isinstance(c, str)]


def skip_unless_offline(document: dict[str, Any], loader: OfflineLoader) -> None:
    """Skip the test when a context of ``document`` is not available to the offline loader."""
    missing = [url for url in string_contexts(document) if url not in loader]
    if missing:
        pytest.skip(
            f"context {', '.join(missing)} is not available offline (neither vendored by "
            "credstack nor in shared/specs/contexts), so the document cannot be canonicalized"
        )


class _GuideParser(HTMLParser):
    """Collects ``<pre title=…>`` blocks and ``<code>`` texts under each ``<h3>`` heading."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: dict[str, str] = {}
        self.codes: dict[str, list[str]] = {}
        self._heading = ""
        self._capture: str | None = None
        self._title = ""
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._capture is not None:
            return
        if tag in ("h3", "code", "pre"):
            self._capture = tag
            self._title = dict(attrs).get("title") or ""
            self._buffer = []

    def handle_endtag(self, tag: str) -> None:
        if tag != self._capture:
            return
        text = "".join(self._buffer)
        if tag == "h3":
            self._heading = " ".join(text.split())
        elif tag == "code":
            self.codes.setdefault(self._heading, []).append(text.strip())
        else:
            self.blocks[self._title] = text
        self._capture = None

    def handle_data(self, data: str) -> None:
        if self._capture is not None:
            self._buffer.append(data)


@dataclass(frozen=True)
class GuidePage:
    """One 1EdTech implementation-guide test-vector page."""

    blocks: dict[str, str]
    codes: dict[str, list[str]] = field(repr=False)

    def json_block(self, title: str) -> dict[str, Any]:
        value = json.loads(self.blocks[title])
        assert isinstance(value, dict)
        return value

    def code(self, heading: str) -> str:
        """The single ``<code>`` value under the ``<h3>`` called ``heading``."""
        (value,) = self.codes[heading]
        return value

    def hex_code(self, heading: str, length: int) -> str:
        """The hex ``<code>`` of ``length`` characters under ``heading``."""
        found = [c for c in self.codes[heading] if len(c) == length and _HEX.match(c)]
        assert len(found) == 1, f"expected one {length}-hex value under {heading!r}: {found}"
        return found[0]

    @property
    def credential(self) -> dict[str, Any]:
        return self.json_block("Credential")

    @property
    def signed(self) -> dict[str, Any]:
        return self.json_block("Signed credential")

    @property
    def public_hex(self) -> str:
        return self.hex_code("Key pair & Multikey", 64)

    @property
    def private_hex(self) -> str:
        """The 64-byte secret key (seed || public key) as the page prints it."""
        return self.hex_code("Key pair & Multikey", 128)


@cache
def guide_page(name: str) -> GuidePage:
    parser = _GuideParser()
    parser.feed(read_text(GUIDE / name))
    parser.close()
    return GuidePage(parser.blocks, parser.codes)


def ob_test_key(page: GuidePage, issuer: str) -> Ed25519Key:
    """The OB/CLR test key bound to ``issuer`` (an https controller, as in the vectors)."""
    seed = bytes.fromhex(page.private_hex)[:32]
    return ed25519_from_seed(seed, controller=issuer, key_id=f"{issuer}#{OB_KEY_MULTIBASE}")


def controller_resolver(key: Ed25519Key) -> DidResolver:
    """A resolver holding the controller document that lists ``key``."""
    method = VerificationMethod(key.verification_method, key.controller, key.public)
    return DidResolver([did_document(key.controller, [method])])

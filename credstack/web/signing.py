"""Short-lived signed tokens for HTML forms (CSRF tokens, multi-step form state).

``payload.mac``: base64url of a compact JSON object carrying an expiry, and an
HMAC-SHA256 over it with a key derived from the platform secret and a purpose, so that a
token made for one form is worthless in another. Tokens are integrity-protected, not
encrypted: put nothing secret in them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from credstack.crypto.keys import b64url, b64url_decode


class Signer:
    def __init__(self, secret: bytes, purpose: str) -> None:
        self._key = hmac.new(secret, f"credstack/{purpose}".encode(), hashlib.sha256).digest()

    def mac(self, data: str) -> str:
        """A keyed digest of ``data`` (hex), e.g. to store a short code without the code."""
        return hmac.new(self._key, data.encode("utf-8"), hashlib.sha256).hexdigest()

    def sign(self, payload: dict[str, Any], *, now: datetime, seconds: int) -> str:
        body = {**payload, "exp": int(now.timestamp()) + seconds}
        raw = b64url(json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        tag = b64url(hmac.new(self._key, raw.encode("utf-8"), hashlib.sha256).digest())
        return f"{raw}.{tag}"

    def unsign(self, token: str, *, now: datetime) -> dict[str, Any] | None:
        """The payload of a genuine, unexpired token; None for anything else."""
        raw, _, tag = token.partition(".")
        if not raw or not tag or len(token) > 4096:
            return None
        expected = b64url(hmac.new(self._key, raw.encode("utf-8"), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, tag):
            return None
        try:
            body = json.loads(b64url_decode(raw))
        except ValueError:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("exp"), int):
            return None
        return body if body["exp"] > now.timestamp() else None

"""Reading a pathway in either format: CTDL JSON-LD or credstack's own JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from credstack.domain.ctdl_import import from_ctdl, is_ctdl
from credstack.domain.errors import Invalid
from credstack.domain.pathway_json import FORMAT, from_json
from credstack.domain.pathways import Pathway


def is_credstack(data: Mapping[str, Any]) -> bool:
    """Whether ``data`` is credstack's format (its ``format``, or components + milestones)."""
    return data.get("format") == FORMAT or ("components" in data and "milestones" in data)


def parse_pathway(data: object) -> Pathway:
    """The pathway in ``data``, CTDL JSON-LD or credstack's JSON (detected).

    Raises Invalid, with a one-line message, for anything else or a malformed pathway.
    """
    if not isinstance(data, Mapping):
        raise Invalid("a pathway must be a JSON object")
    if is_credstack(data):
        return from_json(data)
    if is_ctdl(data):
        return from_ctdl(data)
    raise Invalid(
        f"neither a credstack pathway (format {FORMAT!r} with components and milestones) "
        "nor CTDL JSON-LD (a ceterms:Pathway)"
    )

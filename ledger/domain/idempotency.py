"""Event ids and content fingerprints: the same id must always mean the same request."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

from ledger.domain.errors import InvalidInput

EVENT_ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,64}$"
_EVENT_ID = re.compile(EVENT_ID_PATTERN)
# The fingerprint's canonical text; made once (json.dumps with options builds an encoder on
# every call, on every write).
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
)


def check_event_id(event_id: str) -> None:
    """1 to 64 characters of [A-Za-z0-9_.:-], usually a UUID made by the client."""
    if not _EVENT_ID.fullmatch(event_id):
        raise InvalidInput("event_id", "must be 1-64 characters of A-Z a-z 0-9 _ . : -")


def fingerprint(operation: str, actor: str, inputs: Mapping[str, object]) -> str:
    """Same key + different fingerprint means the client reused a key: reject, don't guess.

    The actor is part of the content: another user replaying someone's event_id must not
    read their receipt.
    """
    canonical = _CANONICAL.encode({"operation": operation, "actor": actor, "inputs": inputs})
    return hashlib.sha256(canonical.encode()).hexdigest()

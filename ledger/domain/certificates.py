"""Volunteer service certificates: a number anyone can check against the issuer."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date


def certificate_number(volunteer_id: int, total_minutes: int, issued_on: date, key: bytes) -> str:
    """HS-<year>-<volunteer>-<tag>: the tag signs the volunteer, the hours and the date, so a
    certificate with altered hours does not match its number."""
    body = f"{volunteer_id}:{total_minutes}:{issued_on.isoformat()}"
    tag = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:8].upper()
    return f"HS-{issued_on.year}-{volunteer_id:06d}-{tag}"

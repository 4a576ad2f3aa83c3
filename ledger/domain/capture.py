"""When a scan happened: the capture time a device sends, within the rules' bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ledger.domain.access import Role
from ledger.domain.errors import CapturedAtOutOfRange, InvalidInput
from ledger.domain.rules import EarningRules

# Staff scan for others and sync after long offline rounds; everyone else scans for themselves.
STAFF_ROLES = frozenset({Role.INSPECTOR, Role.CLERK})


def check_captured_at(captured_at: datetime | None) -> datetime | None:
    """A capture time names its offset (a device's local clock alone is ambiguous); kept in
    UTC so the same instant written with another offset is the same request."""
    if captured_at is None:
        return None
    if captured_at.tzinfo is None or captured_at.utcoffset() is None:
        raise InvalidInput("captured_at", "needs a UTC offset, e.g. 2026-12-05T23:58:00+08:00")
    return captured_at.astimezone(UTC)


def captured_input(captured_at: datetime | None) -> dict[str, object]:
    """The capture time is part of what a scan says, so a resend under the same event id must
    carry the same one (or none). Absent, the fingerprint is the one it was before capture
    times existed, so events stored earlier still replay."""
    return {} if captured_at is None else {"captured_at": captured_at.isoformat()}


def max_age(role: Role, rules: EarningRules) -> timedelta:
    minutes = (
        rules.captured_at_staff_max_age_minutes
        if role in STAFF_ROLES
        else rules.captured_at_public_max_age_minutes
    )
    return timedelta(minutes=minutes)


def scan_moment(
    captured_at: datetime | None, now: datetime, role: Role, rules: EarningRules
) -> datetime:
    """The moment a scan counts at: its capture time when within bounds, else the server's."""
    if captured_at is None:
        return now
    oldest, latest = (
        now - max_age(role, rules),
        now + timedelta(minutes=rules.captured_at_future_max_minutes),
    )
    if not oldest <= captured_at <= latest:
        raise CapturedAtOutOfRange(
            f"captured_at must be between {oldest.isoformat()} and {latest.isoformat()} "
            "(server time)",
            oldest=oldest.isoformat(),
            latest=latest.isoformat(),
        )
    return captured_at

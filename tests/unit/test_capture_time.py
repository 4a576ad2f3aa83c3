"""A scan counts at its capture time when that is within the rules' bounds for the role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ledger.domain.access import Role
from ledger.domain.capture import captured_input, check_captured_at, scan_moment
from ledger.domain.errors import CapturedAtOutOfRange, InvalidInput
from ledger.domain.rules import DEFAULT_RULES, parse_rules

NOW = datetime(2026, 12, 5, 16, 30, tzinfo=UTC)  # 00:30 on 12-06 in Shanghai
STAFF = [Role.INSPECTOR, Role.CLERK]
PUBLIC = [Role.RESIDENT, Role.VOLUNTEER]


def test_without_a_capture_time_the_scan_counts_at_the_server_s_time() -> None:
    assert scan_moment(None, NOW, Role.RESIDENT, DEFAULT_RULES) == NOW


@pytest.mark.parametrize("role", STAFF)
def test_staff_scans_count_at_capture_times_up_to_72_hours_old(role: Role) -> None:
    oldest = NOW - timedelta(hours=72)
    assert scan_moment(oldest, NOW, role, DEFAULT_RULES) == oldest
    with pytest.raises(CapturedAtOutOfRange):
        scan_moment(oldest - timedelta(seconds=1), NOW, role, DEFAULT_RULES)


@pytest.mark.parametrize("role", PUBLIC)
def test_residents_and_volunteers_get_ten_minutes(role: Role) -> None:
    oldest = NOW - timedelta(minutes=10)
    assert scan_moment(oldest, NOW, role, DEFAULT_RULES) == oldest
    with pytest.raises(CapturedAtOutOfRange):
        scan_moment(oldest - timedelta(seconds=1), NOW, role, DEFAULT_RULES)
    with pytest.raises(CapturedAtOutOfRange):
        scan_moment(NOW - timedelta(hours=2), NOW, role, DEFAULT_RULES)


@pytest.mark.parametrize("role", STAFF + PUBLIC)
def test_no_role_reaches_more_than_five_minutes_ahead(role: Role) -> None:
    latest = NOW + timedelta(minutes=5)
    assert scan_moment(latest, NOW, role, DEFAULT_RULES) == latest
    with pytest.raises(CapturedAtOutOfRange) as refused:
        scan_moment(latest + timedelta(seconds=1), NOW, role, DEFAULT_RULES)
    assert refused.value.extra["latest"] == latest.isoformat()


def test_the_bounds_are_rules() -> None:
    rules = parse_rules(
        {
            "captured_at_staff_max_age_minutes": 60,
            "captured_at_public_max_age_minutes": 0,
            "captured_at_future_max_minutes": 0,
        }
    )
    with pytest.raises(CapturedAtOutOfRange):
        scan_moment(NOW - timedelta(minutes=61), NOW, Role.INSPECTOR, rules)
    with pytest.raises(CapturedAtOutOfRange):
        scan_moment(NOW - timedelta(seconds=1), NOW, Role.RESIDENT, rules)
    with pytest.raises(CapturedAtOutOfRange):
        scan_moment(NOW + timedelta(seconds=1), NOW, Role.CLERK, rules)
    assert scan_moment(NOW, NOW, Role.RESIDENT, rules) == NOW


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("captured_at_staff_max_age_minutes", -1),
        ("captured_at_staff_max_age_minutes", 30 * 24 * 60 + 1),
        ("captured_at_public_max_age_minutes", 24 * 60 + 1),
        ("captured_at_future_max_minutes", 61),
        ("captured_at_future_max_minutes", "5"),
    ],
)
def test_bad_bounds_are_refused_naming_the_rule(key: str, value: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_rules({key: value})
    assert refused.value.extra["field"] == f"rules.{key}"


def test_the_defaults_are_72_hours_10_minutes_and_5_minutes() -> None:
    assert DEFAULT_RULES.captured_at_staff_max_age_minutes == 72 * 60
    assert DEFAULT_RULES.captured_at_public_max_age_minutes == 10
    assert DEFAULT_RULES.captured_at_future_max_minutes == 5


def test_a_capture_time_needs_its_offset() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_captured_at(datetime(2026, 12, 5, 23, 58))  # noqa: DTZ001 (the point)
    assert refused.value.extra["field"] == "captured_at"


def test_the_same_instant_with_another_offset_is_the_same_request() -> None:
    local = datetime(2026, 12, 5, 23, 58, tzinfo=timezone(timedelta(hours=8)))
    utc = check_captured_at(local.astimezone(UTC))
    assert captured_input(check_captured_at(local)) == captured_input(utc)
    assert captured_input(None) == {}

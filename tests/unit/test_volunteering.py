"""Who a volunteer serves with; what an application carries (ledger/domain/volunteering.py)."""

from __future__ import annotations

import pytest

from ledger.domain.errors import InvalidInput
from ledger.domain.volunteering import (
    Affiliation,
    Party,
    check_application,
    check_party,
    check_status,
    hours_text,
)


def test_no_party_is_the_default() -> None:
    assert check_party(None, None) == Party(Affiliation.NONE, "")
    assert check_party("none", "") == Party()


def test_a_party_member_names_their_branch_trimmed() -> None:
    party = check_party("party_member", "  信义坊第一党支部 ")
    assert party == Party(Affiliation.PARTY_MEMBER, "信义坊第一党支部")


@pytest.mark.parametrize("branch", [None, "", "   ", "x" * 101, "支部\x00"])
def test_a_party_member_without_a_fit_branch_is_refused(branch: str | None) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_party("party_member", branch)
    assert refused.value.extra["field"] == "party.branch"


@pytest.mark.parametrize("kind", ["none", "owners_committee", "property_company"])
def test_only_a_party_member_names_a_branch(kind: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_party(kind, "第一党支部")
    assert refused.value.extra["field"] == "party.branch"


def test_the_committee_and_the_company_need_no_branch() -> None:
    assert check_party("owners_committee", None).affiliation is Affiliation.OWNERS_COMMITTEE
    assert check_party("property_company", "").affiliation is Affiliation.PROPERTY_COMPANY


def test_an_unknown_party_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_party("union", None)
    assert refused.value.extra["field"] == "party.kind"


def test_an_application_is_checked_field_by_field() -> None:
    application = check_application(" 朱秀娟 ", "+86 138-1234-5678", "582039", None, None)
    assert (application.name, application.phone, application.pin) == (
        "朱秀娟",
        "13812345678",
        "582039",
    )
    for name, phone, pin, field in (
        ("", "13812345678", "582039", "name"),
        ("朱" * 51, "13812345678", "582039", "name"),
        ("朱秀娟", "02812345678", "582039", "phone"),
        ("朱秀娟", "13812345678", "111111", "pin"),
    ):
        with pytest.raises(InvalidInput) as refused:
            check_application(name, phone, pin, None, None)
        assert refused.value.extra["field"] == field


def test_statuses() -> None:
    assert check_status("declined") == "declined"
    with pytest.raises(InvalidInput):
        check_status("open")


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0, "0.0"), (5, "0.0"), (6, "0.1"), (90, "1.5"), (95, "1.5"), (600, "10.0")],
)
def test_hours_are_shown_with_one_decimal_rounded_down(minutes: int, text: str) -> None:
    assert hours_text(minutes) == text

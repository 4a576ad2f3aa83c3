"""Volunteers who apply by themselves, and the party they serve with (issue 15, item 3).

The subdistrict's volunteer scheme rests on three parties: Communist Party members (党员),
who belong to a branch (党支部); members of a compound's owners' committee (业委会); and staff
of the property company (物业). A volunteer names at most one of them; everyone else is
`none`. Hours are reported by affiliation, and party members' hours also by branch.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ledger.domain.errors import InvalidInput
from ledger.domain.phones import check_pin, parse_phone
from ledger.domain.registry import check_name

BRANCH_LENGTH_MAX = 100
NAME_LENGTH_MAX = 50  # the login's display name (app_user.display_name)
APPLICATION_STATUSES = ("pending", "approved", "declined")


class Affiliation(StrEnum):
    NONE = "none"
    PARTY_MEMBER = "party_member"
    OWNERS_COMMITTEE = "owners_committee"
    PROPERTY_COMPANY = "property_company"


@dataclass(frozen=True, slots=True)
class Party:
    """Which party a volunteer serves with; `branch` is a party member's branch, else ""."""

    affiliation: Affiliation = Affiliation.NONE
    branch: str = ""


def check_party(kind: str | None, branch: str | None) -> Party:
    """No party, or one of the three; a party member names their branch, nobody else does."""
    if kind is None or kind == Affiliation.NONE.value:
        if branch:
            raise InvalidInput("party.branch", "only a party member names a branch")
        return Party()
    try:
        affiliation = Affiliation(kind)
    except ValueError as error:
        choices = ", ".join(a.value for a in Affiliation)
        raise InvalidInput("party.kind", f"must be one of {choices}") from error
    text = (branch or "").strip()
    if affiliation is not Affiliation.PARTY_MEMBER:
        if text:
            raise InvalidInput("party.branch", "only a party member names a branch")
        return Party(affiliation)
    if not text or len(text) > BRANCH_LENGTH_MAX or not text.isprintable():
        raise InvalidInput(
            "party.branch", f"a party member names their branch (1-{BRANCH_LENGTH_MAX} characters)"
        )
    return Party(affiliation, text)


@dataclass(frozen=True, slots=True)
class Application:
    """What an applicant sends, checked: their name, mobile number, PIN and party."""

    name: str
    phone: str
    pin: str
    party: Party


def check_application(
    name: str, phone: str, pin: str, kind: str | None, branch: str | None
) -> Application:
    """Every field checked; the first bad one is named."""
    checked = check_name(name)
    if len(checked) > NAME_LENGTH_MAX or not checked.isprintable():
        raise InvalidInput("name", f"must be 1-{NAME_LENGTH_MAX} printable characters")
    return Application(
        name=checked,
        phone=parse_phone(phone),
        pin=check_pin(pin),
        party=check_party(kind, branch),
    )


def check_status(status: str) -> str:
    if status not in APPLICATION_STATUSES:
        raise InvalidInput("status", f"must be one of {', '.join(APPLICATION_STATUSES)}")
    return status


def hours_text(minutes: int) -> str:
    """Minutes as hours with one decimal, rounded down (no floats): 95 → "1.5"."""
    return f"{minutes // 60}.{minutes % 60 * 10 // 60}"

"""household_member: which households each person belongs to, as a resident or a helper."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.store.tables import AppUser, HouseholdMember


@dataclass(frozen=True)
class Membership:
    household_id: int
    user_id: int
    helper: bool


async def add(household_id: int, user_id: int, helper: bool, at: datetime) -> None:
    """In the caller's transaction; a second row for the same pair is refused by the index."""
    await HouseholdMember.insert(
        HouseholdMember(household=household_id, user=user_id, helper=helper, created_at=at)
    )


async def households_of(user_id: int) -> list[Membership]:
    """The households a person belongs to, the one they live in first."""
    rows = await (
        HouseholdMember.select(HouseholdMember.household, HouseholdMember.helper)
        .where(HouseholdMember.user == user_id)
        .order_by(HouseholdMember.helper)
        .order_by(HouseholdMember.household)
    )
    return [Membership(row["household"], user_id, row["helper"]) for row in rows]


async def members_of(household_id: int) -> list[Membership]:
    rows = await (
        HouseholdMember.select(HouseholdMember.user, HouseholdMember.helper)
        .where(HouseholdMember.household == household_id)
        .order_by(HouseholdMember.id)
    )
    return [Membership(household_id, row["user"], row["helper"]) for row in rows]


async def users_of_volunteer(volunteer_id: int) -> list[int]:
    """The logins of a volunteer record (whom a volunteer's notice reaches)."""
    rows = await (
        AppUser.select(AppUser.id)
        .where((AppUser.volunteer == volunteer_id) & (AppUser.active.eq(True)))
        .order_by(AppUser.id)
    )
    return [int(row["id"]) for row in rows]

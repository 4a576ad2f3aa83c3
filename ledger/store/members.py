"""household_member: which households each person belongs to, as a resident or a helper."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.store import sql
from ledger.store.tables import AppUser, Household, HouseholdMember


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


async def membership(household_id: int, user_id: int) -> Membership | None:
    row = await (
        HouseholdMember.select(HouseholdMember.helper)
        .where((HouseholdMember.household == household_id) & (HouseholdMember.user == user_id))
        .first()
    )
    return None if row is None else Membership(household_id, user_id, row["helper"])


async def count(household_id: int) -> int:
    return int(await HouseholdMember.count().where(HouseholdMember.household == household_id))


@dataclass(frozen=True, slots=True)
class MemberRow:
    user_id: int
    helper: bool
    created_at: datetime | str
    pin_reset_at: datetime | str | None
    display_name: str
    phone: str | None


LISTED_MEMBERS = (
    'SELECT m."user" AS user_id, m.helper, m.created_at, m.pin_reset_at, '
    "u.display_name, u.phone FROM household_member m "
    'JOIN app_user u ON u.id = m."user" WHERE m.household = $1 ORDER BY m.id'
)


async def listed(household_id: int) -> list[MemberRow]:
    """Each member with what the members list shows, in the order they joined."""
    rows = await sql.fetch(LISTED_MEMBERS, household_id)
    return [
        MemberRow(
            user_id=row["user_id"],
            helper=bool(row["helper"]),
            created_at=row["created_at"],
            pin_reset_at=row["pin_reset_at"],
            display_name=row["display_name"] or "",
            phone=row["phone"],
        )
        for row in rows
    ]


async def remove(household_id: int, user_id: int) -> bool:
    """In the caller's transaction: the membership ends; if the person lived there, their
    login no longer names a household. False if they were not a member."""
    if await membership(household_id, user_id) is None:
        return False
    await HouseholdMember.delete().where(
        (HouseholdMember.household == household_id) & (HouseholdMember.user == user_id)
    )
    await AppUser.update({AppUser.household: None}).where(
        (AppUser.id == user_id) & (AppUser.household == household_id)
    )
    return True


async def pin_reset(household_id: int, user_id: int, at: datetime) -> None:
    await HouseholdMember.update({HouseholdMember.pin_reset_at: at}).where(
        (HouseholdMember.household == household_id) & (HouseholdMember.user == user_id)
    )


async def hold_household(household_id: int, card_serial: int, join_code: str) -> bool:
    """In the caller's transaction: lock the household's row (PostgreSQL; SQLite has one
    writer) while its card and join code are still these, so that two joins at once count
    each other's members. False if the card or the code changed since they were checked."""
    rows = await sql.fetch(
        "UPDATE household SET join_code = join_code WHERE id = $1 AND card_serial = $2 "
        "AND join_code = $3 RETURNING id",
        household_id,
        card_serial,
        join_code,
    )
    return bool(rows)


async def set_join_code(household_id: int, join_code: str) -> bool:
    updated = (
        await Household.update({Household.join_code: join_code})
        .where(Household.id == household_id)
        .returning(Household.id)
    )
    return bool(updated)


async def users_of_volunteer(volunteer_id: int) -> list[int]:
    """The logins of a volunteer record (whom a volunteer's notice reaches)."""
    rows = await (
        AppUser.select(AppUser.id)
        .where((AppUser.volunteer == volunteer_id) & (AppUser.active.eq(True)))
        .order_by(AppUser.id)
    )
    return [int(row["id"]) for row in rows]

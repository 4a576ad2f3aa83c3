"""app_user and user_compound: who signs in, how, and the compounds they serve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.store.tables import AppUser, UserCompound


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    username: str
    password_hash: str
    role: str
    household_id: int | None
    volunteer_id: int | None
    active: bool
    token_version: int
    credential: str
    phone: str | None
    display_name: str


@dataclass(frozen=True, slots=True)
class NewUser:
    """A login to add: by staff with a password, or a PIN account (`credential` "pin")."""

    username: str
    password_hash: str
    role: str
    household_id: int | None
    volunteer_id: int | None
    created_at: datetime
    credential: str = "password"
    phone: str | None = None
    display_name: str = ""


def _user(row: dict[str, Any]) -> UserRow:
    return UserRow(
        id=row["id"],
        username=row["username"],
        password_hash=row["password_hash"],
        role=row["role"],
        household_id=row["household"],
        volunteer_id=row["volunteer"],
        active=bool(row["active"]),
        token_version=row["token_version"],
        credential=row["credential"],
        phone=row["phone"],
        display_name=row["display_name"] or "",
    )


async def user_by_id(user_id: int) -> UserRow | None:
    row = await AppUser.select().where(AppUser.id == user_id).first()
    return None if row is None else _user(row)


async def user_by_username(username: str) -> UserRow | None:
    row = await AppUser.select().where(AppUser.username == username).first()
    return None if row is None else _user(row)


async def user_by_phone(phone: str) -> UserRow | None:
    """The account that has this mobile number, whatever it signs in with."""
    row = await AppUser.select().where(AppUser.phone == phone).first()
    return None if row is None else _user(row)


async def pin_user_by_phone(phone: str) -> UserRow | None:
    row = await (
        AppUser.select().where((AppUser.phone == phone) & (AppUser.credential == "pin")).first()
    )
    return None if row is None else _user(row)


async def name_taken(name: str) -> bool:
    """Some account signs in with this name already (as its username or its number)."""
    return bool(await AppUser.exists().where((AppUser.username == name) | (AppUser.phone == name)))


async def add(user: NewUser) -> int:
    """In the caller's transaction; returns the new user's id."""
    rows = await AppUser.insert(
        AppUser(
            username=user.username,
            password_hash=user.password_hash,
            role=user.role,
            household=user.household_id,
            volunteer=user.volunteer_id,
            active=True,
            created_at=user.created_at,
            credential=user.credential,
            phone=user.phone,
            display_name=user.display_name,
        )
    ).returning(AppUser.id)
    return int(rows[0]["id"])


async def compounds_of(user_id: int) -> frozenset[int]:
    rows = await UserCompound.select(UserCompound.compound).where(UserCompound.user == user_id)
    return frozenset(int(row["compound"]) for row in rows)


async def set_compounds(user_id: int, compound_ids: frozenset[int]) -> None:
    """In the caller's transaction: the user serves exactly these compounds."""
    await UserCompound.delete().where(UserCompound.user == user_id)
    await add_compounds(user_id, compound_ids)


async def add_compounds(user_id: int, compound_ids: frozenset[int]) -> None:
    if compound_ids:
        await UserCompound.insert(
            *(UserCompound(user=user_id, compound=c) for c in sorted(compound_ids))
        )


async def set_role(user_id: int, role: str) -> None:
    await AppUser.update({AppUser.role: role}).where(AppUser.id == user_id)


async def set_password_hash(user_id: int, password_hash: str) -> None:
    await AppUser.update({AppUser.password_hash: password_hash}).where(AppUser.id == user_id)


async def deactivate(user_id: int) -> None:
    await AppUser.update({AppUser.active: False}).where(AppUser.id == user_id)


async def move_to(user_id: int, household_id: int) -> None:
    """The household the user lives in (joining as a resident)."""
    await AppUser.update({AppUser.household: household_id}).where(AppUser.id == user_id)

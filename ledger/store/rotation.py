"""inspector_assignment: the coordinators' rotation plan (issue 19, 2(a))."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ledger.store.locks import lock_row
from ledger.store.tables import AppUser, Compound, InspectorAssignment, UserCompound


@dataclass(frozen=True, slots=True)
class Assignment:
    """One planned week of one inspector on one compound, with the names a plan shows."""

    inspector_id: int
    inspector: str
    compound_id: int
    compound: str
    community_id: int
    week: date


@dataclass(frozen=True, slots=True)
class Inspector:
    id: int
    username: str
    display_name: str
    active: bool


@dataclass(frozen=True, slots=True)
class CompoundName:
    id: int
    name: str


_A = InspectorAssignment


async def lock_inspector(inspector_id: int) -> None:
    """Serialise plan changes of one inspector (two coordinators adding adjacent weeks at once
    could otherwise both pass the consecutive-weeks check)."""
    await lock_row(AppUser, inspector_id)


async def weeks_on(inspector_id: int, compound_id: int) -> list[date]:
    rows = await _A.select(_A.week).where(
        (_A.inspector == inspector_id) & (_A.compound == compound_id)
    )
    return sorted(row["week"] for row in rows)


async def planned(inspector_id: int, first: date, last: date) -> list[tuple[date, int]]:
    """(week, compound) pairs of one inspector's plan from week `first` to week `last`."""
    rows = await _A.select(_A.week, _A.compound).where(
        (_A.inspector == inspector_id) & (_A.week >= first) & (_A.week <= last)
    )
    return sorted((row["week"], int(row["compound"])) for row in rows)


async def exists(inspector_id: int, compound_id: int, week: date) -> bool:
    return bool(
        await _A.exists().where(
            (_A.inspector == inspector_id) & (_A.compound == compound_id) & (_A.week == week)
        )
    )


async def add(inspector_id: int, compound_id: int, week: date, by: str, at: datetime) -> None:
    await _A.insert(
        _A(inspector=inspector_id, compound=compound_id, week=week, assigned_by=by, assigned_at=at)
    )


async def remove(inspector_id: int, compound_id: int, week: date) -> None:
    await _A.delete().where(
        (_A.inspector == inspector_id) & (_A.compound == compound_id) & (_A.week == week)
    )


async def of_community(community_id: int, first: date, last: date) -> list[Assignment]:
    """A community's plan for weeks `first` to `last`, by week, inspector, compound."""
    rows = await _A.select(
        _A.inspector.id.as_alias("inspector_id"),
        _A.inspector.username.as_alias("inspector"),
        _A.compound.id.as_alias("compound_id"),
        _A.compound.name.as_alias("compound"),
        _A.compound.community.as_alias("community_id"),
        _A.week,
    ).where((_A.compound.community == community_id) & (_A.week >= first) & (_A.week <= last))
    found = [
        Assignment(
            int(r["inspector_id"]),
            str(r["inspector"]),
            int(r["compound_id"]),
            str(r["compound"]),
            int(r["community_id"]),
            r["week"],
        )
        for r in rows
    ]
    return sorted(found, key=lambda a: (a.week, a.inspector, a.compound_id))


async def inspector(user_id: int) -> tuple[Inspector, str] | None:
    """An account and its role, or None."""
    row = (
        await AppUser.select(
            AppUser.id, AppUser.username, AppUser.display_name, AppUser.active, AppUser.role
        )
        .where(AppUser.id == user_id)
        .first()
    )
    if row is None:
        return None
    person = Inspector(int(row["id"]), row["username"], row["display_name"], bool(row["active"]))
    return person, str(row["role"])


async def inspectors_of(community_id: int) -> list[Inspector]:
    """Active inspectors who serve a compound of the community (user_compound)."""
    rows = await UserCompound.select(
        UserCompound.user.id.as_alias("id"),
        UserCompound.user.username.as_alias("username"),
        UserCompound.user.display_name.as_alias("display_name"),
    ).where(
        (UserCompound.compound.community == community_id)
        & (UserCompound.user.role == "inspector")
        & (UserCompound.user.active == True)  # noqa: E712 (Piccolo's column comparison)
    )
    unique = {
        int(r["id"]): Inspector(int(r["id"]), r["username"], r["display_name"], True) for r in rows
    }
    return sorted(unique.values(), key=lambda i: i.username)


async def communities_of_inspector(user_id: int) -> frozenset[int]:
    rows = await UserCompound.select(UserCompound.compound.community.as_alias("community")).where(
        UserCompound.user == user_id
    )
    return frozenset(int(r["community"]) for r in rows)


async def compounds_in(community_id: int) -> list[CompoundName]:
    rows = await Compound.select(Compound.id, Compound.name).where(
        Compound.community == community_id
    )
    return sorted((CompoundName(int(r["id"]), str(r["name"])) for r in rows), key=lambda c: c.id)


async def compound_names(compound_ids: frozenset[int]) -> dict[int, str]:
    if not compound_ids:
        return {}
    rows = await Compound.select(Compound.id, Compound.name).where(
        Compound.id.is_in(sorted(compound_ids))
    )
    return {int(r["id"]): str(r["name"]) for r in rows}

"""Roles and what each may reach."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from ledger.domain.errors import Forbidden, HouseholdAmbiguous
from ledger.domain.rotation import WEEK, week_of


class Role(StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    INSPECTOR = "inspector"
    CLERK = "clerk"
    VOLUNTEER = "volunteer"
    RESIDENT = "resident"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting: resolved once from the bearer token, passed to every service call."""

    user_id: int
    username: str
    role: Role
    household_id: int | None = None
    volunteer_id: int | None = None
    compound_ids: frozenset[int] = field(default_factory=frozenset)
    account_ids: frozenset[int] = field(default_factory=frozenset)
    # Every household this person belongs to (issue 15): the one they live in, which is also
    # `household_id`, and those they help. `household_id` is the one lived in, or else the only
    # one they help; `helping` names the households they are a helper of.
    household_ids: frozenset[int] = field(default_factory=frozenset)
    helping: frozenset[int] = field(default_factory=frozenset)
    display_name: str = ""  # what a household's history calls a helper
    # An inspector's rotation plan as the token knows it (issue 19): the weeks (their Mondays)
    # with assignments and the compounds assigned, for the weeks from `rotation_span[0]` to
    # `rotation_span[1]` (None: a token made before the plan existed, or another role).
    rotation: tuple[tuple[date, frozenset[int]], ...] = ()
    rotation_span: tuple[date, date] | None = None

    def households(self) -> frozenset[int]:
        """Every household this person may act for (tokens made before issue 15 carry only
        `household_id`)."""
        if self.household_id is None:
            return self.household_ids
        return self.household_ids | {self.household_id}

    def covers_compound(self, compound_id: int, on: date | None = None) -> bool:
        """Admins reach everything; inspectors, clerks and coordinators only their compounds;
        no other role serves a compound, whatever scopes it was given by mistake. On a local
        day `on`, an inspector's rotation adds the compounds of `rotation_reach(on)`."""
        if self.role is Role.ADMIN:
            return True
        if self.role not in SCOPED_ROLES:
            return False
        if compound_id in self.compound_ids:
            return True
        return on is not None and compound_id in self.rotation_reach(on)

    def rotation_reach(self, on: date) -> frozenset[int]:
        """The compounds assigned in the week of `on` and in the week before (an app that was
        offline syncs Sunday's gradings on Monday), never a later week's: the token carries
        next week's plan too, but a compound is not the inspector's to read before its week."""
        if self.role is not Role.INSPECTOR:
            return frozenset()
        monday = week_of(on)
        reach: set[int] = set()
        for week, compounds in self.rotation:
            if monday - WEEK <= week <= monday:
                reach |= compounds
        return frozenset(reach)

    def assigned_on(self, day: date) -> frozenset[int] | None:
        """The compounds an inspector is assigned to in the week of a local day, or None when
        the plan gives that week no assignment (or the token does not know that week): then
        the standing scope, `compound_ids`, applies as before the plan existed."""
        if self.role is not Role.INSPECTOR or self.rotation_span is None:
            return None
        monday = week_of(day)
        for week, compounds in self.rotation:
            if week == monday:
                return compounds
        return None

    def grades_compound(self, compound_id: int, day: date) -> bool:
        """Whether a grading counted on this local day may be of this compound: in a week
        with assignments only the assigned compounds, otherwise the standing scope."""
        assigned = self.assigned_on(day)
        if assigned is None:
            return self.covers_compound(compound_id)  # without a day: the standing scope
        return compound_id in assigned


def acting_household(principal: Principal, requested: int | None = None) -> int:
    """The household a resident or helper acts for: the one named (403 if not theirs), or
    their only one; with several and none named, 400 `household_ambiguous` naming them."""
    mine = principal.households()
    if requested is not None:
        if requested not in mine:
            raise Forbidden("you are not a member of this household")
        return requested
    if len(mine) == 1:
        return next(iter(mine))
    if not mine:
        raise Forbidden("you are not a member of any household")
    raise HouseholdAmbiguous(
        "household_id: you belong to several households; name the one you act for",
        choices=sorted(mine),
    )


def helper_label(principal: Principal, household_id: int) -> str:
    """ "by helper NAME" when the person acts for a household they help, else ""."""
    if household_id not in principal.helping:
        return ""
    return f"by helper {principal.display_name or principal.username}"


def labelled(memo: str, principal: Principal, household_id: int) -> str:
    """An entry's memo, with who acted when a helper did."""
    label = helper_label(principal, household_id)
    return f"{memo} ({label})" if label and memo else label or memo


SCOPED_ROLES = frozenset({Role.INSPECTOR, Role.CLERK, Role.COORDINATOR})

SYSTEM = Principal(user_id=0, username="system", role=Role.ADMIN)

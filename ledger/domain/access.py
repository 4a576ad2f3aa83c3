"""Roles and what each may reach."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


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

    def covers_compound(self, compound_id: int) -> bool:
        """Admins reach everything; inspectors, clerks and coordinators only their compounds;
        no other role serves a compound, whatever scopes it was given by mistake."""
        if self.role is Role.ADMIN:
            return True
        return self.role in SCOPED_ROLES and compound_id in self.compound_ids


SCOPED_ROLES = frozenset({Role.INSPECTOR, Role.CLERK, Role.COORDINATOR})

SYSTEM = Principal(user_id=0, username="system", role=Role.ADMIN)

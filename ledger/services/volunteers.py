"""Volunteers who apply by themselves, and the coordinators who approve them (issue 15, item 3).

Anyone may apply, signed out: name, mobile number, PIN, community and the party they serve
with. The PIN is hashed at once and never kept or recorded in clear. A coordinator of the
community (one who serves a compound in it) or an admin approves or declines; approval makes
the volunteer record, its account and the PIN login in one transaction, so the applicant signs
in with number and PIN and checks in at the community's duty posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ledger.domain.access import Principal, Role
from ledger.domain.accounts import AccountKind
from ledger.domain.errors import (
    AlreadyDecided,
    Duplicate,
    InvalidInput,
    NotFound,
    OutOfScope,
    PhoneTaken,
)
from ledger.domain.phones import mask_phone, phone_digest
from ledger.domain.volunteering import Affiliation, check_application, check_status, hours_text
from ledger.ports import Clock
from ledger.services.accounts import PAGE_LIMIT_MAX, decode_cursor, encode_cursor
from ledger.services.reports import check_period
from ledger.services.runner import Runner
from ledger.services.users import Users, phone_taken
from ledger.store import ledger as accounts_store
from ledger.store import registry as registry_store
from ledger.store import volunteers as store
from ledger.store.volunteers import ApplicationRow, NewApplication

# Who an application's event is recorded as: the applicant is signed out and has no user yet.
APPLICANT = Principal(user_id=0, username="applicant", role=Role.VOLUNTEER)
REPORT_GROUPINGS = ("affiliation", "branch")


@dataclass(frozen=True, slots=True)
class ApplicationRequest:
    """What someone who asks to volunteer gives: the PIN goes no further than its hash."""

    community_id: int
    name: str
    phone: str
    pin: str
    party_kind: str | None = None
    party_branch: str | None = None


@dataclass(frozen=True, slots=True)
class ApplicationReceived:
    id: int
    status: str


@dataclass(frozen=True, slots=True)
class ApplicationDecided:
    id: int
    status: str
    volunteer_id: int | None = None
    user_id: int | None = None


@dataclass(frozen=True, slots=True)
class ApplicationItem(store.ApplicationFields):
    """An application as a list shows it; the number masked except for admins."""

    created_at: str
    decided_at: str | None
    volunteer_id: int | None


@dataclass(frozen=True, slots=True)
class ApplicationPage:
    items: list[ApplicationItem]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class PartyHours:
    group: str
    volunteers: int
    minutes: int
    hours: str


@dataclass(frozen=True, slots=True)
class HoursByParty:
    """Approved hours of a community's local days `from_`..`to` (ISO dates), by `by`."""

    community_id: int
    community: str
    from_: str
    to: str
    by: str
    rows: list[PartyHours]


@dataclass(frozen=True)
class Volunteers:
    clock: Clock
    runner: Runner
    users: Users

    async def apply(self, event_id: str, request: ApplicationRequest) -> ApplicationReceived:
        """201 `{id, status: "pending"}`; 409 `phone_taken` when the number already signs in,
        409 `duplicate` when it already waits for a decision in this community."""
        community_id = request.community_id
        application = check_application(
            request.name, request.phone, request.pin, request.party_kind, request.party_branch
        )
        # Hashed before the transaction (argon2 is slow on purpose); the PIN itself goes no
        # further: not into the fingerprint, the record of the event, or any log.
        pin_hash = await self.users.hash_pin(application.pin)
        inputs = {
            "community_id": community_id,
            "name": application.name,
            "phone": mask_phone(application.phone),  # kept forever: never the number itself
            "phone_sha256": phone_digest(application.phone, event_id),
            "affiliation": application.party.affiliation.value,
            "party_branch": application.party.branch,
        }

        async def action() -> ApplicationReceived:
            if not await registry_store.community_exists(community_id):
                raise NotFound("community", community_id)
            if await phone_taken(application.phone):
                raise PhoneTaken("this mobile number is already registered", field="phone")
            if await store.pending_with_phone(community_id, application.phone):
                raise Duplicate(
                    "an application with this mobile number is already waiting", field="phone"
                )
            application_id = await store.add_application(
                NewApplication(
                    community_id=community_id,
                    name=application.name,
                    phone=application.phone,
                    pin_hash=pin_hash,
                    affiliation=application.party.affiliation.value,
                    party_branch=application.party.branch,
                    created_at=self.clock.now(),
                )
            )
            return ApplicationReceived(application_id, "pending")

        return await self.runner.once(
            "volunteer_application", event_id, APPLICANT, inputs, action, ApplicationReceived
        )

    async def page(
        self,
        viewer: Principal,
        status: str,
        community_id: int | None,
        cursor: str | None,
        limit: int,
    ) -> ApplicationPage:
        """Applications of the communities the viewer coordinates (all, for an admin), oldest
        first; mobile numbers masked except for admins."""
        check_status(status)
        if not 1 <= limit <= PAGE_LIMIT_MAX:
            raise InvalidInput("limit", f"must be between 1 and {PAGE_LIMIT_MAX}")
        reach = await _reach(viewer)
        if community_id is not None:
            if reach is not None and community_id not in reach:
                raise OutOfScope("you coordinate no compound of this community")
            reach = frozenset({community_id})
        rows = await store.page(status, reach, decode_cursor(cursor), limit + 1)
        items = [_item(row, viewer) for row in rows[:limit]]
        more = len(rows) > limit
        return ApplicationPage(items, encode_cursor(items[-1].id) if more else None)

    async def decide(
        self, actor: Principal, event_id: str, application_id: int, approve: bool
    ) -> ApplicationDecided:
        """Approve: the volunteer, its account and its PIN login, all or nothing (409
        `phone_taken` if the number was registered since it applied). Decline: nothing is
        made. Once only (409 `already_decided`)."""
        inputs = {"application_id": application_id, "approve": approve}

        async def action() -> ApplicationDecided:
            row = await store.held_application(application_id)
            if row is None:
                raise NotFound("volunteer application", application_id)
            reach = await _reach(actor)
            if reach is not None and row.community_id not in reach:
                raise OutOfScope("this application is for a community you do not coordinate")
            if row.status != "pending":
                raise AlreadyDecided(
                    f"application {application_id} is {row.status}",
                    application_id=application_id,
                    status=row.status,
                )
            volunteer_id, user_id = await self._enrol(row) if approve else (None, None)
            status = "approved" if approve else "declined"
            await store.decided(
                application_id, status, actor.user_id or None, self.clock.now(), volunteer_id
            )
            return ApplicationDecided(application_id, status, volunteer_id, user_id)

        return await self.runner.once(
            "volunteer_application_decision", event_id, actor, inputs, action, ApplicationDecided
        )

    async def _enrol(self, application: ApplicationRow) -> tuple[int, int]:
        """In the decision's transaction: the record, its account, the login."""
        if await phone_taken(application.phone):
            raise PhoneTaken("this mobile number is already registered", field="phone")
        now = self.clock.now()
        community_id = application.community_id
        account_id = await accounts_store.open_account(community_id, AccountKind.VOLUNTEER, now)
        volunteer_id = await store.add_volunteer(application, account_id, now)
        user_id = await self.users.add_pin_account(
            application.phone,
            application.pin_hash,
            Role.VOLUNTEER,
            household_id=None,
            volunteer_id=volunteer_id,
            display_name=application.name,
        )
        return volunteer_id, user_id


async def hours_by_party(community_id: int, first: date, last: date, by: str) -> HoursByParty:
    """Approved hours (scanned and back-filled) of local days first..last, per affiliation
    (every one, zeros too) or per party branch (party members only), most hours first. A
    volunteer counts under the party they name today."""
    if by not in REPORT_GROUPINGS:
        raise InvalidInput("by", f"must be one of {', '.join(REPORT_GROUPINGS)}")
    name = await check_period(community_id, first, last)
    rows = await store.minutes_by_party(community_id, first, last + timedelta(days=1))
    totals: dict[str, list[int]] = (
        {a.value: [0, 0] for a in Affiliation} if by == "affiliation" else {}
    )
    for row in rows:
        if by == "branch" and row.affiliation != Affiliation.PARTY_MEMBER.value:
            continue
        key = row.affiliation if by == "affiliation" else row.branch
        total = totals.setdefault(key, [0, 0])
        total[0] += row.volunteers
        total[1] += row.minutes
    ordered = sorted(totals.items(), key=lambda kv: (-kv[1][1], kv[0]))
    grouped = [PartyHours(key, v, m, hours_text(m)) for key, (v, m) in ordered]
    return HoursByParty(community_id, name, first.isoformat(), last.isoformat(), by, grouped)


async def _reach(viewer: Principal) -> frozenset[int] | None:
    """The communities whose applications the viewer decides: None (all) for an admin; for a
    coordinator each community they serve a compound of; nobody else reaches any."""
    if viewer.role is Role.ADMIN:
        return None
    if viewer.role is not Role.COORDINATOR:
        return frozenset()
    return await store.communities_of(viewer.compound_ids)


def _item(row: ApplicationRow, viewer: Principal) -> ApplicationItem:
    return ApplicationItem(
        id=row.id,
        community_id=row.community_id,
        name=row.name,
        phone=row.phone if viewer.role is Role.ADMIN else mask_phone(row.phone),
        affiliation=row.affiliation,
        party_branch=row.party_branch,
        status=row.status,
        created_at=row.created_at.isoformat(),
        decided_at=row.decided_at.isoformat() if row.decided_at else None,
        volunteer_id=row.volunteer_id,
    )

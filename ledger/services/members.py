"""People join a household by its card (issue 15): the join code, the members list, removal.

A household card (its QR) and the household's 6-digit join code, printed apart from the QR on
the card sheet, together let a person join: as a resident, or as a helper of a household they
do not live in. They get a PIN account (mobile number + PIN) or, if their number already has
one, the account gains the household. See docs/decisions/2026-12-06-joining-by-card.md.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from argon2.exceptions import InvalidHashError, VerificationError
from redis.exceptions import RedisError

from ledger.domain.access import Principal, Role
from ledger.domain.errors import (
    Forbidden,
    HouseholdFull,
    InvalidInput,
    JoinRefused,
    NotFound,
    OutOfScope,
    PhoneTaken,
)
from ledger.domain.phones import (
    check_join_code,
    check_pin,
    draw_join_code,
    mask_phone,
    parse_phone,
)
from ledger.domain.registry import household_label
from ledger.ports import Clock, Limiter
from ledger.services import users as users_module
from ledger.services.codes import Codes
from ledger.services.limits import (
    JOIN_CODE_POLICY,
    SIGN_IN_POLICIES,
    RateLimited,
    SignInAttempt,
    SignInLocked,
    SignInPolicy,
)
from ledger.services.runner import Runner
from ledger.services.sessions import Sessions
from ledger.services.users import (
    SignedIn,
    Users,
    check_display_name,
    lock_name_of,
    new_pin_username,
)
from ledger.store import members as store
from ledger.store import registry as registry_store
from ledger.store import sessions as sessions_store
from ledger.store import users as users_store
from ledger.store import views as views_store
from ledger.store.earning import ScannedHousehold
from ledger.store.members import MemberRow
from ledger.store.registry import HouseholdRow
from ledger.store.users import UserRow

log = logging.getLogger(__name__)
# Residents and helpers together: a flat's family and a couple of helpers. A seventh is
# refused (409 household_full); staff remove someone first.
MEMBERS_MAX = 6
# Audited operations (the idempotency record is the audit log): the notices of issue 15 item 6
# read `household.member_joined`.
JOINED = "household.member_joined"
REMOVED = "household.member_removed"
CODE_RESET = "household.join_code_reset"
OPERATIONS = (JOINED, REMOVED, CODE_RESET)


@dataclass(frozen=True, slots=True)
class MemberJoined:
    """What the audit log keeps of a join, and what the notices read (no number, no PIN)."""

    user_id: int
    household_id: int
    helper: bool
    display_name: str
    rejoined: bool


@dataclass(frozen=True, slots=True)
class MemberRemoved:
    household_id: int
    user_id: int
    removed: bool


@dataclass(frozen=True, slots=True)
class JoinCodeReset:
    household_id: int
    join_code: str


@dataclass(frozen=True, slots=True)
class Member:
    """A member as the list shows them; the number masked except for admins and their own."""

    user_id: int
    display_name: str
    phone: str | None
    helper: bool
    joined_at: str | None
    pin_reset_at: str | None


@dataclass(frozen=True, slots=True)
class MemberList:
    items: list[Member]


@dataclass(frozen=True, slots=True)
class HouseholdOfMine:
    """A household a person acts for, labelled with its compound and address."""

    household_id: int
    helper: bool
    label: str
    account_id: int
    compound_name: str
    address: tuple[str, str, str]


@dataclass(frozen=True)
class Joined:
    user_id: int
    household_id: int
    signed_in: SignedIn


@dataclass(frozen=True)
class Members:
    clock: Clock
    runner: Runner
    codes: Codes
    users: Users
    limiter: Limiter
    sessions: Sessions

    async def join(
        self,
        card_token: str,
        join_code: str,
        phone: str,
        pin: str,
        display_name: str | None,
        as_helper: bool,
        address: str,
    ) -> Joined:
        """Join the household of `card_token` with its join code (403 `join_refused`).

        The same number again, already a member: with its PIN, the same account back (a
        retry); with another PIN, a fresh join, which sets that PIN, lifts the PIN lock and
        signs out the account's other sessions, in the audit log and the members list.
        A number with a PIN account elsewhere joins with that account's PIN; a number
        signed in by password, or a wrong PIN for it, is `phone_taken`."""
        phone = parse_phone(phone)
        name = check_display_name(display_name) or mask_phone(phone)
        code = check_join_code(join_code)
        check_pin(pin)
        household = await self.codes.household(card_token)
        await self._check_code(household, code, address)
        pin_hash = await self.users.hash_pin(pin)  # argon2 only past the code's check
        existing = await users_store.user_by_phone(phone)
        if existing is None and await users_module.phone_taken(phone):
            raise PhoneTaken("this mobile number is already registered")
        if existing is not None and existing.credential != "pin":
            raise PhoneTaken("this mobile number is already registered")
        if existing is not None and not existing.active:
            raise PhoneTaken("this mobile number's account is closed; ask staff")
        member = await store.membership(household.id, existing.id) if existing is not None else None
        if existing is not None and member is None:
            await self._prove_pin(existing, pin, address)
        elif existing is not None and await _pin_matches(existing, pin):
            # A retry (or a member back with the card who still knows the PIN): the same
            # account, nothing changed but the PIN lock, which a join with the card lifts.
            await self.users.lift_lock(existing.id)
            return await self._joined(existing.id, household.id)
        held = (household.id, household.card_serial, code)
        if existing is None:
            user_id = await self._new_account(held, phone, pin_hash, name, as_helper)
        elif member is None:
            user_id = await self._another_household(held, existing, as_helper)
        else:
            user_id = await self._fresh_join(held, existing, pin_hash)
            await self.users.unlock_after_reset(user_id)
        return await self._joined(user_id, household.id)

    async def _check_code(self, household: ScannedHousehold, code: str, address: str) -> None:
        """Counted before it is compared (per card and address, and per card a day), as a
        sign-in counts a password; a right code gives its guess back."""
        name = f"card {household.id}"  # a space: no username has one
        attempt = await self._attempt(name, address, JOIN_CODE_POLICY)
        if not attempt.allowed:
            raise RateLimited(
                "too many wrong join codes for this card; try again later or ask staff",
                retry_after_seconds=attempt.retry_after,
            )
        if not household.join_code or not hmac.compare_digest(code, household.join_code):
            raise JoinRefused("this join code does not go with this card")
        try:
            await self.limiter.sign_in_succeeded(name, address)
        except (RedisError, OSError) as error:
            log.warning("join count not cleared while Redis fails: %s", error)

    async def _attempt(self, name: str, address: str, policy: SignInPolicy) -> SignInAttempt:
        now = self.clock.now().timestamp()
        try:
            return await self.limiter.sign_in_attempt(name, address, policy, now)
        except (RedisError, OSError) as error:
            log.warning("join locks per worker while Redis fails: %s", error)
            return await self.users.local_limiter.sign_in_attempt(name, address, policy, now)

    async def _prove_pin(self, row: UserRow, pin: str, address: str) -> None:
        """A number with a PIN account joins another household only with that PIN, guessed
        under the same count as a sign-in (counted first, a locked number refused unchecked,
        a right PIN giving its guess back); a wrong one is `phone_taken`."""
        name = lock_name_of(row)
        attempt = await self._attempt(name, address, SIGN_IN_POLICIES["pin"])
        if not attempt.allowed:
            raise SignInLocked("too many wrong PINs for this number; ask staff to unlock it")
        if not await _pin_matches(row, pin):
            raise PhoneTaken("this mobile number is registered; join with its PIN")
        try:
            await self.limiter.sign_in_succeeded(name, address)
        except (RedisError, OSError) as error:
            log.warning("PIN count not cleared while Redis fails: %s", error)

    async def _new_account(
        self,
        held: tuple[int, int, str],
        phone: str,
        pin_hash: str,
        name: str,
        as_helper: bool,
    ) -> int:
        household_id = held[0]
        inputs = {"household_id": household_id, "helper": as_helper, "display_name": name}
        username = new_pin_username()

        async def action() -> MemberJoined:
            await self._hold(held)
            user_id = await self.users.add_pin_account(
                phone,
                pin_hash,
                Role.RESIDENT,
                household_id=household_id,
                volunteer_id=None,
                display_name=name,
                helper=as_helper,
                username=username,
            )
            return MemberJoined(user_id, household_id, as_helper, name, rejoined=False)

        actor = Principal(user_id=0, username=username, role=Role.RESIDENT)
        event_id = _event_id("join")
        result = await self.runner.once(JOINED, event_id, actor, inputs, action, MemberJoined)
        return result.user_id

    async def _another_household(
        self, held: tuple[int, int, str], row: UserRow, as_helper: bool
    ) -> int:
        household_id = held[0]
        if not as_helper and row.household_id is not None:
            raise InvalidInput(
                "as_helper", "you live in another household already: join this one as a helper"
            )
        inputs = {"household_id": household_id, "user_id": row.id, "helper": as_helper}

        async def action() -> MemberJoined:
            await self._hold(held)
            now = self.clock.now()
            await store.add(household_id, row.id, helper=as_helper, at=now)
            if not as_helper:
                await users_store.move_to(row.id, household_id)
            await sessions_store.revoke_all(row.id)  # old tokens lack the new household
            return MemberJoined(row.id, household_id, as_helper, row.display_name, rejoined=False)

        event_id = _event_id("join")
        await self.runner.once(JOINED, event_id, _actor(row), inputs, action, MemberJoined)
        await self.sessions.published(row.id)
        return row.id

    async def _fresh_join(self, held: tuple[int, int, str], row: UserRow, pin_hash: str) -> int:
        household_id = held[0]
        inputs = {"household_id": household_id, "user_id": row.id, "pin_reset": True}

        async def action() -> MemberJoined:
            await self._hold(held, counting=False)
            member = await store.membership(household_id, row.id)
            assert member is not None, "checked before; a removal since refuses the hold"
            await self.users.reset_pin(row.id, pin_hash)
            await store.pin_reset(household_id, row.id, self.clock.now())
            return MemberJoined(
                row.id, household_id, member.helper, row.display_name, rejoined=True
            )

        event_id = _event_id("rejoin")
        await self.runner.once(JOINED, event_id, _actor(row), inputs, action, MemberJoined)
        return row.id

    async def _hold(self, held: tuple[int, int, str], counting: bool = True) -> None:
        household_id, card_serial, code = held
        if not await store.hold_household(household_id, card_serial, code):
            raise JoinRefused("this card or its join code was replaced a moment ago")
        if counting and await store.count(household_id) >= MEMBERS_MAX:
            raise HouseholdFull(
                f"a household has at most {MEMBERS_MAX} members, helpers counted; "
                "ask a member or staff to remove one first"
            )

    async def _joined(self, user_id: int, household_id: int) -> Joined:
        row = await users_store.user_by_id(user_id)
        assert row is not None, "the account just joined"
        principal = await users_module.principal_of(row, self.clock.now())
        return Joined(user_id, household_id, SignedIn(principal, row.token_version))

    async def households_of(self, principal: Principal) -> list[HouseholdOfMine]:
        """The households a person acts for, the one they live in first, each labelled with
        its compound and address (the home page's switcher, `/api/v1/me`)."""
        mine = []
        for household_id in sorted(
            principal.households(), key=lambda h: (h in principal.helping, h)
        ):
            row = await views_store.household_view(household_id)
            if row is None:
                continue  # removed since the token was made: its next request is refused
            label = household_label(row.building, row.unit, row.room)
            mine.append(
                HouseholdOfMine(
                    household_id=household_id,
                    helper=household_id in principal.helping,
                    label=f"{row.compound_name} {label}",
                    account_id=row.account,
                    compound_name=row.compound_name,
                    address=(row.building, row.unit, row.room),
                )
            )
        return mine

    def new_event_id(self) -> str:
        return _event_id("remove")

    async def members(self, actor: Principal, household_id: int) -> MemberList:
        """Admins, clerks of its compound and its members; numbers masked except for admins
        and each person's own."""
        await self._may_see(actor, household_id)
        rows = await store.listed(household_id)
        return MemberList([_member_view(actor, row) for row in rows])

    async def remove(
        self, actor: Principal, event_id: str, household_id: int, user_id: int
    ) -> MemberRemoved:
        """The member leaves the household; every token they hold stops counting (they sign
        in again, with the households they still have). Residents, admins and clerks of its
        compound remove anyone; a helper removes only themselves."""
        household = await self._may_see(actor, household_id)
        staff = actor.role is Role.ADMIN or _clerk_of(actor, household)
        if not staff and household_id in actor.helping and actor.user_id != user_id:
            raise Forbidden("a helper may remove only themselves")

        async def action() -> MemberRemoved:
            if not await store.remove(household_id, user_id):
                raise NotFound("member", user_id)
            await sessions_store.revoke_all(user_id)
            return MemberRemoved(household_id, user_id, removed=True)

        inputs = {"household_id": household_id, "user_id": user_id}
        result = await self.runner.once(REMOVED, event_id, actor, inputs, action, MemberRemoved)
        await self.sessions.published(user_id)
        return result

    async def reset_join_code(
        self, actor: Principal, event_id: str, household_id: int
    ) -> JoinCodeReset:
        """A new join code for the household (the old one stops working); admins and clerks
        of its compound."""
        household = await _household(household_id)
        if not _staff(actor, household):
            raise Forbidden("only admins and clerks of its compound reset a join code")

        async def action() -> JoinCodeReset:
            join_code = draw_join_code()
            await store.set_join_code(household_id, join_code)
            return JoinCodeReset(household_id, join_code)

        inputs = {"household_id": household_id}
        return await self.runner.once(CODE_RESET, event_id, actor, inputs, action, JoinCodeReset)

    async def join_code(self, actor: Principal, household_id: int) -> str:
        """The current code, for the staff who may reset it (printed on the sheet too)."""
        household = await _household(household_id)
        if not _staff(actor, household):
            raise Forbidden("only admins and clerks of its compound see a join code")
        return household.join_code

    async def _may_see(self, actor: Principal, household_id: int) -> HouseholdRow:
        household = await _household(household_id)
        _staff(actor, household)
        if actor.role is Role.ADMIN or _clerk_of(actor, household):
            return household
        if actor.role is Role.RESIDENT and household_id in actor.households():
            return household
        raise Forbidden("only the household's members and its compound's staff see its members")


def _staff(actor: Principal, household: HouseholdRow) -> bool:
    """An admin, or a clerk of the household's compound; a clerk of other compounds is
    refused as out of scope (403 `out_of_scope`)."""
    if actor.role is Role.CLERK and not actor.covers_compound(household.compound_id):
        raise OutOfScope("this household is not in a compound you serve")
    return actor.role is Role.ADMIN or _clerk_of(actor, household)


def _clerk_of(actor: Principal, household: HouseholdRow) -> bool:
    return actor.role is Role.CLERK and actor.covers_compound(household.compound_id)


async def _household(household_id: int) -> HouseholdRow:
    household = await registry_store.household(household_id)
    if household is None:
        raise NotFound("household", household_id)
    return household


async def _pin_matches(row: UserRow, pin: str) -> bool:
    try:
        return bool(await asyncio.to_thread(users_module._HASHER.verify, row.password_hash, pin))
    except (VerificationError, InvalidHashError):
        return False


def _actor(row: UserRow) -> Principal:
    return Principal(user_id=row.id, username=row.username, role=Role(row.role))


def _event_id(kind: str) -> str:
    """The join has no event id of its own (the card and number make a retry return the same
    account); each join that changes something is recorded under a new one."""
    return f"{kind}-{uuid.uuid4().hex}"


def _member_view(actor: Principal, row: MemberRow) -> Member:
    phone = row.phone
    if phone and not (actor.role is Role.ADMIN or actor.user_id == row.user_id):
        phone = mask_phone(phone)
    return Member(
        user_id=row.user_id,
        display_name=row.display_name,
        phone=phone,
        helper=row.helper,
        joined_at=_iso(row.created_at),
        pin_reset_at=_iso(row.pin_reset_at),
    )


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)

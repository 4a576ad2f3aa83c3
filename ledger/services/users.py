"""People who sign in: roles, compound scopes, password hashes."""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ledger import metrics
from ledger.domain.access import SCOPED_ROLES, Principal, Role
from ledger.domain.errors import (
    Duplicate,
    InvalidCredentials,
    InvalidInput,
    NotFound,
    PhoneTaken,
    UsernameTaken,
)
from ledger.domain.phones import check_pin, parse_phone
from ledger.ports import Clock, Limiter
from ledger.projections.client import REDIS_FAILURES
from ledger.services.limits import (
    SIGN_IN_POLICIES,
    MemoryLimiter,
    SignInAttempt,
    SignInLocked,
    SignInPolicy,
)
from ledger.services.rotation import plan_for_token
from ledger.services.runner import Runner
from ledger.services.sessions import Sessions
from ledger.store import members as members_store
from ledger.store import registry as registry_store
from ledger.store import sessions as sessions_store
from ledger.store import users as store
from ledger.store.users import NewUser, UserRow

log = logging.getLogger(__name__)
USERNAME_LENGTH_MAX = 64
DISPLAY_NAME_LENGTH_MAX = 50
PASSWORD_LENGTH_MIN = 8
PASSWORD_LENGTH_MAX = 128
# A known hash to verify against when the user does not exist, so that timing does not tell
# an attacker which usernames are real.
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a real password")


@dataclass(frozen=True)
class SignedIn:
    """Who signed in, and the token version their new token must carry."""

    principal: Principal
    token_version: int


@dataclass(frozen=True, slots=True)
class LoginRequest:
    """A login staff make: a role, and for a resident its household, for a volunteer its
    record, for inspectors, clerks and coordinators the compounds they serve."""

    username: str
    password: str
    role: Role
    household_id: int | None = None
    volunteer_id: int | None = None
    compound_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class UserAdded:
    id: int
    username: str
    role: str


@dataclass(frozen=True, slots=True)
class UserDetails:
    """A login as an admin sees it (after a change, a deactivation, an unlock)."""

    id: int
    username: str
    role: str
    active: bool
    compound_ids: list[int]


@dataclass(frozen=True)
class Users:
    clock: Clock
    runner: Runner
    limiter: Limiter
    sessions: Sessions
    # Counts this process's guesses while the shared limiter (Redis) fails: locks then hold per
    # worker instead of not at all, and sign-in keeps working.
    local_limiter: MemoryLimiter = field(default_factory=MemoryLimiter)

    async def create(self, actor: Principal, event_id: str, request: LoginRequest) -> UserAdded:
        username, compounds = _check_user(request)
        # Hash outside the transaction: argon2 is deliberately slow and holds no lock.
        password_hash = await asyncio.to_thread(_HASHER.hash, request.password)
        role, household_id, volunteer_id = request.role, request.household_id, request.volunteer_id
        inputs = {
            "username": username,
            "role": role.value,
            "household_id": household_id,
            "volunteer_id": volunteer_id,
            "compound_ids": sorted(compounds),
        }

        async def action() -> UserAdded:
            return await self.add(
                username,
                password_hash,
                role,
                household_id=household_id,
                volunteer_id=volunteer_id,
                compound_ids=compounds,
            )

        # The password is not part of the fingerprint: a retry with the same event_id is the
        # same request even though each hash differs.
        return await self.runner.once("user", event_id, actor, inputs, action, UserAdded)

    async def add(
        self,
        username: str,
        password_hash: str,
        role: Role,
        *,
        household_id: int | None = None,
        volunteer_id: int | None = None,
        compound_ids: frozenset[int] = frozenset(),
    ) -> UserAdded:
        """In the caller's transaction: a password account, living in `household_id` (a
        resident), serving as `volunteer_id`, scoped to `compound_ids` (staff). By keyword:
        two ids of the same type side by side are easy to swap."""
        if await store.name_taken(username):
            raise UsernameTaken(f"username {username} is taken")
        await _check_exist(household_id, volunteer_id)
        for compound_id in compound_ids:
            if not await registry_store.compound_exists(compound_id):
                raise NotFound("compound", compound_id)
        user = NewUser(
            username, password_hash, role.value, household_id, volunteer_id, self.clock.now()
        )
        user_id = await store.add(user)
        if household_id is not None:
            await members_store.add(household_id, user_id, helper=False, at=self.clock.now())
        await store.add_compounds(user_id, compound_ids)
        return UserAdded(user_id, username, role.value)

    async def sign_in(self, username: str, password: str, address: str) -> SignedIn:
        """The guess is counted (per username and client address, and per username) before
        argon2 checks it, in one atomic step, so simultaneous guesses cannot all pass one
        count; past the policy's limits the guess is refused unchecked (SignInLocked).

        People who joined by card sign in with their mobile number and PIN: the account's
        `credential` picks its policy (`SIGN_IN_POLICIES["pin"]`: 10 wrong PINs a day, then
        locked until an unlock or a fresh join with the card)."""
        name = username[:USERNAME_LENGTH_MAX]
        row = await _sign_in_row(name)
        credential = row.credential if row is not None else "password"
        lock_name = lock_name_of(row) if row is not None else name
        attempt = await self._attempt(lock_name, address, SIGN_IN_POLICIES[credential])
        if not attempt.allowed:
            metrics.sign_in_locked()
            raise SignInLocked(_locked_text(credential, attempt.retry_after))
        stored_hash = row.password_hash if row and row.active else _DUMMY_HASH
        try:
            await asyncio.to_thread(_HASHER.verify, stored_hash, password)
            if row is None or not row.active:
                raise VerificationError("no such user")
        except (VerificationError, InvalidHashError) as error:
            raise InvalidCredentials("wrong username or password") from error
        await self.local_limiter.sign_in_succeeded(lock_name, address)
        try:
            await self.limiter.sign_in_succeeded(lock_name, address)
        except REDIS_FAILURES as error:
            metrics.redis_error("sign_in")
            log.warning("sign-in count not cleared while Redis fails: %s", error)
        return SignedIn(await principal_of(row, self.clock.now()), row.token_version)

    async def hash_pin(self, pin: str, field_name: str = "pin") -> str:
        """A PIN checked (6 digits, not trivial) and hashed: call it before the transaction
        that stores it (argon2 is deliberately slow and holds no lock)."""
        check_pin(pin, field_name)
        return await asyncio.to_thread(_HASHER.hash, pin)

    async def add_pin_account(
        self,
        phone: str,
        pin_hash: str,
        role: Role,
        *,
        household_id: int | None,
        volunteer_id: int | None,
        display_name: str,
        helper: bool = False,
        username: str | None = None,
    ) -> int:
        """In the caller's transaction: an account that signs in with a mobile number and a
        PIN (hash it first with `hash_pin`). A resident (`helper` false) lives in
        `household_id`; a helper only belongs to it. 409 `phone_taken` if the number signs in
        already. Returns the new user's id."""
        phone = parse_phone(phone)
        if await phone_taken(phone):
            raise PhoneTaken("this mobile number is already registered")
        await _check_exist(household_id, volunteer_id)
        now = self.clock.now()
        user = NewUser(
            # Not the number: the username is shown as an entry's actor to the household.
            username=username or new_pin_username(),
            password_hash=pin_hash,
            role=role.value,
            household_id=None if helper else household_id,
            volunteer_id=volunteer_id,
            created_at=now,
            credential="pin",
            phone=phone,
            display_name=check_display_name(display_name),
        )
        user_id = await store.add(user)
        if household_id is not None:
            await members_store.add(household_id, user_id, helper=helper, at=now)
        return user_id

    async def reset_pin(self, user_id: int, pin_hash: str) -> None:
        """In the caller's transaction: a new PIN (a fresh join with the card); every token the
        account holds stops counting. Lift its lock after the commit (`unlock_after_reset`)."""
        await store.set_password_hash(user_id, pin_hash)
        await sessions_store.revoke_all(user_id)

    async def unlock_after_reset(self, user_id: int) -> None:
        await self.lift_lock(user_id)
        await self.sessions.published(user_id)

    async def lift_lock(self, user_id: int) -> None:
        """Every sign-in lock on the user's name (a join with the household's card)."""
        row = await _user_row(user_id)
        await self.limiter.sign_in_unlock(lock_name_of(row))
        await self.local_limiter.sign_in_unlock(lock_name_of(row))

    async def _attempt(self, name: str, address: str, policy: SignInPolicy) -> SignInAttempt:
        now = self.clock.now().timestamp()
        try:
            return await self.limiter.sign_in_attempt(name, address, policy, now)
        except REDIS_FAILURES as error:
            metrics.redis_error("sign_in")
            log.warning("sign-in locks per worker while Redis fails: %s", error)
            return await self.local_limiter.sign_in_attempt(name, address, policy, now)

    async def authenticate(self, username: str, password: str, address: str = "local") -> Principal:
        return (await self.sign_in(username, password, address)).principal

    async def unlock(self, user_id: int) -> UserDetails:
        """Lift every sign-in lock on a user's name (an admin, after checking who is locked out)."""
        row = await _user_row(user_id)
        await self.limiter.sign_in_unlock(lock_name_of(row))
        await self.local_limiter.sign_in_unlock(lock_name_of(row))
        return await self.reply(user_id)

    async def unlock_name(self, username: str) -> None:
        """By a username, or a PIN account's mobile number."""
        row = await _sign_in_row(username[:USERNAME_LENGTH_MAX])
        name = lock_name_of(row) if row is not None else username[:USERNAME_LENGTH_MAX]
        await self.limiter.sign_in_unlock(name)

    async def deactivate(self, actor: Principal, event_id: str, user_id: int) -> UserDetails:
        """The user cannot sign in any more and every token they hold stops counting.
        Deactivating an inactive user changes nothing."""
        if actor.user_id == user_id:
            raise InvalidInput("id", "an admin cannot deactivate their own account")

        async def action() -> UserDetails:
            row = await _user_row(user_id)
            if row.active:
                await store.deactivate(user_id)
                await sessions_store.revoke_all(user_id)
            return await self.reply(user_id)

        inputs = {"user_id": user_id}
        result = await self.runner.once(
            "user-deactivate", event_id, actor, inputs, action, UserDetails
        )
        await self.sessions.published(user_id)
        return result

    async def change(
        self,
        actor: Principal,
        event_id: str,
        user_id: int,
        role: Role | None,
        compound_ids: tuple[int, ...] | None,
    ) -> UserDetails:
        """A new role or compound scope; the user's tokens (which carry the old ones) stop
        counting. The same role and compounds again change nothing and revoke nothing."""
        if compound_ids is not None and len(set(compound_ids)) != len(compound_ids):
            raise Duplicate("compound_ids lists a compound twice")

        async def action() -> UserDetails:
            row = await _user_row(user_id)
            old_compounds = await store.compounds_of(user_id)
            new_role = role or Role(row.role)
            compounds = frozenset(compound_ids) if compound_ids is not None else old_compounds
            _check_scope(new_role, row.household_id, compounds, row.volunteer_id)
            if new_role.value != row.role or compounds != old_compounds:
                await self._store_change(user_id, new_role, compounds)
                await sessions_store.revoke_all(user_id)
            return await self.reply(user_id)

        inputs = {
            "user_id": user_id,
            "role": role.value if role else None,
            "compound_ids": sorted(compound_ids) if compound_ids is not None else None,
        }
        result = await self.runner.once("user-change", event_id, actor, inputs, action, UserDetails)
        await self.sessions.published(user_id)
        return result

    async def _store_change(self, user_id: int, role: Role, compounds: frozenset[int]) -> None:
        for compound_id in compounds:
            if not await registry_store.compound_exists(compound_id):
                raise NotFound("compound", compound_id)
        await store.set_role(user_id, role.value)
        await store.set_compounds(user_id, compounds)

    async def reply(self, user_id: int) -> UserDetails:
        row = await _user_row(user_id)
        compound_ids = sorted(await store.compounds_of(user_id))
        return UserDetails(row.id, row.username, row.role, row.active, compound_ids)

    async def principal(self, user_id: int) -> Principal:
        return await principal_of(await _user_row(user_id), self.clock.now())


async def _user_row(user_id: int) -> UserRow:
    row = await store.user_by_id(user_id)
    if row is None:
        raise NotFound("user", user_id)
    return row


async def _check_exist(household_id: int | None, volunteer_id: int | None) -> None:
    if household_id is not None and not await registry_store.household_exists(household_id):
        raise NotFound("household", household_id)
    if volunteer_id is not None and not await registry_store.volunteer_exists(volunteer_id):
        raise NotFound("volunteer", volunteer_id)


async def _sign_in_row(name: str) -> UserRow | None:
    """The account a sign-in names: by username, else a PIN account by its mobile number
    (typed with spaces, dashes or +86 as people write it)."""
    row = await store.user_by_username(name)
    if row is not None:
        return row
    try:
        phone = parse_phone(name)
    except InvalidInput:
        return None
    return await store.pin_user_by_phone(phone)


def new_pin_username() -> str:
    """A PIN account's username: never its number, which entries' `actor` would show."""
    return f"pin-{secrets.token_hex(6)}"


def lock_name_of(row: UserRow) -> str:
    """The name a user's sign-in locks are kept under: a PIN account's number, else the
    username."""
    return row.phone if row.credential == "pin" and row.phone else row.username


async def phone_taken(phone: str) -> bool:
    """Some account signs in with this number already (as its number or its username)."""
    return await store.name_taken(phone)


def check_display_name(text: str | None) -> str:
    name = " ".join((text or "").split())
    if len(name) > DISPLAY_NAME_LENGTH_MAX or not name.isprintable():
        raise InvalidInput("display_name", f"must be at most {DISPLAY_NAME_LENGTH_MAX} characters")
    return name


def _locked_text(credential: str, seconds: int) -> str:
    if credential == "pin":
        return (
            "too many wrong PINs today: ask staff to unlock your account, "
            "or join again with your household's card and join code"
        )
    return f"too many wrong passwords; try again in {_wait_text(seconds)}"


def _wait_text(seconds: int) -> str:
    return f"{seconds} seconds" if seconds < 120 else f"{seconds // 60} minutes"


async def principal_of(row: UserRow, now: datetime | None = None) -> Principal:
    """Everything access checks need, so that a request never re-reads the user; for an
    inspector, the rotation plan of the weeks a token made `now` can grade in. Every token is
    made with `now`; without it (a description of the account, as seed-demo prints) the
    Principal has no plan."""
    compound_ids = await store.compounds_of(row.id)
    rotation = None
    if row.role == Role.INSPECTOR.value and now is not None:
        rotation = await plan_for_token(row.id, now)
    memberships = await members_store.households_of(row.id)
    household_ids = {m.household_id for m in memberships}
    if row.household_id is not None:
        household_ids.add(row.household_id)
    helping = frozenset(m.household_id for m in memberships if m.helper)
    account_ids: set[int] = set()
    for household_id in sorted(household_ids):
        household = await registry_store.household(household_id)
        assert household is not None, "a user's household exists (foreign key)"
        account_ids.add(household.account_id)
    if row.volunteer_id is not None:
        volunteer = await registry_store.volunteer(row.volunteer_id)
        assert volunteer is not None, "a user's volunteer exists (foreign key)"
        account_ids.add(volunteer.account_id)
    lived_in = row.household_id
    if lived_in is None and len(household_ids) == 1:
        lived_in = next(iter(household_ids))  # a helper of one household acts for it
    return Principal(
        user_id=row.id,
        username=row.username,
        role=Role(row.role),
        household_id=lived_in,
        volunteer_id=row.volunteer_id,
        compound_ids=compound_ids,
        account_ids=frozenset(account_ids),
        household_ids=frozenset(household_ids),
        helping=helping,
        display_name=row.display_name,
        rotation=rotation.weeks if rotation else (),
        rotation_span=rotation.span if rotation else None,
    )


def _check_user(request: LoginRequest) -> tuple[str, frozenset[int]]:
    password, role, compound_ids = request.password, request.role, request.compound_ids
    name = request.username.strip()
    if not name or len(name) > USERNAME_LENGTH_MAX or any(ch.isspace() for ch in name):
        raise InvalidInput("username", f"must be 1-{USERNAME_LENGTH_MAX} characters, no spaces")
    if not PASSWORD_LENGTH_MIN <= len(password) <= PASSWORD_LENGTH_MAX:
        raise InvalidInput(
            "password", f"must be {PASSWORD_LENGTH_MIN}-{PASSWORD_LENGTH_MAX} characters"
        )
    _check_scope(role, request.household_id, frozenset(compound_ids), request.volunteer_id)
    if len(set(compound_ids)) != len(compound_ids):
        raise Duplicate("compound_ids lists a compound twice")
    return name, frozenset(compound_ids)


def _check_scope(
    role: Role, household_id: int | None, compound_ids: frozenset[int], volunteer_id: int | None
) -> None:
    if role is Role.RESIDENT and household_id is None:
        raise InvalidInput("household_id", "a resident belongs to a household")
    if role is Role.VOLUNTEER and volunteer_id is None:
        # Without a record every check-in would be refused (403): name the volunteer, made
        # first by POST /api/v1/volunteers or by approving their application.
        raise InvalidInput("volunteer_id", "a volunteer login names its volunteer record")
    if compound_ids and role not in SCOPED_ROLES:
        raise InvalidInput(
            "compound_ids", "only inspectors, clerks and coordinators serve compounds"
        )

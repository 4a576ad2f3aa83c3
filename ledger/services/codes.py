"""Signed codes for household cards, collection points and duty posts."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from ledger.domain.access import SCOPED_ROLES, Principal, Role
from ledger.domain.errors import CodeRevoked, CodeWrongKind, NotFound, OutOfScope, ScanRequired
from ledger.domain.localtime import local_day
from ledger.domain.registry import HouseholdKind, unit_label
from ledger.domain.scan_codes import CodeKind, Keyring, ScanCode, read, sign
from ledger.domain.short_codes import RANDOM_SPACE, code_from, grouped, looks_typed, normalize
from ledger.ports import Clock
from ledger.store import earning as earning_store
from ledger.store import registry as store
from ledger.store import short_codes
from ledger.store.earning import ScannedHousehold, ScannedPoint, ScannedPost, ScannedSubject

Scanned = TypeVar("Scanned", bound=ScannedSubject)

FIND_BY_KIND: dict[CodeKind, Callable[[int], Awaitable[ScannedSubject | None]]] = {
    CodeKind.HOUSEHOLD: earning_store.scanned_household,
    CodeKind.POINT: earning_store.scanned_point,
    CodeKind.POST: earning_store.scanned_post,
}

CLASS_BY_KIND: dict[CodeKind, type[ScannedSubject]] = {
    CodeKind.HOUSEHOLD: ScannedHousehold,
    CodeKind.POINT: ScannedPoint,
    CodeKind.POST: ScannedPost,
}


@dataclass(frozen=True, slots=True)
class Resolved:
    """A current code (scanned or typed) and the household, point or post it names."""

    code: ScanCode
    subject: ScannedSubject


@dataclass(frozen=True)
class Codes:
    keyring: Keyring
    base_url: str
    clock: Clock  # a typed code's scope depends on the day (an inspector's rotation)

    def token(self, kind: CodeKind, subject_id: int, card_serial: int) -> str:
        return sign(ScanCode(kind, subject_id, card_serial), self.keyring)

    def url(self, token: str) -> str:
        """What the QR code encodes: a page any phone camera opens."""
        return f"{self.base_url.rstrip('/')}/q/{token}"

    async def token_for(self, kind: CodeKind, subject_id: int) -> str:
        """The token of the current card of a household, point or post."""
        return self.token(kind, subject_id, (await _carded(kind, subject_id)).card_serial)

    async def resolve(
        self, token: str, expected: CodeKind | None = None, actor: Principal | None = None
    ) -> Resolved:
        """A genuine code of the expected kind, for a card that has not been re-issued, and what
        it names with its compound's `community_id`. `token` is the scanned token or the short
        code typed from under the QR code, which only staff (`actor`) may type, in their
        compounds."""
        code = await self.read(token, expected, actor)
        return Resolved(code, await self._current(token, code, actor, FIND_BY_KIND[code.kind]))

    async def household(self, token: str, actor: Principal | None = None) -> ScannedHousehold:
        """`resolve` for a household's card, typed."""
        return await self._typed(token, CodeKind.HOUSEHOLD, actor, earning_store.scanned_household)

    async def point(self, token: str, actor: Principal | None = None) -> ScannedPoint:
        """`resolve` for a collection point's code, typed."""
        return await self._typed(token, CodeKind.POINT, actor, earning_store.scanned_point)

    async def post(self, token: str, actor: Principal | None = None) -> ScannedPost:
        """`resolve` for a duty post's code, typed."""
        return await self._typed(token, CodeKind.POST, actor, earning_store.scanned_post)

    async def _typed(
        self,
        token: str,
        kind: CodeKind,
        actor: Principal | None,
        find: Callable[[int], Awaitable[Scanned | None]],
    ) -> Scanned:
        return await self._current(token, await self.read(token, kind, actor), actor, find)

    async def _current(
        self,
        token: str,
        code: ScanCode,
        actor: Principal | None,
        find: Callable[[int], Awaitable[Scanned | None]],
    ) -> Scanned:
        """What a genuine code names, if it exists and its card was not re-issued, and (a typed
        short code) is in the typing staff member's compounds: refused in that order."""
        row = await find(code.subject_id)
        check_current(code, None if row is None else row.card_serial)
        assert row is not None, "checked"
        _check_typed_scope(token, actor, row.compound, local_day(self.clock.now()))
        return row

    async def read(
        self, token: str, expected: CodeKind | None = None, actor: Principal | None = None
    ) -> ScanCode:
        """What a scanned token or a typed short code names, before the registry is asked
        whether its card is current."""
        if not looks_typed(token):
            return read(token, self.keyring, expected)
        if actor is None or not may_type_codes(actor):
            raise ScanRequired("typed codes are for staff only: scan the QR code")
        found = await short_codes.find(normalize(token))
        if found is None:
            raise NotFound("short code", token)
        code = ScanCode(CodeKind(found["kind"]), int(found["subject_id"]), found["card_serial"])
        if expected is not None and code.kind is not expected:
            raise CodeWrongKind(f"this is a {code.kind} code, expected a {expected} code")
        return code

    async def issue(self, kind: CodeKind, subjects: list[tuple[int, int]]) -> dict[int, str]:
        """New short codes for (id, card serial) pairs, by id, in the caller's transaction."""
        issued = await short_codes.issue(kind.value, subjects, draw_short_code)
        return {subject_id: code for (subject_id, _), code in issued.items()}

    async def issue_missing(self) -> int:
        """A code for every row whose current card has none (after a bulk insert)."""
        issued = 0
        for kind in CodeKind:
            missing = await short_codes.missing(kind.value)
            issued += len(await self.issue(kind, missing))
        return issued


def may_type_codes(actor: Principal) -> bool:
    """Staff may type a code; residents, volunteers and anonymous visitors scan it."""
    return actor.role is Role.ADMIN or actor.role in SCOPED_ROLES


def draw_short_code() -> str:
    """Nine digits from the OS's random source: not a sequence anyone can walk."""
    return code_from(secrets.randbelow(RANDOM_SPACE))


def _check_typed_scope(token: str, actor: Principal | None, compound_id: int, on: date) -> None:
    """A typed short code names only what is in the typing staff member's compounds on the
    local day `on` (an inspector's rotation reaches this week's and last week's compounds)."""
    if looks_typed(token):
        assert actor is not None, "read() refuses a typed code without an actor"
        if not actor.covers_compound(compound_id, on):
            raise OutOfScope("this code is not in a compound you serve")


def check_current(code: ScanCode, card_serial: int | None) -> None:
    """The card a genuine code is printed on is its row's current one (`card_serial`: the
    row's, None when no such row exists)."""
    if card_serial is None:
        raise NotFound(code.kind.value, code.subject_id)
    if card_serial != code.card_serial:
        raise CodeRevoked(f"this {code.kind.value} card was re-issued; the old one is void")


@dataclass(frozen=True, slots=True)
class Label:
    """One sticker: the code's URL and the Chinese text printed under it, with its parts."""

    url: str
    title: str
    subtitle: str
    address: tuple[str, str, str] | None = None  # a household's building, unit, room
    name: str = ""  # a point's or post's name
    short_code: str = ""  # grouped for reading: `2031 4417 06`
    join_code: str = ""  # a household's, printed apart from the QR (the fold of the sticker)


async def sheet_labels(codes: Codes, kind: CodeKind, compound_id: int) -> tuple[str, list[Label]]:
    """Every current code of one kind in a compound, labelled for sticker paper."""
    compound = await store.get(store.Compound, compound_id)
    if compound is None:
        raise NotFound("compound", compound_id)
    subjects = await earning_store.scanned_in_compound(CLASS_BY_KIND[kind], compound_id)
    typed = await short_codes.current(kind.value, [(s.id, s.card_serial) for s in subjects])
    return compound["name"], [
        Label(
            url=codes.url(codes.token(kind, subject.id, subject.card_serial)),
            title=compound["name"],
            subtitle=_subtitle(subject),
            short_code=grouped(typed.get(subject.id, "")),
            join_code=subject.join_code if isinstance(subject, ScannedHousehold) else "",
            address=_address(subject),
            name="" if _address(subject) else subject.name,
        )
        for subject in subjects
    ]


async def label_for(codes: Codes, kind: CodeKind, subject_id: int) -> Label:
    subject = await _carded(kind, subject_id)
    token = codes.token(kind, subject_id, subject.card_serial)
    compound = await store.get(store.Compound, subject.compound)
    assert compound is not None, "foreign key"
    return Label(url=codes.url(token), title=compound["name"], subtitle=_subtitle(subject))


async def _carded(kind: CodeKind, subject_id: int) -> ScannedSubject:
    """The household, point or post (its card serial, compound, address or name)."""
    subject = await FIND_BY_KIND[kind](subject_id)
    if subject is None:
        raise NotFound(kind.value, subject_id)
    return subject


def _address(subject: ScannedSubject) -> tuple[str, str, str] | None:
    """What a household's subtitle is made of, for a sheet printed in another language (a
    shop's or office's, a point's or post's, is its name)."""
    if isinstance(subject, ScannedHousehold) and subject.kind == HouseholdKind.HOUSEHOLD:
        return (subject.building, subject.unit, subject.room)
    return None


def _subtitle(subject: ScannedSubject) -> str:
    if isinstance(subject, ScannedHousehold):
        home = subject
        return unit_label(home.kind, home.building, home.unit, home.room, home.name)
    suffix = "投放点" if isinstance(subject, ScannedPoint) else "志愿岗"
    return f"{subject.name} · {suffix}"

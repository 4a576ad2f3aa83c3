"""A group of gradings gives every event the outcome it gets in a group of its own, one by one.

Two identical worlds (communities) live in one database. The same random scenario — fresh and
repeated event ids, stored successes and refusals replayed, bad and foreign codes, a re-issued
card, another compound, the inspector's own building, the first-grade-per-stream rule and the
daily cap, input the API refuses, photos the inspector uploaded, another user's and unknown
ones, capture times (none, minutes ago, yesterday under the rules in force then, too old, too
far ahead), residents' drop-offs graded by `dropoff_id` in place of a card (fresh, expired, at
another point, unknown, a stream graded twice) — runs through `Gradings.inspect_many` in
world A (one group) and through `Gradings.inspect` one event at a time in world B (a group of
one each, the single scan's path). Outcomes must match event
by event, and so must balances, inspection rows, lots, board facts and the ledger's own
`verify`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from ledger.domain.access import SYSTEM, Principal, Role
from ledger.domain.errors import LedgerError
from ledger.domain.photos import ref_of
from ledger.domain.rules import Grade, Stream
from ledger.services import grading
from ledger.services.container import Services
from ledger.services.grading import Grading
from ledger.services.registry import HouseholdCreated, PointCreated
from ledger.store import idempotency
from ledger.store.tables import Account, BoardFact, Entry, Inspection, Lot
from tests.factories import FrozenClock, event_id, make_household, make_user

# Both engines: the one grading path has a set-based store on PostgreSQL and a row-by-row one
# on SQLite.

WINDOWS = ["00:00-24:00"]
HOUSEHOLDS = 5


@dataclass(frozen=True)
class World:
    name: str
    community_id: int
    households: list[HouseholdCreated]  # buildings 1, 1, 2, 2, 3; the inspector lives in 1
    stranger: HouseholdCreated  # in a compound the inspector does not cover
    revoked_token: str  # households[4]'s card before it was re-issued
    point: PointCreated
    far_point: PointCreated
    inspector: Principal
    photo_refs: dict[str, str]  # "own" (the inspector's upload), "foreign", "unknown"
    now: datetime  # the frozen clock's time, which capture times are relative to
    # Residents' drop-offs by target: "d0".."d3" at the point just now, "d4" there 40 minutes
    # ago (expired), "dstranger" at the far point.
    dropoffs: dict[str, int]


async def _world(services: Services, name: str) -> World:
    """`name` prefixes the world's event ids (ASCII, as event ids are)."""
    community_name = {"a": "甲社区", "b": "乙社区"}[name]
    community = (await services.registry.create_community(SYSTEM, event_id(), community_name)).id
    compound = (await services.registry.create_compound(SYSTEM, event_id(), community, "信义坊")).id
    other = (await services.registry.create_compound(SYSTEM, event_id(), community, "外面")).id
    households = [
        await make_household(services, compound, building=building)
        for building in ("1", "1", "2", "2", "3")
    ]
    revoked = households[4].card_token
    reissued = await services.registry.reissue_card(SYSTEM, event_id(), households[4].id)
    households[4] = replace(households[4], card_token=reissued.card_token)
    # A cap that binds: a second good grade in a day is cut (8 + 8 > 12).
    rules = {"grade_points": {"good": 8, "fair": 3, "poor": 0}, "grading_daily_cap_points": 12}
    await services.rules.set(SYSTEM, event_id(), community, services.clock.now(), rules)
    point = await services.registry.create_point(SYSTEM, event_id(), compound, "1号点", WINDOWS)
    far = await services.registry.create_point(SYSTEM, event_id(), other, "2号点", WINDOWS)
    neighbour = await make_household(services, compound, building="1")
    inspector = await make_user(
        services,
        Role.INSPECTOR,
        household_id=neighbour.id,
        compound_ids=frozenset({compound}),
    )
    stranger = await make_household(services, other)
    colleague = await make_user(services, Role.INSPECTOR, compound_ids=frozenset({other}))
    photo_refs = {
        "own": (await services.photos.store(inspector, _png(f"{name} own"), None)).ref,
        "foreign": (await services.photos.store(colleague, _png(f"{name} foreign"), None)).ref,
        "unknown": ref_of(_png(f"{name} never uploaded")),
    }
    dropoffs = await _dropoffs(services, households, stranger, point, far)
    return World(
        name,
        community,
        households,
        stranger,
        revoked,
        point,
        far,
        inspector,
        photo_refs,
        services.clock.now(),
        dropoffs,
    )


async def _dropoffs(
    services: Services,
    households: list[HouseholdCreated],
    stranger: HouseholdCreated,
    point: PointCreated,
    far: PointCreated,
) -> dict[str, int]:
    """Each household's resident scans a point's code; household 4's 40 minutes ago."""
    clock = services.clock
    assert isinstance(clock, FrozenClock)
    dropoffs = {}
    for target, household, at in [
        *((f"d{n}", households[n], point) for n in range(HOUSEHOLDS)),
        ("dstranger", stranger, far),
    ]:
        resident = await make_user(services, Role.RESIDENT, household_id=household.id)
        back = timedelta(minutes=40 if target == "d4" else 0)
        clock.moment -= back
        dropped = await services.scans.dropoff(resident, event_id(), at.token)
        clock.moment += back
        dropoffs[target] = dropped.dropoff_id
    return dropoffs


def _png(text: str) -> bytes:
    """Bytes the photo check takes for a PNG (it reads the signature), unique per text."""
    return b"\x89PNG\r\n\x1a\n" + text.encode()


@dataclass(frozen=True)
class Step:
    """One event of the scenario, in terms both worlds can make concrete."""

    key: str
    target: str  # "0".."4", "stranger", "revoked", "garbage", or a drop-off: "d0".."d4",
    # "dstranger", "dunknown"
    point: str  # "point", "far", "garbage"
    stream: Stream
    grade: Grade
    reasons: tuple[str, ...]
    photo: str = "none"  # a key of World.photo_refs, or "none"
    captured: str = "none"  # a key of CAPTURED, or "none"


# Capture times relative to the clock. The world's rules start at the clock's time, so a grade
# captured yesterday earns under the defaults (the rules in force then) and its own day's cap.
CAPTURED = {
    "minutes_ago": timedelta(minutes=-3),
    "yesterday": timedelta(hours=-25),
    "too_old": timedelta(hours=-73),
    "too_far_ahead": timedelta(minutes=6),
}


def _scenario(seed: int, length: int) -> list[Step]:
    rng = random.Random(seed)
    photos = random.Random(-seed)  # its own generator: the rest of the scenario stays as it was
    times = random.Random(seed + 1_000)  # and so does this one
    drops = random.Random(seed + 2_000)  # and this one: a card's target becomes its drop-off
    steps: list[Step] = []
    for n in range(length):
        roll = rng.random()
        if steps and roll < 0.12 and n not in (7, 9):
            steps.append(rng.choice(steps))  # the same event again
            continue
        target = rng.choices(
            [*map(str, range(HOUSEHOLDS)), "stranger", "revoked", "garbage"],
            [6, 6, 6, 6, 6, 1, 1, 1],
        )[0]
        point = rng.choices(["point", "far", "garbage"], [12, 1, 1])[0]
        grade = rng.choice(list(Grade))
        reasons: tuple[str, ...] = () if grade is Grade.GOOD else ("wrong_bin",)
        if n == 7 or rng.random() < 0.03:
            reasons = ("not a code!",)  # refused before anything is recorded
        if n == 9:
            target = "revoked"
        if drops.random() < 0.35 and target in (*map(str, range(HOUSEHOLDS)), "stranger"):
            target = f"d{target}"
        elif drops.random() < 0.02:
            target = "dunknown"
        key = f"e{n}"
        if steps and roll < 0.16 and n not in (7, 9):
            key = rng.choice(steps).key  # an old id with new content
        photo = photos.choices(["none", "own", "foreign", "unknown"], [80, 10, 5, 5])[0]
        captured = times.choices(["none", *CAPTURED], [50, 15, 25, 5, 5])[0]
        stream = rng.choice(list(Stream))
        steps.append(Step(key, target, point, stream, grade, reasons, photo, captured))
    return steps


def _grading(world: World, step: Step) -> Grading:
    points = {"point": world.point.token, "far": world.far_point.token}
    if step.target.startswith("d"):
        return Grading(
            event_id=f"{world.name}-{step.key}",
            household_token=None,
            dropoff_id=world.dropoffs.get(step.target, 10**9),
            point_token=points.get(step.point, "1p.zz.1.a.nope"),
            stream=step.stream,
            grade=step.grade,
            reasons=list(step.reasons),
            photo_ref=world.photo_refs.get(step.photo),
            captured_at=world.now + CAPTURED[step.captured] if step.captured in CAPTURED else None,
        )
    if step.target == "stranger":
        card = world.stranger.card_token
    elif step.target == "revoked":
        card = world.revoked_token
    elif step.target == "garbage":
        card = "1h.zz.1.a.not-a-signature"
    else:
        card = world.households[int(step.target)].card_token
    return Grading(
        event_id=f"{world.name}-{step.key}",
        household_token=card,
        point_token=points.get(step.point, "1p.zz.1.a.nope"),
        stream=step.stream,
        grade=step.grade,
        reasons=list(step.reasons),
        photo_ref=world.photo_refs.get(step.photo),
        captured_at=world.now + CAPTURED[step.captured] if step.captured in CAPTURED else None,
    )


async def _one_by_one(services: Services, world: World, steps: list[Step]) -> list[Any]:
    outcomes: list[Any] = []
    for step in steps:
        g = _grading(world, step)
        try:
            outcomes.append(
                await services.gradings.inspect(
                    world.inspector,
                    Grading(
                        g.event_id,
                        g.household_token,
                        g.point_token,
                        g.stream,
                        g.grade,
                        g.reasons,
                        g.photo_ref,
                        g.captured_at,
                        g.dropoff_id,
                    ),
                )
            )
        except LedgerError as refusal:
            outcomes.append(refusal)
    return outcomes


def _shape(outcome: Any) -> Any:
    """An outcome without what differs between worlds (ids)."""
    if isinstance(outcome, LedgerError):
        return ("refused", outcome.code, re.sub(r"\d+", "#", outcome.detail))
    record = outcome.record()
    return {k: v for k, v in record.items() if k not in ("inspection_id", "entry_id")} | {
        "has_entry": outcome.entry_id is not None
    }


async def _state(world: World) -> dict[str, Any]:
    households = []
    for household in world.households:
        account = await Account.select(Account.balance_points).where(
            Account.id == household.account_id
        )
        rows = (
            await Inspection.select(
                Inspection.stream,
                Inspection.grade,
                Inspection.scored,
                Inspection.points_awarded,
                Inspection.local_day,
                Inspection.rule_version,
                Inspection.dropoff_id,
            )
            .where(Inspection.household == household.id)
            .order_by(Inspection.id)
        )
        named = {dropoff_id: target for target, dropoff_id in world.dropoffs.items()}
        rows = [row | {"dropoff_id": named.get(row["dropoff_id"])} for row in rows]
        lots = await Lot.select(Lot.points, Lot.remaining_points).where(
            Lot.account_id == household.account_id
        )
        entries = (
            await Entry.select(
                Entry.amount_points,
                Entry.credit_balance_after,
                Entry.memo,
                Entry.kind,
                Entry.created_at,
                Entry.captured_at,
            )
            .where(Entry.credit_account_id == household.account_id)
            .order_by(Entry.id)
        )
        households.append((account[0]["balance_points"], rows, sorted(map(str, lots)), entries))
    facts = await BoardFact.select(BoardFact.kind, BoardFact.local_day).where(
        BoardFact.community_id == world.community_id
    )
    kinds = sorted((fact["kind"], fact["local_day"]) for fact in facts)
    return {"households": households, "fact_kinds": kinds, "stripes": await _stripes(world)}


async def _stripes(world: World) -> int:
    """Each issuance stripe's entries carry its running balance; the stripes' total."""
    total = 0
    stripes = await Account.select(Account.id, Account.balance_points).where(
        (Account.community == world.community_id) & (Account.kind == "issuance")
    )
    for stripe in stripes:
        running = 0
        for entry in (
            await Entry.select(Entry.amount_points, Entry.debit_balance_after)
            .where(Entry.debit_account_id == stripe["id"])
            .order_by(Entry.id)
        ):
            running -= entry["amount_points"]
            assert entry["debit_balance_after"] == running
        assert running == stripe["balance_points"]
        total += running
    return total


@pytest.mark.parametrize("seed", range(4))
async def test_a_batch_has_every_event_s_outcome_of_one_by_one(
    services: Services, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = await _world(services, "a"), await _world(services, "b")
    steps = _scenario(seed, 60)
    earlier, batch = steps[:15], steps[5:]  # the batch resends some of what was sent before
    assert await _one_by_one(services, a, earlier) is not None
    await _one_by_one(services, b, earlier)

    async def no_fallback(*_: object) -> None:
        raise AssertionError("the group went one by one")

    monkeypatch.setattr(grading.Gradings, "_alone", no_fallback)
    together = await services.gradings.inspect_many(a.inspector, [_grading(a, s) for s in batch])
    monkeypatch.undo()
    alone = await _one_by_one(services, b, batch)
    assert [_shape(o) for o in together] == [_shape(o) for o in alone]
    assert await _state(a) == await _state(b)
    _covers_the_cases([_shape(o) for o in together])
    days = await Inspection.select(Inspection.local_day).where(
        Inspection.community_id == a.community_id
    )
    assert len({row["local_day"] for row in days}) == 2  # today's and yesterday's captures
    await services.sealer.seal_pending()
    report = await services.verifier.verify()
    assert report.ok, report


async def test_a_batch_that_loses_a_race_for_an_event_id_is_written_again(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = await _world(services, "a"), await _world(services, "b")
    steps = _scenario(7, 20)
    real_claim_many = idempotency.claim_many
    calls: list[int] = []

    async def lost_one(claims: list[idempotency.Claim], **kw: Any) -> set[str]:
        """The group's claims, one reported as stored by another; then the real ones."""
        calls.append(len(claims))
        stored = await real_claim_many(claims, **kw)
        return set(sorted(stored)[1:]) if len(calls) == 1 else stored

    monkeypatch.setattr(idempotency, "claim_many", lost_one)
    together = await services.gradings.inspect_many(a.inspector, [_grading(a, s) for s in steps])
    monkeypatch.undo()
    assert len(calls) == 2  # the group, then the whole group once more
    assert calls[0] == calls[1]
    alone = await _one_by_one(services, b, steps)
    assert [_shape(o) for o in together] == [_shape(o) for o in alone]
    assert await _state(a) == await _state(b)


async def test_a_batch_grades_drop_offs_as_one_by_one_does(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every way a grading by `dropoff_id` goes, in one batch that must not fall back."""
    a, b = await _world(services, "a"), await _world(services, "b")
    kitchen, recyclable, other = Stream.KITCHEN, Stream.RECYCLABLE, Stream.OTHER
    good, fair = Grade.GOOD, Grade.FAIR
    first = Step("e0", "d2", "point", kitchen, good, ())
    steps = [
        first,  # credited
        Step("e1", "d2", "point", kitchen, fair, ()),  # the same stream again: already_graded
        Step("e2", "d2", "point", recyclable, good, ()),  # another stream: 4 (the cap is 12)
        Step("e3", "d3", "far", kitchen, good, ()),  # at another point: wrong_point
        Step("e4", "d4", "point", kitchen, good, ()),  # 40 minutes old: dropoff_expired
        Step("e5", "dunknown", "point", kitchen, good, ()),  # not_found
        Step("e6", "dstranger", "point", kitchen, good, ()),  # wrong_point
        Step("e7", "dstranger", "far", kitchen, good, ()),  # out_of_scope
        Step("e8", "d0", "point", kitchen, good, ()),  # the inspector's building: out_of_scope
        first,  # replayed
        Step("e9", "2", "point", kitchen, good, ()),  # the card, same day and stream: 0 points
        # Credited under the rules in force 3 minutes ago (the defaults: 10).
        Step("e10", "d3", "point", kitchen, good, (), captured="minutes_ago"),
        Step("e11", "d3", "point", other, good, (), captured="yesterday"),  # dropoff_expired
        Step("e12", "d3", "point", kitchen, good, (), "foreign"),  # photo_ref refused first
    ]

    async def no_fallback(*_: object) -> None:
        raise AssertionError("the group went one by one")

    monkeypatch.setattr(grading.Gradings, "_alone", no_fallback)
    together = await services.gradings.inspect_many(a.inspector, [_grading(a, s) for s in steps])
    monkeypatch.undo()
    alone = await _one_by_one(services, b, steps)
    shapes = [_shape(o) for o in together]
    assert shapes == [_shape(o) for o in alone]
    assert await _state(a) == await _state(b)
    codes = [shape[1] if isinstance(shape, tuple) else shape["points_awarded"] for shape in shapes]
    assert codes == [
        8,
        "already_graded",
        4,
        "wrong_point",
        "dropoff_expired",
        "not_found",
        "wrong_point",
        "out_of_scope",
        "out_of_scope",
        8,
        0,
        10,
        "dropoff_expired",
        "validation_error",
    ]
    await services.sealer.seal_pending()
    report = await services.verifier.verify()
    assert report.ok, report


def _covers_the_cases(shapes: list[Any]) -> None:
    """The scenario reaches what it is meant to: credits, unscored repeats, and refusals."""
    messages = {shape["message"] for shape in shapes if isinstance(shape, dict)}
    assert "credited" in messages
    assert any(message.startswith("already graded") for message in messages)
    assert any("cap" in message for message in messages)
    codes = {shape[1] for shape in shapes if isinstance(shape, tuple)}
    assert {"out_of_scope", "validation_error", "code_revoked"} <= codes, codes
    assert "captured_at_out_of_range" in codes, codes
    assert "dropoff_expired" in codes, codes
    details = {shape[2] for shape in shapes if isinstance(shape, tuple)}
    assert any(detail.startswith("photo_ref:") for detail in details), details

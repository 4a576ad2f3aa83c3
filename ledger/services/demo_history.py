"""Four weeks of the demo subdistrict's past, dated in the past through the services.

`seed-demo` (services/demo.py) builds the subdistrict as it stood four weeks ago; this module
then lives through every day since, on a clock it moves from moment to moment: inspectors'
rounds at the collection points in the morning and evening windows (sent as an offline phone
sends them: a round's gradings in one request, each with its capture time), photos of most bad
grades, volunteers' shifts at the duty posts (approved each evening by the community's
coordinator), redemptions at each community's counter, payments at the partner merchants,
weigh-ins at weekends, a weekly settlement, and the demo resident's drop-offs graded from the
point's queue. Every write goes through the service the API calls, so its rows, entries, facts
and notices are what a real day leaves. `_close_day` ends each day: the sealer runs at 23:50
that local day, so every entry's `sealed_at` falls on the day it was written.

The shape is a real one's: more gradings at weekends and in the morning window, most grades
good, three older compounds worse, some households never taking part, one inspector more
lenient than the others (the anomaly flags have something to find). Deterministic: one
random.Random draws every choice in a fixed order and event ids are named by day and place, so
two seeds of the same size are alike.
"""

from __future__ import annotations

import hashlib
import random
import struct
import zlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from ledger.domain.access import SYSTEM, Principal, Role
from ledger.domain.errors import LedgerError
from ledger.domain.localtime import LOCAL_ZONE
from ledger.domain.rules import Grade, Material, Stream
from ledger.domain.scan_codes import CodeKind
from ledger.services.container import Services
from ledger.services.grading_group import Graded, Grading
from ledger.services.users import principal_of as principal_of_user
from ledger.store import bulk
from ledger.store import demo_world as world_store
from ledger.store import users as users_store
from ledger.store.demo_world import DemoHolder, DemoHousehold, DemoPlace, DemoReward

HISTORY_DAYS = 28
HISTORY_DAYS_MAX = 92
# The moment the subdistrict is built, on the first day of its history (local time).
BUILT_AT = time(6, 0)
# Sealed late each day, after its activity and before midnight (`_close_day`).
CLOSED_AT = time(23, 50)
PUBLISHED_AT = time(0, 5)
# The books: a reward's unit cost, and one price rise half-way through the history.
FEN_PER_POINT = 10
PRICE_RISE_REWARD, PRICE_RISE_PERCENT, PRICE_RISE_AFTER_DAYS = (
    "食用油一瓶",
    115,
    14,
)  # the next day's: the day's head is signed once it has closed
# An inspector's rounds: the points' windows; the phone syncs a few minutes after each.
ROUNDS = ((time(7, 0), 120, 60), (time(18, 0), 120, 40))  # (start, minutes, share in %)
SYNC_MINUTES = 12
# Each household's part: (share of households in %, chance of a grading on a given day).
PARTICIPATION = ((8, 0.0), (22, 0.015), (45, 0.05), (25, 0.2))
SHOP_CHANCE, OFFICE_CHANCE = 0.9, 0.5
WEEKEND_FACTOR, WEEKDAY_FACTOR = 1.25, 0.93
SECOND_STREAM_PERCENT = 30  # graded on a second stream the same round
SECOND_STREAMS = (Stream.OTHER, Stream.OTHER, Stream.RECYCLABLE, Stream.HAZARDOUS)
# Care: (careful, average, careless) shares in %, and each one's (good, fair) in % (the rest
# poor). The older 新村 estates sort worse.
CARE_SHARES, WORSE_CARE_SHARES = (60, 30, 10), (30, 42, 28)
GRADES_BY_CARE = ((92, 6), (74, 19), (42, 30))
WORSE_COMPOUNDS = frozenset({"米市巷新村", "德胜新村", "和睦新村"})
LENIENT_PERCENT = 12  # how many more "good" the lenient inspector gives
REASON_CODES = ("mixed", "wrong_bin", "not_bagged", "liquid", "overfilled", "dirty")
PHOTO_PERCENT = {Grade.POOR: 60, Grade.FAIR: 8, Grade.GOOD: 1}
# Volunteers: the share of a community's volunteers who do shifts; a post is staffed in a
# window with this chance (weekday, weekend); an approval is declined now and then.
ACTIVE_VOLUNTEER_PERCENT = 20
POST_STAFFED = (0.5, 0.7)
DECLINED_PERCENT = 3
DECIDED_AT = time(21, 30)
# The counter (社区积分兑换): per household and day, redemptions (Sunday closed) and payments.
COUNTER_HOURS = ((time(9, 0), 150), (time(14, 0), 180))
REDEMPTION_RATE, PAYMENT_RATE, WEIGHIN_RATE = 0.004, 0.0015, 0.004
SATURDAY, SUNDAY, MONDAY = 5, 6, 0
SETTLED_AT = time(10, 0)
PAYMENT_AMOUNTS = (10, 15, 20, 30, 50, 80)
MATERIALS = (Material.PAPER, Material.PAPER, Material.PLASTIC, Material.METAL, Material.TEXTILE)
DROPOFF_PERCENT = 60  # days the demo resident drops off in the morning window


class MovableClock(Protocol):
    """A clock whose moment the seed sets (tests' FrozenClock; `DemoClock` for the CLI)."""

    moment: datetime

    def now(self) -> datetime: ...


class DemoClock:
    """The time the seed says it is: the server's time when made, then moved by the seed."""

    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def now(self) -> datetime:
        return self.moment


@dataclass
class HistoryMade:
    """What the history wrote, for the summary `make run` prints."""

    days: int = 0
    gradings: int = 0
    photos: int = 0
    dropoffs: int = 0
    weighins: int = 0
    shifts: int = 0
    shifts_pending: int = 0
    redemptions: int = 0
    payments: int = 0
    settlements: int = 0
    refused: int = 0  # outcomes the services refused (none expected; counted, not hidden)


def first_day(today: date, days: int) -> date:
    return today - timedelta(days=days)


def built_at(today: date, days: int) -> datetime:
    """When the seed builds the subdistrict: early on the first day of its history."""
    return _at(first_day(today, days), BUILT_AT)


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=LOCAL_ZONE).astimezone(UTC)


async def seed_history(
    services: Services,
    clock: MovableClock,
    today: date,
    days: int,
    password_hash: str,
    seed: int,
) -> HistoryMade:
    """Live through the `days` days before `today`, closing each; the clock ends at the last
    day's close (the caller sets it back)."""
    rng = random.Random(seed)  # noqa: S311 (demo data, deliberately reproducible)
    history = _History(services, clock, rng, await _read_world(services))
    await history.add_staff(password_hash)
    await history.price_rewards(first_day(today, days))
    for index in range(days):
        day = first_day(today, days) + timedelta(days=index)
        await history.live(day, last=index == days - 1)
        await _close_day(services, day, clock)
        history.made.days += 1
    return history.made


async def _close_day(services: Services, day: date, clock: MovableClock) -> None:
    """The day's end: seal (and number the facts, then make the notices) at 23:50 local, so
    the day's entries are sealed on that day; then, just past midnight, publish the day's
    signed head as the sealer would (nothing is written between then and the next morning)."""
    clock.moment = _at(day, CLOSED_AT)
    await services.sealer.seal_all()
    await services.notice_projector.catch_up()
    clock.moment = _at(day + timedelta(days=1), PUBLISHED_AT)
    await services.transparency.publish_closed_days(clock.moment)


@dataclass
class _World:
    compounds: list[world_store.DemoCompound]
    households: list[DemoHousehold]
    balances: dict[int, int]
    points: list[DemoPlace]
    posts: list[DemoPlace]
    volunteers: list[DemoHolder]
    merchants: list[DemoHolder]
    rewards: list[DemoReward]
    logins: dict[str, Principal]


async def _read_world(services: Services) -> _World:
    async with services.db.read():
        logins = {}
        for row in await _demo_logins():
            user = await users_store.user_by_id(row)
            assert user is not None, "just read"
            logins[user.username] = await principal_of_user(user)
        return _World(
            compounds=await world_store.compounds(),
            households=await world_store.households(),
            balances=await world_store.household_balances(),
            points=await world_store.points(),
            posts=await world_store.posts(),
            volunteers=await world_store.volunteers(),
            merchants=await world_store.merchants(),
            rewards=await world_store.rewards(),
            logins=logins,
        )


async def _demo_logins() -> list[int]:
    rows = await bulk.users_named([role.value for role in Role])
    return [int(row["id"]) for row in rows]


@dataclass
class _Profile:
    chance: float
    care: int  # 0 careful, 1 average, 2 careless


@dataclass
class _Round:
    """One inspector's round at one compound's points: what is sent when the phone syncs."""

    compound: int
    window: int
    gradings: list[tuple[DemoHousehold, Stream, datetime]] = field(default_factory=list)


Action = Callable[[], Awaitable[None]]


class _History:
    """The subdistrict's people and what they do each day."""

    def __init__(
        self, services: Services, clock: MovableClock, rng: random.Random, world: _World
    ) -> None:
        self.services, self.clock, self.rng, self.world = services, clock, rng, world
        self.made = HistoryMade()
        self.codes = services.codes
        self.community_of = {c.id: c.community for c in world.compounds}
        self.names = {c.id: c.name for c in world.compounds}
        self.communities = sorted(set(self.community_of.values()))
        self.by_compound: dict[int, list[DemoHousehold]] = defaultdict(list)
        for household in world.households:
            self.by_compound[household.compound].append(household)
        self.points_of: dict[int, list[DemoPlace]] = defaultdict(list)
        for point in world.points:
            self.points_of[point.compound].append(point)
        self.buildings = {
            compound: max((int(h.building) for h in homes if h.building.isdigit()), default=1)
            for compound, homes in self.by_compound.items()
        }
        self.home = next(
            h for h in world.households if h.id == world.logins[Role.RESIDENT.value].household_id
        )
        self.profiles = {h.id: self._profile(h) for h in world.households}
        self.resident = world.logins[Role.RESIDENT.value]
        self.stock = {r.id: r.stock for r in world.rewards}
        self.redeemed: dict[tuple[int, int, str], int] = defaultdict(int)
        self.merchant_balances: dict[int, int] = defaultdict(int)
        self.inspectors: dict[int, list[Principal]] = {}
        self.lenient = ""
        self.coordinators: dict[int, Principal] = {}
        self.clerks: dict[int, Principal] = {}
        self.active: dict[int, list[Principal]] = {}
        self.pending: dict[int, list[int]] = defaultdict(list)  # community → shift ids

    def _profile(self, household: DemoHousehold) -> _Profile:
        if household.kind == "shop":
            return _Profile(SHOP_CHANCE, self.rng.choice((0, 1)))
        if household.kind == "office":
            return _Profile(OFFICE_CHANCE, self.rng.choice((0, 1, 1, 2)))
        shares = [share for share, _ in PARTICIPATION]
        chance = self.rng.choices([c for _, c in PARTICIPATION], weights=shares)[0]
        worse = self.names[household.compound] in WORSE_COMPOUNDS
        care = self.rng.choices((0, 1, 2), weights=WORSE_CARE_SHARES if worse else CARE_SHARES)
        return _Profile(chance, care[0])

    # --- the books ---------------------------------------------------------------------------

    async def price_rewards(self, first: date) -> None:
        """What each reward costs the subdistrict (a point is worth about 0.1 yuan to buy in),
        from the first day, and the stock that calls for a reorder; half-way through, cooking
        oil's price goes up, so the books show a cost history at work."""
        books = self.services.books
        for reward in self.world.rewards:
            cost_fen = reward.cost_points * FEN_PER_POINT
            await books.set_cost(
                SYSTEM, f"demo-cost-{reward.id}", reward.community, reward.id, cost_fen, first
            )
            await books.set_threshold(
                SYSTEM, f"demo-reorder-{reward.id}", reward.community, reward.id, reward.stock // 5
            )
            if reward.name == PRICE_RISE_REWARD:
                risen = cost_fen * PRICE_RISE_PERCENT // 100
                later = first + timedelta(days=PRICE_RISE_AFTER_DAYS)
                await books.set_cost(
                    SYSTEM, f"demo-cost-{reward.id}-2", reward.community, reward.id, risen, later
                )

    # --- the staff -------------------------------------------------------------------------

    async def add_staff(self, password_hash: str) -> None:
        """Inspectors (two or three to a compound, taking turns), and a coordinator and a
        clerk for each community, and a login for each active volunteer; all with the demo
        password, so any of them can sign in."""
        users = self.services.users
        compounds_of: dict[int, list[int]] = defaultdict(list)
        for compound in self.world.compounds:
            compounds_of[compound.community].append(compound.id)
        team: dict[int, list[str]] = defaultdict(list)
        made: list[tuple[str, Role, int | None, frozenset[int]]] = []
        for number, community in enumerate(self.communities, start=1):
            ids = compounds_of[community]
            size = max(2, (len(ids) + 1) // 2)
            for turn in range(size):
                covered = frozenset(
                    c for i, c in enumerate(ids) if turn in (i % size, (i + 1) % size)
                )
                name = f"inspector-{number}-{turn + 1}"
                made.append((name, Role.INSPECTOR, None, covered))
                for compound_id in covered:
                    team[compound_id].append(name)
            whole = frozenset(ids)
            made.append((f"coordinator-{number}", Role.COORDINATOR, None, whole))
            made.append((f"clerk-{number}", Role.CLERK, None, whole))
        self.lenient = "inspector-2-1"
        demo = self.world.logins[Role.INSPECTOR.value]
        for compound_id in sorted(demo.compound_ids):
            team[compound_id].append(demo.username)
        volunteer_login = self.world.logins[Role.VOLUNTEER.value]
        active: dict[int, list[int]] = defaultdict(list)
        for volunteer in self.world.volunteers:
            if volunteer.id == volunteer_login.volunteer_id:
                active[volunteer.community].append(volunteer.id)
            elif self.rng.randrange(100) < ACTIVE_VOLUNTEER_PERCENT:
                active[volunteer.community].append(volunteer.id)
                made.append(
                    (f"volunteer-{volunteer.id}", Role.VOLUNTEER, volunteer.id, frozenset())
                )
        async with self.services.db.write():
            added = {}
            for name, role, volunteer_id, scope in made:
                added[name] = await users.add(
                    name, password_hash, role, volunteer_id=volunteer_id, compound_ids=scope
                )
        async with self.services.db.read():
            principals = {}
            for name, result in added.items():
                user = await users_store.user_by_id(result.id)
                assert user is not None, "just added"
                principals[name] = await principal_of_user(user)
        principals |= self.world.logins
        self.inspectors = {c: [principals[n] for n in names] for c, names in team.items()}
        for number, community in enumerate(self.communities, start=1):
            self.coordinators[community] = principals[f"coordinator-{number}"]
            self.clerks[community] = principals[f"clerk-{number}"]
        for community, ids in active.items():
            self.active[community] = [
                volunteer_login
                if i == volunteer_login.volunteer_id
                else principals[f"volunteer-{i}"]
                for i in ids
            ]

    # --- a day ------------------------------------------------------------------------------

    async def live(self, day: date, *, last: bool) -> None:
        """Plan the day's doings, then do them in time order, the clock at each one's moment."""
        actions: list[tuple[datetime, int, Action]] = []

        def plan(moment: datetime, action: Action) -> None:
            actions.append((moment, len(actions), action))

        self._plan_rounds(day, plan)
        self._plan_shifts(day, plan, last)
        self._plan_counter(day, plan)
        if day.weekday() == MONDAY:
            plan(_at(day, SETTLED_AT), lambda: self._settle(day))
        for moment, _, action in sorted(actions, key=lambda a: (a[0], a[1])):
            self.clock.moment = moment
            await action()

    def _factor(self, day: date) -> float:
        return WEEKEND_FACTOR if day.weekday() >= SATURDAY else WEEKDAY_FACTOR

    def _plan_rounds(self, day: date, plan: Callable[[datetime, Action], None]) -> None:
        factor = self._factor(day)
        rounds: dict[tuple[int, int], _Round] = {}
        resident_home = self.resident.household_id
        for household in self.world.households:
            chance = self.profiles[household.id].chance * factor
            if household.id == resident_home or self.rng.random() >= chance:
                continue
            window = 0 if self.rng.randrange(100) < ROUNDS[0][2] else 1
            start, minutes, _ = ROUNDS[window]
            key = (household.compound, window)
            round_ = rounds.setdefault(key, _Round(household.compound, window))
            at = _at(day, start) + timedelta(seconds=self.rng.randrange(minutes * 60))
            round_.gradings.append((household, Stream.KITCHEN, at))
            if self.rng.randrange(100) < SECOND_STREAM_PERCENT:
                second = self.rng.choice(SECOND_STREAMS)
                round_.gradings.append((household, second, at + timedelta(seconds=20)))
        dropoff = self._plan_dropoff(day, plan)
        for (compound, window), round_ in sorted(rounds.items()):
            start, minutes, _ = ROUNDS[window]
            synced = _at(day, start) + timedelta(minutes=minutes + SYNC_MINUTES)
            inspector = self._inspector(day, compound, window)
            queued = dropoff if dropoff and dropoff[0] == (compound, window) else None
            plan(synced, self._round_action(day, inspector, round_, queued))
        if dropoff and dropoff[0] not in rounds:
            compound, window = dropoff[0]
            start, minutes, _ = ROUNDS[window]
            synced = _at(day, start) + timedelta(minutes=minutes + SYNC_MINUTES)
            inspector = self._inspector(day, compound, window)
            plan(synced, self._round_action(day, inspector, _Round(compound, window), dropoff))

    def _inspector(self, day: date, compound: int, window: int) -> Principal:
        team = self.inspectors[compound]
        return team[(day.toordinal() * 2 + window + compound) % len(team)]

    def _plan_dropoff(
        self, day: date, plan: Callable[[datetime, Action], None]
    ) -> tuple[tuple[int, int], list[int], datetime] | None:
        """The demo resident drops off on most mornings; the round grades it from the queue."""
        home = self.home
        if self.rng.randrange(100) >= DROPOFF_PERCENT:
            return None
        point = self._point(home)
        at = _at(day, ROUNDS[0][0]) + timedelta(minutes=self.rng.randrange(15, 80))
        found: list[int] = []  # the drop-off's id, once recorded

        async def drop() -> None:
            token = self.codes.token(CodeKind.POINT, point.id, point.card_serial)
            recorded = await self.services.scans.dropoff(
                self.resident, f"demo:{day}:dropoff", token
            )
            found.append(recorded.dropoff_id)
            self.made.dropoffs += 1

        plan(at, drop)
        return (home.compound, 0), found, at

    def _point(self, household: DemoHousehold) -> DemoPlace:
        """The point nearest the household's building (points are spread over buildings)."""
        points = self.points_of[household.compound]
        building = int(household.building) if household.building.isdigit() else 1
        buildings = self.buildings[household.compound]
        return points[min(len(points) - 1, (building - 1) * len(points) // buildings)]

    def _round_action(
        self,
        day: date,
        inspector: Principal,
        round_: _Round,
        dropoff: tuple[tuple[int, int], list[int], datetime] | None,
    ) -> Action:
        # Drawn now, in plan order, so the draws do not depend on when the action runs.
        graded = sorted(round_.gradings, key=lambda g: g[2])
        grades = [self._grade(household, inspector) for household, _, _ in graded]
        photos = [self.rng.randrange(100) < PHOTO_PERCENT[grade] for grade in grades]
        reasons = [self._reasons(grade) for grade in grades]
        queue_grade = self._grade(None, inspector)
        queue_reasons = self._reasons(queue_grade)

        async def send() -> None:
            gradings: list[Grading] = []
            counted: list[DemoHousehold] = []
            for n, ((household, stream, at), grade) in enumerate(zip(graded, grades, strict=True)):
                point = self._point(household)
                photo = await self._photo(inspector, day, round_, n, grade) if photos[n] else None
                gradings.append(
                    Grading(
                        event_id=f"demo:{day}:g:{round_.compound}:{round_.window}:{n}",
                        household_token=self.codes.token(
                            CodeKind.HOUSEHOLD, household.id, household.card_serial
                        ),
                        point_token=self.codes.token(CodeKind.POINT, point.id, point.card_serial),
                        stream=stream,
                        grade=grade,
                        reasons=reasons[n],
                        photo_ref=photo,
                        captured_at=at,
                    )
                )
                counted.append(household)
            if dropoff is not None and dropoff[1]:
                home = self.home
                point = self._point(home)
                gradings.append(
                    Grading(
                        event_id=f"demo:{day}:g:queue",
                        household_token=None,
                        point_token=self.codes.token(CodeKind.POINT, point.id, point.card_serial),
                        stream=Stream.KITCHEN,
                        grade=queue_grade,
                        reasons=queue_reasons,
                        photo_ref=None,
                        captured_at=dropoff[2] + timedelta(minutes=6),
                        dropoff_id=dropoff[1][0],
                    )
                )
                counted.append(home)
            outcomes = await self.services.gradings.inspect_many(inspector, gradings)
            for graded_home, outcome in zip(counted, outcomes, strict=True):
                if isinstance(outcome, Graded):
                    self.world.balances[graded_home.account] = outcome.balance_points
                    self.made.gradings += 1
                else:
                    self.made.refused += 1

        return send

    def _grade(self, household: DemoHousehold | None, inspector: Principal) -> Grade:
        care = 0 if household is None else self.profiles[household.id].care
        good, fair = GRADES_BY_CARE[care]
        if inspector.username == self.lenient:
            good, fair = min(99, good + LENIENT_PERCENT), max(1, fair - LENIENT_PERCENT // 2)
        roll = self.rng.randrange(100)
        return Grade.GOOD if roll < good else Grade.FAIR if roll < good + fair else Grade.POOR

    def _reasons(self, grade: Grade) -> list[str]:
        if grade is Grade.GOOD:
            return []
        return self.rng.sample(REASON_CODES, 1 if grade is Grade.FAIR else 2)

    async def _photo(
        self, inspector: Principal, day: date, round_: _Round, n: int, grade: Grade
    ) -> str:
        """The inspector's phone uploads the photo before the grading that names it."""
        data = tiny_png((day.toordinal(), round_.compound, round_.window, n), grade)
        stored = await self.services.photos.store(inspector, data, "image/png")
        self.made.photos += 1
        return stored.ref

    # --- volunteers ---------------------------------------------------------------------------

    def _plan_shifts(self, day: date, plan: Callable[[datetime, Action], None], last: bool) -> None:
        """Posts staffed in both windows; each evening the coordinator approves the day's
        shifts (the last evening's are left for the demo coordinator to decide)."""
        weekend = day.weekday() >= SATURDAY
        posts_of: dict[int, list[DemoPlace]] = defaultdict(list)
        for post in self.world.posts:
            posts_of[self.community_of[post.compound]].append(post)
        for community in self.communities:
            for window, (start, minutes, _) in enumerate(ROUNDS):
                staffed = [
                    post
                    for post in posts_of[community]
                    if self.rng.random() < POST_STAFFED[weekend]
                ]
                pool = self.active.get(community, [])
                chosen = self.rng.sample(pool, min(len(staffed), len(pool)))
                for post, volunteer in zip(staffed, chosen, strict=False):
                    began = _at(day, start) - timedelta(minutes=self.rng.randrange(0, 16))
                    ended = _at(day, start) + timedelta(
                        minutes=minutes + self.rng.randrange(-10, 21)
                    )
                    keep = last and window == 1
                    plan(began, self._check_in(day, window, volunteer, post))
                    plan(ended, self._check_out(day, window, volunteer, post, community, keep))
            decline = self.rng.randrange(100)
            plan(_at(day, DECIDED_AT), self._decide(day, community, decline))

    def _check_in(self, day: date, window: int, volunteer: Principal, post: DemoPlace) -> Action:
        async def check_in() -> None:
            token = self.codes.token(CodeKind.POST, post.id, post.card_serial)
            event_id = f"demo:{day}:in:{window}:{volunteer.volunteer_id}"
            await self.services.shifts.check_in(volunteer, event_id, token)

        return check_in

    def _check_out(
        self,
        day: date,
        window: int,
        volunteer: Principal,
        post: DemoPlace,
        community: int,
        keep: bool,
    ) -> Action:
        async def check_out() -> None:
            token = self.codes.token(CodeKind.POST, post.id, post.card_serial)
            event_id = f"demo:{day}:out:{window}:{volunteer.volunteer_id}"
            closed = await self.services.shifts.check_out(volunteer, event_id, token)
            self.made.shifts += 1
            if keep:
                self.made.shifts_pending += 1
            else:
                self.pending[community].append(closed.shift_id)

        return check_out

    def _decide(self, day: date, community: int, decline: int) -> Action:
        async def decide() -> None:
            shift_ids, self.pending[community] = self.pending[community], []
            if not shift_ids:
                return
            coordinator = self.coordinators[community]
            declined = shift_ids[:1] if decline < DECLINED_PERCENT else []
            approved = shift_ids[len(declined) :]
            shifts = self.services.shifts
            if declined:
                await shifts.decide(coordinator, f"demo:{day}:no:{community}", declined, False)
            if approved:
                await shifts.decide(coordinator, f"demo:{day}:yes:{community}", approved, True)

        return decide

    # --- the counter ------------------------------------------------------------------------

    def _plan_counter(self, day: date, plan: Callable[[datetime, Action], None]) -> None:
        """Redemptions (closed on Sundays) and payments; weigh-ins at weekends."""
        by_community: dict[int, list[DemoHousehold]] = defaultdict(list)
        for household in self.world.households:
            by_community[self.community_of[household.compound]].append(household)
        factor = self._factor(day)
        for community in self.communities:
            homes = by_community[community]
            size = len(homes) * factor
            if day.weekday() != SUNDAY:
                for n in range(self._count(size * REDEMPTION_RATE)):
                    plan(self._counter_moment(day), self._redeem(day, community, homes, n))
            for n in range(self._count(size * PAYMENT_RATE)):
                at = _at(day, time(8)) + timedelta(minutes=self.rng.randrange(11 * 60))
                plan(at, self._pay(day, community, homes, n))
            if day.weekday() >= SATURDAY:
                for n in range(self._count(size * WEIGHIN_RATE)):
                    plan(self._counter_moment(day), self._weigh(day, community, homes, n))

    def _count(self, expected: float) -> int:
        """A whole count around `expected` (its fraction drawn), so small worlds get some."""
        whole = int(expected)
        return whole + (self.rng.random() < expected - whole)

    def _counter_moment(self, day: date) -> datetime:
        start, minutes = self.rng.choice(COUNTER_HOURS)
        return _at(day, start) + timedelta(seconds=self.rng.randrange(minutes * 60))

    def _redeem(self, day: date, community: int, homes: list[DemoHousehold], n: int) -> Action:
        tries = [self.rng.choice(homes) for _ in range(12)]
        draws = [self.rng.random()]

        async def redeem() -> None:
            month = f"{day:%Y-%m}"
            for household in tries:
                balance = self.world.balances[household.account]
                offers = [
                    reward
                    for reward in self.world.rewards
                    if reward.community == community
                    and reward.cost_points <= balance
                    and self.stock[reward.id] > 0
                    and (
                        reward.monthly_limit is None
                        or self.redeemed[(household.id, reward.id, month)] < reward.monthly_limit
                    )
                ]
                if offers:
                    break
            else:
                return
            weights = [1 / reward.cost_points for reward in offers]
            reward = _weighted(offers, weights, draws[0])
            clerk = self.clerks[community]
            token = self.codes.token(CodeKind.HOUSEHOLD, household.id, household.card_serial)
            event_id = f"demo:{day}:r:{community}:{n}"
            try:
                done = await self.services.spending.redeem(clerk, event_id, token, reward.id, 1)
            except LedgerError:
                self.made.refused += 1
                return
            self.world.balances[household.account] = done.balance_points
            self.stock[reward.id] -= 1
            self.redeemed[(household.id, reward.id, month)] += 1
            self.made.redemptions += 1

        return redeem

    def _pay(self, day: date, community: int, homes: list[DemoHousehold], n: int) -> Action:
        tries = [self.rng.choice(homes) for _ in range(12)]
        amount = self.rng.choice(PAYMENT_AMOUNTS)
        shops = [m for m in self.world.merchants if m.community == community][:-1]
        merchant = self.rng.choice(shops) if shops else None

        async def pay() -> None:
            household = next((h for h in tries if self.world.balances[h.account] >= amount), None)
            if household is None or merchant is None:
                return
            clerk = self.clerks[community]
            token = self.codes.token(CodeKind.HOUSEHOLD, household.id, household.card_serial)
            event_id = f"demo:{day}:p:{community}:{n}"
            try:
                paid = await self.services.spending.pay(clerk, event_id, token, merchant.id, amount)
            except LedgerError:
                self.made.refused += 1
                return
            self.world.balances[household.account] = paid.balance_points
            self.merchant_balances[merchant.id] += amount
            self.made.payments += 1

        return pay

    def _weigh(self, day: date, community: int, homes: list[DemoHousehold], n: int) -> Action:
        household = self.rng.choice(homes)
        material = self.rng.choice(MATERIALS)
        grams = self.rng.randrange(500, 8_000, 50)

        async def weigh() -> None:
            clerk = self.clerks[community]
            token = self.codes.token(CodeKind.HOUSEHOLD, household.id, household.card_serial)
            event_id = f"demo:{day}:w:{community}:{n}"
            try:
                done = await self.services.scans.weighin(clerk, event_id, token, material, grams)
            except LedgerError:
                self.made.refused += 1
                return
            self.world.balances[household.account] = done.balance_points
            self.made.weighins += 1

        return weigh

    async def _settle(self, day: date) -> None:
        """Each Monday the subdistrict settles what the merchants took in points."""
        admin = self.world.logins[Role.ADMIN.value]
        for merchant_id in sorted(self.merchant_balances):
            if self.merchant_balances[merchant_id] <= 0:
                continue
            event_id = f"demo:{day}:s:{merchant_id}"
            await self.services.spending.settle(admin, event_id, merchant_id)
            self.merchant_balances[merchant_id] = 0
            self.made.settlements += 1


def _weighted(offers: list[DemoReward], weights: list[float], draw: float) -> DemoReward:
    """The offer at `draw` (0 ≤ draw < 1) of the weights' running total."""
    target, running = draw * sum(weights), 0.0
    for reward, weight in zip(offers, weights, strict=True):
        running += weight
        if target < running:
            return reward
    return offers[-1]


def tiny_png(key: tuple[int, ...], grade: Grade) -> bytes:
    """A 16×12 PNG unique to `key`: bins and their contents in a few blocks of colour, greener
    for a good grade. Enough to be stored, shown and re-graded; a few hundred bytes."""
    width, height = 16, 12
    base = {Grade.GOOD: (70, 150, 80), Grade.FAIR: (150, 140, 70), Grade.POOR: (140, 90, 60)}
    red, green, blue = base[grade]
    noise = hashlib.sha256(repr(key).encode()).digest()  # distinct bytes, so a distinct ref
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # no filter
        for x in range(width):
            bits = noise[(x + y * width) % len(noise)] & 0x1F
            raw += bytes(((red + bits) % 256, (green + bits * 2) % 256, (blue + bits) % 256))

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw)))
        + chunk(b"IEND", b"")
    )

"""Leaderboards and the red/black list, from Redis when it is there, else from SQL, the same."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from ledger import metrics
from ledger.domain.errors import InvalidInput, NotFound
from ledger.domain.leaderboard import (
    REDBLACK_MIN_GRADED,
    REDBLACK_SIZE,
    Board,
    Keys,
    Period,
    Ranked,
    bounds,
    bucket,
    mask_name,
    percent_text,
    ranking,
    ratio,
)
from ledger.domain.registry import public_unit_label
from ledger.projections.boards import RedisBoards, Rider
from ledger.projections.client import REDIS_FAILURES
from ledger.store import boards as store
from ledger.store import facts, reads
from ledger.store.replica import on_replica

log = logging.getLogger(__name__)
LIMIT_MAX = 100
# Redis answers only while its projection is at most this many facts behind (one batch of the
# projector); further behind, SQL answers. The head it is compared with is read at most this
# often per process (FactsHead).
LAG_FACTS_MAX = 1_000
HEAD_MAX_AGE_SECONDS = 1.0
# Boards kept as sorted sets: their pages come from Redis without reading the whole set.
SORTED_SET_BOARDS = frozenset({Board.HOUSEHOLDS, Board.BUILDINGS, Board.VOLUNTEERS_HOURS})
SCOPES_KEPT_MAX = 100_000


@dataclass(frozen=True, slots=True)
class Scores:
    """Raw numbers for one board and period: values plus what labels need."""

    values: dict[str, Fraction | int]
    counts: dict[str, tuple[int, int]]


@dataclass(frozen=True, slots=True)
class BoardItem:
    """One ranked line; a share (accuracy, participation) also has the counts behind it."""

    rank: int
    id: str
    label: str
    value: int | str
    numerator: int | None = None
    denominator: int | None = None


@dataclass(frozen=True, slots=True)
class Leaderboard:
    board: str
    period: str
    bucket: str
    scope_id: int
    source: str  # redis | sql
    items: list[BoardItem]


@dataclass(frozen=True, slots=True)
class RedBlack:
    community_id: int
    half_month: str
    min_graded: int
    source: str
    red: list[BoardItem]
    black: list[BoardItem]


@dataclass(frozen=True)
class Boards:
    redis: RedisBoards | None
    # compound → community, and communities seen: neither can change once created (no API
    # moves or deletes them; piccolo-admin refuses `community` edits and every delete), so
    # what one lookup found stays true for the life of the process. Misses are not kept.
    _communities: dict[tuple[bool, int], int] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _head: FactsHead = field(
        default_factory=lambda: FactsHead(), init=False, repr=False, compare=False
    )

    async def leaderboard(
        self,
        board: Board,
        period: Period,
        scope_id: int,
        limit: int,
        day: date,
        rider: Rider | None = None,
    ) -> Leaderboard:
        """Top `limit` of a board for the period containing `day`; ties share a rank. A
        `rider` (the request's rate-limit hits) goes in the round trip of the Redis read, if
        there is one; else its owner sends it."""
        if not 1 <= limit <= LIMIT_MAX:
            raise InvalidInput("limit", f"must be between 1 and {LIMIT_MAX}")
        community_id = await self._scope(board, scope_id)
        name = bucket(period, day)
        top: tuple[list[Ranked], dict[str, str]] | None = None
        if self.redis is not None and board in SORTED_SET_BOARDS:
            try:
                top = await _top_from_redis(
                    self.redis,
                    self._head,
                    board,
                    period,
                    scope_id,
                    community_id,
                    name,
                    limit,
                    rider,
                )
            except REDIS_FAILURES as error:
                metrics.redis_error("boards")
                log.warning("answering %s from SQL, Redis unavailable: %s", board, error)
        counts: dict[str, tuple[int, int]] = {}
        if top is not None:
            (ranked, labels), source = top, "redis"
        else:
            if self.redis is not None and board in SORTED_SET_BOARDS:
                scores, source = await _from_sql(board, period, scope_id, community_id, day), "sql"
            else:
                scores, source = await self.scores(board, period, scope_id, community_id, day)
            ranked, counts = ranking(scores.values, limit), scores.counts
            labels = await _labels(board, [r.subject_id for r in ranked], community_id)
        items = [_item(board, r.rank, r.subject_id, r.value, labels, counts) for r in ranked]
        return Leaderboard(board.value, period.value, name, scope_id, source, items)

    async def scores(
        self, board: Board, period: Period, scope_id: int, community_id: int, day: date
    ) -> tuple[Scores, str]:
        if self.redis is not None:
            try:
                if await self._caught_up(self.redis):
                    return await _from_redis(
                        self.redis, board, period, scope_id, community_id, day
                    ), "redis"
            except REDIS_FAILURES as error:
                metrics.redis_error("boards")
                log.warning("answering %s from SQL, Redis unavailable: %s", board, error)
        return await _from_sql(board, period, scope_id, community_id, day), "sql"

    async def _caught_up(self, redis: RedisBoards) -> bool:
        """Whether Redis is close enough behind the facts to answer: not, for example, while
        it replays everything after coming back empty (a restart without persistence)."""
        return await self._head.value() - await redis.cursor() <= LAG_FACTS_MAX

    async def redblack(self, community_id: int, half_month: date) -> RedBlack:
        """Top and bottom compounds by accuracy in a half-month, among those graded enough."""
        if not await store.community_exists(community_id):
            raise NotFound("community", community_id)
        board = Board.COMPOUNDS_ACCURACY
        scores, source = await self.scores(
            board, Period.HALF_MONTH, community_id, community_id, half_month
        )
        eligible = {
            cid: v
            for cid, v in scores.values.items()
            if scores.counts[cid][1] >= REDBLACK_MIN_GRADED
        }
        red = ranking(eligible, REDBLACK_SIZE)
        rest = {cid: -v for cid, v in eligible.items() if cid not in {r.subject_id for r in red}}
        black = ranking(rest, REDBLACK_SIZE)
        labels = await _labels(board, list(eligible), community_id)
        return RedBlack(
            community_id=community_id,
            half_month=bucket(Period.HALF_MONTH, half_month),
            min_graded=REDBLACK_MIN_GRADED,
            source=source,
            red=[_item(board, r.rank, r.subject_id, r.value, labels, scores.counts) for r in red],
            black=[
                _item(board, r.rank, r.subject_id, -r.value, labels, scores.counts) for r in black
            ],
        )

    async def _scope(self, board: Board, scope_id: int) -> int:
        """The community a board's scope belongs to (compound boards are scoped by compound)."""
        by_compound = board in (Board.HOUSEHOLDS, Board.BUILDINGS)
        known = self._communities.get((by_compound, scope_id))
        if known is not None:
            return known
        if by_compound:
            community_id = await reads.community_of_compound(scope_id)
            if community_id is None:
                raise NotFound("compound", scope_id)
        else:
            if not await store.community_exists(scope_id):
                raise NotFound("community", scope_id)
            community_id = scope_id
        if len(self._communities) >= SCOPES_KEPT_MAX:
            self._communities.clear()
        self._communities[(by_compound, scope_id)] = community_id
        return community_id


@on_replica
async def _from_sql(
    board: Board, period: Period, scope_id: int, community_id: int, day: date
) -> Scores:
    first, end = bounds(period, day)
    if board in (Board.HOUSEHOLDS, Board.BUILDINGS):
        points = await store.net_points(scope_id, board is Board.BUILDINGS, first, end)
        return Scores(dict(points), {})
    if board is Board.VOLUNTEERS_HOURS:
        minutes = await store.volunteer_minutes(community_id, first, end)
        return Scores(dict(minutes), {})
    if board is Board.COMPOUNDS_ACCURACY:
        graded = await store.grades(community_id, first, end)
        return _accuracy({str(c): (good, total) for c, (total, good) in graded.items()})
    taking_part = await store.participants(community_id, first, end)
    return await _participation(community_id, {str(c): n for c, n in taking_part.items()})


async def _from_redis(
    redis: RedisBoards, board: Board, period: Period, scope_id: int, community_id: int, day: date
) -> Scores:
    keys, name = Keys(redis.prefix, community_id), bucket(period, day)
    if board in (Board.HOUSEHOLDS, Board.BUILDINGS):
        key = (keys.households if board is Board.HOUSEHOLDS else keys.buildings)(
            scope_id, period, name
        )
        return Scores(dict(await redis.sorted_set(key)), {})
    if board is Board.VOLUNTEERS_HOURS:
        minutes = await redis.sorted_set(keys.volunteers(period, name))
        return Scores({k: v for k, v in minutes.items() if v > 0}, {})
    if board is Board.COMPOUNDS_ACCURACY:
        fields = await redis.hash(keys.grades(period, name))
        compounds = {f.split(":")[0] for f in fields}
        return _accuracy(
            {c: (fields.get(f"{c}:good", 0), fields.get(f"{c}:graded", 0)) for c in compounds}
        )
    registered = await store.compounds_of(community_id)
    sizes = {str(c): await redis.set_size(keys.participation(c, period, name)) for c in registered}
    return await _participation(community_id, {c: n for c, n in sizes.items() if n > 0})


async def _top_from_redis(
    redis: RedisBoards,
    head: FactsHead,
    board: Board,
    period: Period,
    scope_id: int,
    community_id: int,
    name: str,
    limit: int,
    rider: Rider | None = None,
) -> tuple[list[Ranked], dict[str, str]] | None:
    """A points or hours board's page from its sorted set, with its labels: one Redis round
    trip (the rider, the cursor, the top members and their labels) and, but for a label the
    projection does not hold yet, no SQL. None when Redis is too far behind the facts to
    answer (SQL answers instead)."""
    keys = Keys(redis.prefix, community_id)
    labels_key: str | None = None
    if board is Board.VOLUNTEERS_HOURS:
        key, labels_key = keys.volunteers(period, name), keys.volunteer_labels()
    elif board is Board.HOUSEHOLDS:
        key, labels_key = keys.households(scope_id, period, name), keys.household_labels()
    else:
        key = keys.buildings(scope_id, period, name)
    top = await redis.cursor_and_top(key, limit, board is Board.VOLUNTEERS_HOURS, labels_key, rider)
    if await head.value() - top.cursor > LAG_FACTS_MAX:
        return None
    ranked = ranking(top.scores, limit)
    ids = [r.subject_id for r in ranked]
    if board is Board.BUILDINGS:
        return ranked, {s: f"{s}幢" for s in ids}
    missing = [s for s in ids if s not in top.labels]
    return ranked, top.labels | await _labels(board, missing, community_id)


@dataclass
class FactsHead:
    """The board facts' head, read at most every HEAD_MAX_AGE_SECONDS by one caller at a time:
    what Redis's cursor is compared with before Redis answers. Read older, it can only make
    the lag look smaller by what was written meanwhile (a second's facts)."""

    _value: int = 0
    _read_at: float = float("-inf")
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def value(self) -> int:
        if time.monotonic() - self._read_at <= HEAD_MAX_AGE_SECONDS:
            return self._value
        async with self._lock:
            if time.monotonic() - self._read_at > HEAD_MAX_AGE_SECONDS:
                self._value = await facts.head()
                self._read_at = time.monotonic()
            return self._value


def _accuracy(counts: dict[str, tuple[int, int]]) -> Scores:
    """Compounds with at least one grade: share of good grades."""
    present = {c: (good, graded) for c, (good, graded) in counts.items() if graded > 0}
    return Scores({c: ratio(good, graded) for c, (good, graded) in present.items()}, present)


async def _participation(community_id: int, taking_part: dict[str, int]) -> Scores:
    registered = await store.compounds_of(community_id)
    counts = {c: (n, registered[int(c)].households) for c, n in taking_part.items()}
    return Scores({c: ratio(n, total) for c, (n, total) in counts.items()}, counts)


async def _labels(board: Board, subject_ids: list[str], community_id: int) -> dict[str, str]:
    """Public labels: never a person's name or a full address."""
    if board is Board.HOUSEHOLDS:
        households = await household_labels([int(s) for s in subject_ids])
        return {str(i): label for i, label in households.items()}
    if board is Board.BUILDINGS:
        return {s: f"{s}幢" for s in subject_ids}
    if board is Board.VOLUNTEERS_HOURS:
        volunteers = await volunteer_labels([int(s) for s in subject_ids])
        return {str(i): label for i, label in volunteers.items()}
    compounds = await store.compounds_of(community_id)
    return {str(c): row.name for c, row in compounds.items()}


async def household_labels(ids: list[int]) -> dict[int, str]:
    """What the boards show of these households: a masked address, or a shop's or office's
    name (the projector stores the same in Redis)."""
    rows = await store.households_by_id(ids)
    return {
        i: public_unit_label(r["kind"], r["building"], r["unit"], r["room"], r["name"])
        for i, r in rows.items()
    }


async def volunteer_labels(ids: list[int]) -> dict[int, str]:
    """What the boards show of these volunteers: a masked name."""
    return {i: mask_name(name) for i, name in (await store.volunteer_names(ids)).items()}


def _item(
    board: Board,
    rank: int,
    subject_id: str,
    value: Fraction | int,
    labels: dict[str, str],
    counts: dict[str, tuple[int, int]],
) -> BoardItem:
    label = labels.get(subject_id, subject_id)
    if board in (Board.COMPOUNDS_ACCURACY, Board.COMPOUNDS_PARTICIPATION):
        part, whole = counts[subject_id]
        return BoardItem(rank, subject_id, label, percent_text(value), part, whole)
    return BoardItem(rank, subject_id, label, int(value))


async def differences(redis: RedisBoards, day: date) -> list[str]:
    """Every board and period containing `day`, Redis against SQL: one line per difference."""
    problems: list[str] = []
    for community_id in await store.community_ids():
        compounds = list(await store.compounds_of(community_id))
        for board in Board:
            scopes = compounds if board in (Board.HOUSEHOLDS, Board.BUILDINGS) else [community_id]
            for scope_id, period in ((s, p) for s in scopes for p in Period):
                cached = await _from_redis(redis, board, period, scope_id, community_id, day)
                truth = await _from_sql(board, period, scope_id, community_id, day)
                if cached != truth:
                    problems.append(_difference(board, period, scope_id, day, cached, truth))
        problems += await _label_differences(redis, community_id)
    return problems


async def _label_differences(redis: RedisBoards, community_id: int) -> list[str]:
    """Each label the projection holds against the one SQL gives now: the first that differs
    per board (a label the projection does not hold yet is read from SQL; not a difference)."""
    keys = redis.keys(community_id)
    problems = []
    for board, key in (
        (Board.HOUSEHOLDS, keys.household_labels()),
        (Board.VOLUNTEERS_HOURS, keys.volunteer_labels()),
    ):
        held = await redis.labels(key)
        truth = await _labels(board, list(held), community_id)
        wrong = sorted((s for s in held if truth.get(s) != held[s]), key=lambda s: (len(s), s))
        if wrong:
            first = wrong[0]
            problems.append(
                f"{board.value} label of {first} is {held[first]!r} in Redis, "
                f"{truth.get(first)!r} in SQL"
            )
    return problems


def _difference(
    board: Board, period: Period, scope_id: int, day: date, cached: Scores, truth: Scores
) -> str:
    members = sorted(set(cached.values) | set(truth.values))

    def shown(scores: Scores, member: str) -> str:
        """The value, or for a share the counts it comes from (3/4 and 6/8 are not equal)."""
        if member in scores.counts:
            return "{}/{}".format(*scores.counts[member])
        return str(scores.values.get(member))

    first = next(m for m in members if shown(cached, m) != shown(truth, m))
    return (
        f"{board.value} {bucket(period, day)} scope {scope_id}: {first} is "
        f"{shown(cached, first)} in Redis, {shown(truth, first)} in SQL"
    )

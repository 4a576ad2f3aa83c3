"""The projector: board facts, in sequence order, into Redis exactly once."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field

from ledger import metrics
from ledger.domain.leaderboard import (
    Op,
    grade_ops,
    hours_ops,
    label_op,
    participation_ops,
    points_ops,
)
from ledger.projections.boards import LEASED, RedisBoards, group_by_community
from ledger.projections.client import REDIS_FAILURES
from ledger.services import background
from ledger.services.boards import household_labels, volunteer_labels
from ledger.store import boards as board_store
from ledger.store import facts
from ledger.store.boards import HouseholdPlace
from ledger.store.facts import Fact

log = logging.getLogger(__name__)

FACT_BATCH = 1_000
IDLE_SECONDS = 0.5
# Every API worker runs a projector, and each would apply every fact: the second's applies
# change nothing (the watermarks), but its Python and Redis work is all spent again. So one
# leads at a time, renewing its lead before each batch; the others idle, and one takes over
# within LEAD_SECONDS of a leader that died.
LEAD_SECONDS = 5.0


class _Leased(Exception):
    """A rebuild owns a community: this projector stops and leaves the cursor where it was."""


@dataclass
class Projector:
    boards: RedisBoards
    lease: str = ""
    _households: dict[int, HouseholdPlace] = field(default_factory=dict)
    # Set by `run`: the background loop projects only while it leads (a rebuild, a test or the
    # CLI calling `catch_up` does not ask).
    _leader: str | None = None

    async def catch_up(self, start: int | None = None) -> int:
        """Apply every sequenced fact past the cursor; returns how many facts were read."""
        try:
            return await self._catch_up(await self.boards.cursor() if start is None else start)
        except _Leased:
            return 0

    async def _catch_up(self, cursor: int) -> int:
        total = 0
        while await self._leads() and (batch := await facts.after(cursor, FACT_BATCH)):
            through = batch[-1].seq
            self._forget_relabelled(batch)
            await self._learn_households(batch)
            grouped = group_by_community(
                [(f.community_id, self._ops(f)) for f in batch] + await self._label_ops(batch)
            )
            replay_from = through
            for community_id in sorted({f.community_id for f in batch}):
                ops = grouped.get(community_id, [])
                applied = await self._apply(community_id, ops, cursor, through)
                replay_from = min(replay_from, applied)
            total += len(batch)
            if replay_from < cursor:
                log.warning("Redis lost board facts after %d; replaying them", replay_from)
            await self.boards.set_cursor(replay_from)
            cursor = replay_from
        return total

    async def _leads(self) -> bool:
        return self._leader is None or await self.boards.lead(self._leader, LEAD_SECONDS)

    async def _apply(self, community_id: int, ops: list[Op], cursor: int, through: int) -> int:
        """Apply a batch that follows `cursor`; returns `through`, or, if Redis no longer has
        facts of this community up to `cursor`, the watermark to replay from.

        A watermark below the cursor is normal for a community without facts for a while; it
        is a loss only if the community has facts between the watermark and the cursor."""
        applied = await self.boards.apply(community_id, ops, through, cursor, self.lease)
        if applied == LEASED:
            raise _Leased
        if applied >= 0:
            return through
        watermark = -1 - applied
        if await facts.any_between(community_id, watermark, cursor):
            return watermark
        applied = await self.boards.apply(community_id, ops, through, watermark, self.lease)
        if applied == LEASED:
            raise _Leased
        return through if applied >= 0 else -1 - applied

    async def rebuild(self) -> int:
        """Forget the boards and replay all facts from the first, safely beside running
        projectors: a lease per community makes their applies refuse until it is done."""
        lease = uuid.uuid4().hex
        communities = await board_store.community_ids()
        await self.boards.take_leases(communities, lease)
        try:
            await self.boards.clear()
            return await Projector(self.boards, lease=lease).catch_up(start=0)
        finally:
            await self.boards.release_leases(communities)

    async def run(self, stop: asyncio.Event) -> None:
        """Background loop: when Redis is down it waits, then catches up by itself. It
        projects while it leads the projectors (LEAD_SECONDS)."""
        self._leader = uuid.uuid4().hex
        while not stop.is_set():
            try:
                started = time.perf_counter()
                applied = await self.catch_up()
                if applied:
                    metrics.step_done("project", started, facts_applied=applied)
            except REDIS_FAILURES as error:
                metrics.step_failed("project")
                metrics.redis_error("projector")
                log.warning("projection paused, Redis unavailable: %s", error)
                applied = 0
            except Exception as error:
                # The database can fail too (a restart, a lock timeout): retry, as the sealer
                # does, rather than end the task and leave the boards behind until a restart.
                background.step_failed(log, "project", "projection", error)
                applied = 0
            if applied == 0:
                await background.idle(stop, IDLE_SECONDS)

    def _ops(self, fact: Fact) -> list[Op]:
        keys = self.boards.keys(fact.community_id)
        payload, seq, day = fact.payload, fact.seq, fact.day
        if fact.kind == "points":
            return []  # retired: net points issued, adjustments included; see leaderboard.py
        if fact.kind == "earned":
            household = self._household(payload["account"])
            return points_ops(
                keys,
                seq,
                day,
                household.compound,
                household.id,
                household.building,
                payload["delta"],
            )
        if fact.kind == "grade":
            return grade_ops(
                keys, seq, day, payload["compound"], payload["graded"], payload["good"]
            )
        if fact.kind == "participation":
            return participation_ops(keys, seq, day, payload["compound"], payload["household"])
        if fact.kind == "hours":
            return hours_ops(keys, seq, day, payload["volunteer"], payload["minutes"])
        if fact.kind == "label":
            return []  # its ops are the batch's label ops (_label_ops)
        raise AssertionError(f"unknown fact kind {fact.kind}")

    async def _label_ops(self, batch: list[Fact]) -> list[tuple[int, list[Op]]]:
        """The public label of every household and volunteer the batch names, read now, so the
        boards' labels come from Redis with their scores. An edit after this read writes a
        label fact (a database trigger), which a later batch reads again: the label a board
        shows is never older than the projection it comes with."""
        named: dict[str, dict[int, tuple[int, int]]] = {"household": {}, "volunteer": {}}
        for fact in batch:
            if (subject := self._labelled(fact)) is not None:
                kind, subject_id = subject
                named[kind][subject_id] = (fact.community_id, fact.seq)  # the latest seq
        labels = {
            "household": await household_labels(sorted(named["household"])),
            "volunteer": await volunteer_labels(sorted(named["volunteer"])),
        }
        ops: list[tuple[int, list[Op]]] = []
        for kind, subjects in named.items():
            for subject_id, (community_id, seq) in subjects.items():
                if (label := labels[kind].get(subject_id)) is not None:
                    keys = self.boards.keys(community_id)
                    key = (
                        keys.household_labels() if kind == "household" else keys.volunteer_labels()
                    )
                    ops.append((community_id, [label_op(key, seq, subject_id, label)]))
        return ops

    def _labelled(self, fact: Fact) -> tuple[str, int] | None:
        """The household or volunteer whose board label a fact shows or may have changed."""
        if fact.kind == "earned":
            return "household", self._household(fact.payload["account"]).id
        if fact.kind == "hours":
            return "volunteer", fact.payload["volunteer"]
        if fact.kind == "label":
            kind = "household" if "household" in fact.payload else "volunteer"
            return kind, fact.payload[kind]
        return None

    def _forget_relabelled(self, batch: list[Fact]) -> None:
        """A household whose label fact is in the batch may have moved building: where it
        sits is read again for its next earned fact."""
        edited = {f.payload.get("household") for f in batch if f.kind == "label"} - {None}
        if edited:
            self._households = {
                account: place
                for account, place in self._households.items()
                if place.id not in edited
            }

    async def _learn_households(self, batch: list[Fact]) -> None:
        """Where a household account sits never changes, so it is cached for the process; the
        accounts a batch of facts names for the first time are read in one query."""
        unknown = [
            f.payload["account"]
            for f in batch
            if f.kind == "earned" and f.payload["account"] not in self._households
        ]
        self._households |= await board_store.households_of_accounts(unknown)

    def _household(self, account_id: int) -> HouseholdPlace:
        """Learnt for the batch by `_learn_households` before its ops are made."""
        row = self._households.get(account_id)
        assert row is not None, "an earned fact names a household account"
        return row

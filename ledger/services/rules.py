"""Earning rules per community: set going forward, read as of a moment."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ledger.domain.access import Principal
from ledger.domain.errors import InvalidInput, NotFound, RuleNotAllowed
from ledger.domain.rules import DEFAULT_RULES, EarningRules, parse_rules
from ledger.ports import Clock
from ledger.services.runner import Runner
from ledger.store import earning as store
from ledger.store import registry as registry_store
from ledger.store import rules as rules_store
from ledger.store.rules import RuleVersion

# A little slack for clock skew between the admin's device and the server.
PAST_EFFECTIVE_SECONDS_MAX = 60
FUTURE_EFFECTIVE_DAYS_MAX = 2 * 366


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: int
    rules: EarningRules


@dataclass(frozen=True, slots=True)
class RulesView:
    """A community's rules version as the API shows it."""

    community_id: int
    version: int
    effective_from: str
    rules: dict[str, Any]


@dataclass(frozen=True)
class Rules:
    clock: Clock
    runner: Runner

    async def set(
        self,
        actor: Principal,
        event_id: str,
        community_id: int,
        effective_from: datetime,
        document: dict[str, Any],
    ) -> RulesView:
        """A new version from `effective_from` on, never earlier: the past keeps its rules."""
        rules = parse_rules(document)
        if effective_from.tzinfo is None:
            raise InvalidInput(
                "effective_from", "needs a UTC offset, e.g. 2026-12-01T00:00:00+08:00"
            )
        inputs = {
            "community_id": community_id,
            "effective_from": effective_from.isoformat(),
            "rules": rules.to_json(),
        }

        async def action() -> RulesView:
            if not await registry_store.community_exists(community_id):
                raise NotFound("community", community_id)
            now = self.clock.now()
            if (now - effective_from).total_seconds() > PAST_EFFECTIVE_SECONDS_MAX:
                raise RuleNotAllowed(
                    "effective_from is in the past; rules change going forward only"
                )
            if effective_from - now > timedelta(days=FUTURE_EFFECTIVE_DAYS_MAX):
                raise InvalidInput(
                    "effective_from",
                    f"must be within {FUTURE_EFFECTIVE_DAYS_MAX} days from now",
                    by_clock=True,
                )
            return await add_version(community_id, rules, effective_from, actor.username, now)

        return await self.runner.once("rules", event_id, actor, inputs, action, RulesView)

    async def current(self, community_id: int) -> RulesView:
        row = await rules_store.latest(community_id)
        if row is None:
            raise NotFound("rules of community", community_id)
        return _view(row)


async def add_version(
    community_id: int, rules: EarningRules, effective_from: datetime, actor: str, now: datetime
) -> RulesView:
    """In the caller's transaction: the next version number of this community."""
    latest = await rules_store.latest(community_id)
    version = 1 if latest is None else latest.version + 1
    text = json.dumps(rules.to_json(), sort_keys=True)
    await rules_store.add(RuleVersion(community_id, version, effective_from, text), actor, now)
    return RulesView(
        community_id=community_id,
        version=version,
        effective_from=effective_from.isoformat(),
        rules=rules.to_json(),
    )


async def rules_at(community_id: int, moment: datetime) -> RuleSet:
    """The rules in force for an event at `moment` (built-in defaults as version 0 if none)."""
    row = await store.rule_at(community_id, moment)
    return RuleSet(0, DEFAULT_RULES) if row is None else _rule_set(row)


async def rules_over(community_id: int, moments: list[datetime]) -> dict[datetime, RuleSet]:
    """`rules_at` for many moments of one community, in one read."""
    rows = await store.rules_between(community_id, min(moments), max(moments))
    return rules_in_force(rows, moments)


def rules_in_force(rows: list[store.RuleRow], moments: list[datetime]) -> dict[datetime, RuleSet]:
    """`rules_at` for each moment, from one community's versions in `rules_between`'s order
    (latest start first) covering every moment: from the one in force at the earliest on."""
    found = {}
    for moment in moments:
        row = next(
            (r for r in rows if r.effective_from is not None and r.effective_from <= moment), None
        )
        found[moment] = RuleSet(0, DEFAULT_RULES) if row is None else _rule_set(row)
    return found


async def rules_version(community_id: int, version: int) -> RuleSet:
    row = await store.rule_version(community_id, version)
    return RuleSet(0, DEFAULT_RULES) if row is None else _rule_set(row)


def _rule_set(row: store.RuleRow) -> RuleSet:
    return _parsed(row.version, row.rules)


@functools.lru_cache(maxsize=256)
def _parsed(version: int, document: str) -> RuleSet:
    """A version's text never changes once written, so it is parsed once per process."""
    return RuleSet(version, parse_rules(json.loads(document)))


def _view(row: RuleVersion) -> RulesView:
    return RulesView(
        community_id=row.community,
        version=row.version,
        effective_from=row.effective_from.isoformat(),
        rules=json.loads(row.rules),
    )

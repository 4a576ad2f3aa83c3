"""Earning rules' versions as the rules service writes and shows them (the reads on the grading
path, `rule_at` and its kin, are in store/earning.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.store import earning, registry
from ledger.store.tables import EarningRule


@dataclass(frozen=True, slots=True)
class RuleVersion:
    community: int
    version: int
    effective_from: datetime
    rules: str  # the document as JSON text


async def latest(community_id: int) -> RuleVersion | None:
    row = await earning.latest_rule(community_id)
    if row is None:
        return None
    return RuleVersion(row["community"], int(row["version"]), row["effective_from"], row["rules"])


async def add(new: RuleVersion, actor: str, now: datetime) -> None:
    await registry.insert(
        EarningRule,
        community=new.community,
        version=new.version,
        effective_from=new.effective_from,
        rules=new.rules,
        actor=actor,
        created_at=now,
    )

"""Notices: their facts (written with the event), the inbox projected from them, read marks,
and the webhook's delivery state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger.domain.notices import Draft
from ledger.store import registry, sql
from ledger.store.tables import Appeal, Inspection, Notice, NoticeDelivery, NoticeFact, Shift

FACTS_HEAD = "SELECT COALESCE(MAX(seq), 0) AS head FROM notice_fact"
# Number the next `$2` unnumbered facts after the head `$1`, in id order.
NUMBER_FACTS = (
    "UPDATE notice_fact SET seq = numbered.seq FROM ("
    "  SELECT id, $1 + ROW_NUMBER() OVER (ORDER BY id) AS seq FROM notice_fact"
    "  WHERE seq IS NULL ORDER BY id LIMIT $2"
    ") AS numbered WHERE notice_fact.id = numbered.id RETURNING notice_fact.seq"
)
LAST_WARNED = (
    "SELECT created_at FROM notice_fact WHERE household_id = $1 AND kind = $2 "
    "ORDER BY created_at DESC LIMIT 1"
)
NOTICES_HEAD = "SELECT COALESCE(MAX(id), 0) AS head FROM notice"


@dataclass(frozen=True, slots=True)
class NoticeFactRow:
    """A numbered notice fact, as the projection applies it."""

    seq: int
    source: str
    kind: str
    household_id: int | None
    volunteer_id: int | None
    subject_user_id: int | None
    payload: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NoticeRow:
    """A projected notice; `read_at` is the reader's mark (None unread, or not asked)."""

    id: int
    kind: str
    household_id: int | None
    volunteer_id: int | None
    subject_user_id: int | None
    payload: str
    created_at: datetime | str
    read_at: datetime | str | None = None


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A notice whose webhook delivery is due, with the attempts made so far."""

    notice: NoticeRow
    attempts: int


def _notice_row(row: Any, notice_id: int, read_at: Any = None) -> NoticeRow:
    return NoticeRow(
        id=notice_id,
        kind=row["kind"],
        household_id=row["household_id"],
        volunteer_id=row["volunteer_id"],
        subject_user_id=row["subject_user_id"],
        payload=row["payload"],
        created_at=row["created_at"],
        read_at=read_at,
    )


# --- what a notice says of its event's records ------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppealFacts:
    id: int
    household: int
    inspection_id: int
    stream: str
    local_day: date | str


@dataclass(frozen=True, slots=True)
class ShiftFacts:
    id: int
    volunteer: int
    minutes: int
    local_day: date | str


async def appeal_facts(appeal_id: int) -> AppealFacts | None:
    """An appeal with its inspection's stream and day (two reads, as the appeal names it)."""
    appeal = await registry.get(Appeal, appeal_id)
    if appeal is None:
        return None
    inspection = await registry.get(Inspection, appeal["inspection"])
    assert inspection is not None, "foreign key"
    return AppealFacts(
        appeal["id"],
        appeal["household"],
        inspection["id"],
        inspection["stream"],
        inspection["local_day"],
    )


async def shift_facts(shift_id: int) -> ShiftFacts | None:
    row = await registry.get(Shift, shift_id)
    if row is None:
        return None
    return ShiftFacts(row["id"], row["volunteer"], row["minutes"], row["local_day"])


# --- facts: appended in the event's transaction, numbered by the sealer ---------------------------


async def record(drafts: list[Draft], now: datetime) -> None:
    """In the caller's transaction, so a notice fact exists exactly when its event committed.
    A source already recorded (a second expiry run the same day) is dropped, not an error."""
    for draft in drafts:
        await sql.later(
            "INSERT INTO notice_fact (source, kind, household_id, volunteer_id, "
            "subject_user_id, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT (source) DO NOTHING",
            draft.source,
            draft.kind.value,
            draft.household_id,
            draft.volunteer_id,
            draft.subject_user_id,
            json.dumps(draft.fields, ensure_ascii=False, sort_keys=True),
            now,
        )


async def sequence_pending(limit: int) -> int:
    """Number committed, unnumbered facts after the last number, in id order; gap-free.
    Called by the sealer under its lock (as `facts.sequence_pending` for board facts)."""
    head_row = await sql.fetch_one(FACTS_HEAD)
    assert head_row is not None, "an aggregate has a row"
    rows = await sql.fetch(NUMBER_FACTS, int(head_row["head"]), limit)
    return len(rows)


async def facts_after(seq: int, limit: int) -> list[NoticeFactRow]:
    rows: list[dict[str, Any]] = await (
        NoticeFact.select(
            NoticeFact.seq,
            NoticeFact.source,
            NoticeFact.kind,
            NoticeFact.household_id,
            NoticeFact.volunteer_id,
            NoticeFact.subject_user_id,
            NoticeFact.payload,
            NoticeFact.created_at,
        )
        .where(NoticeFact.seq > seq)
        .order_by(NoticeFact.seq)
        .limit(limit)
    )
    return [NoticeFactRow(**row) for row in rows]


async def last_warned(household_id: int, kind: str) -> datetime | None:
    """When this household's newest fact of this kind was written (the weekly rule)."""
    row = await sql.fetch_one(LAST_WARNED, household_id, kind)
    return None if row is None else row["created_at"]


# --- the projection -------------------------------------------------------------------------------


async def applied_through() -> int:
    """The projection's cursor: every fact makes exactly one notice, numbered like it, and the
    facts are applied in order, so the highest notice id is the last fact applied."""
    row = await sql.fetch_one(NOTICES_HEAD)
    assert row is not None, "an aggregate has a row"
    return int(row["head"])


async def apply(facts: list[NoticeFactRow], now: datetime) -> None:
    """The notices of these facts and their pending deliveries; a notice or a delivery that
    exists already is left as it is (re-applying, or a rebuild, changes nothing)."""
    for fact in facts:
        await sql.fetch(
            "INSERT INTO notice (id, kind, household_id, volunteer_id, subject_user_id, source, "
            "payload, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
            "ON CONFLICT (id) DO NOTHING",
            fact.seq,
            fact.kind,
            fact.household_id,
            fact.volunteer_id,
            fact.subject_user_id,
            fact.source,
            fact.payload,
            fact.created_at,
        )
        await sql.fetch(
            "INSERT INTO notice_delivery (notice_id, attempts, next_attempt_at, last_error) "
            "VALUES ($1, 0, $2, '') ON CONFLICT (notice_id) DO NOTHING",
            fact.seq,
            now,
        )


async def clear() -> None:
    """Forget the projected notices (read marks and deliveries stay: ids never change)."""
    await Notice.delete(force=True)


# --- the reader's inbox ---------------------------------------------------------------------------

# The notices a person gets: those of every household they belong to (but not the news of their
# own joining), and their own as a volunteer. $1 the user id, $2 their volunteer id (or 0).
_VISIBLE = (
    "FROM notice n WHERE (n.household_id IN "
    '(SELECT m.household FROM household_member m WHERE m."user" = $1) '
    "AND (n.subject_user_id IS NULL OR n.subject_user_id <> $1)) "
    "OR (n.volunteer_id IS NOT NULL AND n.volunteer_id = $2)"
)


async def inbox(
    user_id: int, volunteer_id: int | None, before_id: int | None, limit: int
) -> list[NoticeRow]:
    """Newest first, with whether this reader has read each."""
    rows = await sql.fetch(
        "SELECT v.id, v.kind, v.household_id, v.volunteer_id, v.subject_user_id, v.payload, "  # noqa: S608 (constant text)
        "v.created_at, r.read_at FROM (SELECT n.* "
        + _VISIBLE
        + ") v LEFT JOIN notice_read r ON r.notice_id = v.id AND r.user_id = $1 "
        "WHERE v.id < $3 ORDER BY v.id DESC LIMIT $4",
        user_id,
        volunteer_id or 0,
        before_id if before_id is not None else 2**62,
        limit,
    )
    return [_notice_row(row, int(row["id"]), row["read_at"]) for row in rows]


async def unread_count(user_id: int, volunteer_id: int | None) -> int:
    rows = await sql.fetch(
        "SELECT COUNT(*) AS unread FROM (SELECT n.id "  # noqa: S608 (constant text)
        + _VISIBLE
        + ") v WHERE NOT EXISTS (SELECT 1 FROM notice_read r "
        "WHERE r.notice_id = v.id AND r.user_id = $1)",
        user_id,
        volunteer_id or 0,
    )
    return int(rows[0]["unread"])


async def mark_read(
    user_id: int,
    volunteer_id: int | None,
    ids: list[int] | None,
    up_to_id: int | None,
    now: datetime,
) -> int:
    """Mark these of the reader's notices (or all up to an id) read; returns how many were
    unread. Marks of notices the reader does not get are never made."""
    candidates = await sql.fetch(
        "SELECT v.id FROM (SELECT n.id " + _VISIBLE + ") v WHERE v.id <= $3 "  # noqa: S608
        "AND NOT EXISTS (SELECT 1 FROM notice_read r WHERE r.notice_id = v.id "
        "AND r.user_id = $1) ORDER BY v.id",
        user_id,
        volunteer_id or 0,
        up_to_id if up_to_id is not None else 2**62,
    )
    wanted = set(ids) if ids is not None else None
    marked = 0
    for row in candidates:
        notice_id = int(row["id"])
        if wanted is not None and notice_id not in wanted:
            continue
        stored = await sql.fetch(
            "INSERT INTO notice_read (notice_id, user_id, read_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (notice_id, user_id) DO NOTHING RETURNING notice_id",
            notice_id,
            user_id,
            now,
        )
        marked += len(stored)
    return marked


# --- the webhook's deliveries ---------------------------------------------------------------------


async def due_deliveries(now: datetime, limit: int) -> list[DueDelivery]:
    """Undelivered notices whose next attempt is due, oldest first, with their notice."""
    rows = await sql.fetch(
        "SELECT d.notice_id, d.attempts, d.next_attempt_at, n.kind, n.household_id, "
        "n.volunteer_id, n.subject_user_id, n.payload, n.created_at FROM notice_delivery d "
        "JOIN notice n ON n.id = d.notice_id "
        "WHERE d.delivered_at IS NULL AND d.next_attempt_at <= $1 "
        "ORDER BY d.notice_id LIMIT $2",
        now,
        limit,
    )
    return [
        DueDelivery(_notice_row(row, int(row["notice_id"])), int(row["attempts"])) for row in rows
    ]


async def claim_delivery(notice_id: int, attempts: int, lease_until: datetime) -> bool:
    """Take one attempt at a delivery, unless another deliverer took it since it was read:
    the attempt is counted and the delivery hidden until `lease_until` (a deliverer that dies
    mid-attempt leaves it to be retried then)."""
    rows = await sql.fetch(
        "UPDATE notice_delivery SET attempts = $2, next_attempt_at = $3 "
        "WHERE notice_id = $1 AND attempts = $4 AND delivered_at IS NULL "
        "RETURNING notice_id",
        notice_id,
        attempts + 1,
        lease_until,
        attempts,
    )
    return bool(rows)


async def delivered(notice_id: int, at: datetime) -> None:
    await sql.fetch(
        "UPDATE notice_delivery SET delivered_at = $2, last_error = '' WHERE notice_id = $1",
        notice_id,
        at,
    )


async def failed(notice_id: int, retry_at: datetime, error: str) -> None:
    await sql.fetch(
        "UPDATE notice_delivery SET next_attempt_at = $2, last_error = $3 "
        "WHERE notice_id = $1 AND delivered_at IS NULL",
        notice_id,
        retry_at,
        error[:500],
    )


async def delivery_state(notice_id: int) -> dict[str, Any] | None:
    rows: list[dict[str, Any]] = await NoticeDelivery.select().where(
        NoticeDelivery.notice_id == notice_id
    )
    return rows[0] if rows else None

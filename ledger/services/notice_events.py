"""Notices of audited writes: the operations someone hears of, by their name in the audit log,
and the drafts each makes. `Runner.once` calls `record_event` in the write's own transaction,
so a notice fact exists exactly when its event committed (see ledger/services/notices.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from typing import Any

from ledger.domain.notices import MEMBER_JOINED_EVENT, Draft, NoticeKind, mask_phones
from ledger.store import notices as store
from ledger.store import spending as spending_store

log = logging.getLogger(__name__)

Result = dict[str, Any]


async def _appeal_decided(event_id: str, inputs: Mapping[str, Any], result: Result) -> list[Draft]:
    appeal = await store.appeal_facts(int(result["appeal_id"]))
    assert appeal is not None, "a decided appeal exists"
    fields = {
        "appeal_id": appeal.id,
        "inspection_id": appeal.inspection_id,
        "outcome": result["status"],
        "stream": appeal.stream,
        "graded_on": _day(appeal.local_day),
        "new_grade": result.get("new_grade"),
        "points_awarded": result.get("points_awarded"),
    }
    return _one(NoticeKind.APPEAL_DECIDED, event_id, fields, household_id=appeal.household)


async def _shifts_decided(event_id: str, inputs: Mapping[str, Any], result: Result) -> list[Draft]:
    drafts = []
    for decided in result["results"]:
        shift = await store.shift_facts(int(decided["shift_id"]))
        assert shift is not None, "a decided shift exists"
        fields = {
            "shift_id": shift.id,
            "outcome": decided["status"],
            "minutes": shift.minutes,
            "day": _day(shift.local_day),
            "points_awarded": decided.get("points_awarded", 0),
        }
        drafts.append(
            Draft(
                NoticeKind.SHIFT_DECIDED,
                f"shift_decided:{event_id}:{shift.id}",
                fields,
                volunteer_id=shift.volunteer,
            )
        )
    return drafts


async def _redeemed(event_id: str, inputs: Mapping[str, Any], result: Result) -> list[Draft]:
    redemption = await spending_store.redemption(int(result["redemption_id"]))
    assert redemption is not None, "a redemption just made exists"
    reward = await spending_store.reward(redemption.reward)
    assert reward is not None, "foreign key"
    fields = {
        "spent_on": "redemption",
        "redemption_id": redemption.id,
        "reward": mask_phones(reward.name),
        "quantity": redemption.quantity,
        "points": redemption.points,
    }
    return _spent(event_id, result, fields, redemption.household)


async def _paid(event_id: str, inputs: Mapping[str, Any], result: Result) -> list[Draft]:
    payment = await spending_store.payment(int(result["payment_id"]))
    assert payment is not None, "a payment just made exists"
    merchant = await spending_store.merchant(payment.merchant)
    assert merchant is not None, "foreign key"
    fields = {
        "spent_on": "payment",
        "payment_id": payment.id,
        "merchant": mask_phones(merchant.name),
        "points": payment.points,
    }
    return _spent(event_id, result, fields, payment.household)


def _spent(event_id: str, result: Result, fields: dict[str, Any], household_id: int) -> list[Draft]:
    """A redemption's or a payment's notice: what was spent on, and the balance after."""
    fields["balance_points"] = result.get("balance_points")
    return _one(NoticeKind.SPENT, event_id, fields, household_id=household_id)


async def _card_reissued(event_id: str, inputs: Mapping[str, Any], result: Result) -> list[Draft]:
    # Never the new card's token or typed code: a notice may be forwarded by SMS.
    household_id = int(inputs["household_id"])
    fields = {"household_id": household_id}
    return _one(NoticeKind.CARD_REISSUED, event_id, fields, household_id=household_id)


async def _member_joined(event_id: str, inputs: Mapping[str, Any], result: Result) -> list[Draft]:
    """The join service's audit event: household_id, user_id, display_name, helper (in its
    result, or its inputs)."""
    event = {**inputs, **result}
    if not isinstance(event.get("household_id"), int) or not isinstance(event.get("user_id"), int):
        # A join that names no household or member cannot be told to anyone; the join itself
        # must not fail for it.
        log.warning("%s %s names no household_id and user_id", MEMBER_JOINED_EVENT, event_id)
        return []
    household_id, user_id = int(event["household_id"]), int(event["user_id"])
    fields = {
        "user_id": user_id,
        "display_name": mask_phones(str(event.get("display_name") or "")),
        "helper": bool(event.get("helper", False)),
    }
    return _one(
        NoticeKind.MEMBER_JOINED,
        event_id,
        fields,
        household_id=household_id,
        subject_user_id=user_id,
    )


DraftMaker = Callable[[str, Mapping[str, Any], Result], Awaitable[list[Draft]]]

# The audited operations someone hears of, by their name in the audit log.
NOTIFYING: dict[str, DraftMaker] = {
    "appeal_decision": _appeal_decided,
    "shift_decision": _shifts_decided,
    "redemption": _redeemed,
    "payment": _paid,
    "card_reissue": _card_reissued,
    MEMBER_JOINED_EVENT: _member_joined,
}


async def record_event(
    operation: str, event_id: str, inputs: Mapping[str, Any], result: Result, now: datetime
) -> None:
    """In the event's transaction (Runner.once): the notices of an audited write that
    committed. Any other operation costs nothing."""
    maker = NOTIFYING.get(operation)
    if maker is None:
        return
    drafts = await maker(event_id, inputs, result)
    await store.record(drafts, now)


def _one(kind: NoticeKind, event_id: str, fields: dict[str, Any], **to: int) -> list[Draft]:
    """The one notice of an event, keyed `<kind>:<event id>` (a replay makes no second one),
    its absent fields left out."""
    return [Draft(kind, f"{kind.value}:{event_id}", _present(fields), **to)]


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def _day(value: date | str) -> str:
    return value if isinstance(value, str) else value.isoformat()

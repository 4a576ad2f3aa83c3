"""Run a write exactly once per event_id, with bounded retries of transient failures."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from ledger import metrics
from ledger.domain.access import Principal
from ledger.domain.errors import IdempotencyConflict, LedgerError, refusal_from_record
from ledger.domain.idempotency import check_event_id, fingerprint
from ledger.ports import Clock
from ledger.services import notice_events
from ledger.store import idempotency
from ledger.store.engine import TRANSIENT_RETRIES, Database, is_transient, is_unique_violation

log = logging.getLogger(__name__)

Result = dict[str, Any]
R = TypeVar("R")
DONE = idempotency.OUTCOME_OK  # the outcome of an event that was carried out


@dataclass(frozen=True, slots=True)
class _Fresh:
    """An outcome written by this call: the action's value and the JSON stored for it."""

    value: object
    stored: Result


class _StoredByAnother(Exception):
    """Another transaction committed this event_id first; replay its outcome."""


@dataclass(frozen=True)
class Runner:
    db: Database
    clock: Clock

    async def once(
        self,
        operation: str,
        event_id: str,
        actor: Principal,
        inputs: Mapping[str, object],
        action: Callable[[], Awaitable[R]],
        result_type: type[R],
    ) -> R:
        """The effect and the record of its outcome commit together, or neither does.

        The result is stored as JSON (`msgspec.to_builtins`) and a replay decodes it back into
        `result_type`, so a service returns the same typed value whether it wrote or replayed;
        a fresh write returns the action's own value when it already is a `result_type` (no
        decoding of what was just encoded: one conversion less per audited write).

        A refusal is recorded too (in its own transaction, after the rollback), so a retried
        refused request stays refused even if the state that refused it has changed since;
        except one the request's content alone decided (`LedgerError.stored`), which a retry
        meets again anyway.
        """
        try:
            outcome = await self._once(operation, event_id, actor, inputs, action)
        except LedgerError as refusal:
            metrics.write_answered(operation, refusal.code)
            raise
        metrics.write_answered(operation, "ok")
        if isinstance(outcome, _Fresh) and isinstance(outcome.value, result_type):
            # Written just now: the action's own value, not its stored JSON decoded again.
            return outcome.value
        stored = outcome.stored if isinstance(outcome, _Fresh) else outcome
        return msgspec.convert(stored, result_type)

    async def _once(
        self,
        operation: str,
        event_id: str,
        actor: Principal,
        inputs: Mapping[str, object],
        action: Callable[[], Awaitable[object]],
    ) -> Result | _Fresh:
        check_event_id(event_id)
        key = fingerprint(operation, actor.username, inputs)
        for attempt in range(1, TRANSIENT_RETRIES + 1):
            try:
                return await self._attempt(operation, event_id, key, action, actor, inputs)
            except _StoredByAnother:
                continue
            except IdempotencyConflict:
                raise
            except LedgerError as refusal:
                return await self._record_refusal(operation, event_id, key, refusal, actor, inputs)
            except Exception as error:
                # A unique index lost a race (two reversals of one entry, two users with one
                # name): the retry's own checks now see the winner and refuse cleanly.
                if attempt < TRANSIENT_RETRIES and (
                    is_transient(error) or is_unique_violation(error)
                ):
                    log.info("retrying %s %s after %r", operation, event_id, error)
                    continue
                raise
        return await self._replay_existing(event_id, key)

    async def outcome_of(self, event_id: str, actor: Principal) -> str | None:
        """What became of this actor's event id: "ok", a refusal's code, or None (not sent
        yet). A page says so before offering to send it again."""
        check_event_id(event_id)
        return await idempotency.outcome_of(event_id, actor.username)

    async def _attempt(
        self,
        operation: str,
        event_id: str,
        key: str,
        action: Callable[[], Awaitable[object]],
        actor: Principal,
        inputs: Mapping[str, object],
    ) -> Result | _Fresh:
        async with self.db.write():
            prior = await idempotency.find(event_id)
            if prior is not None:
                return replay(prior, key)
            value = await action()
            result: Result = msgspec.to_builtins(value)
            # Who hears of it (an appeal decided, points spent…): its notices, in this
            # transaction, from the audited event itself (services/notice_events.py).
            await notice_events.record_event(operation, event_id, inputs, result, self.clock.now())
            stored = await idempotency.claim(
                event_id,
                operation=operation,
                fingerprint=key,
                outcome=idempotency.OUTCOME_OK,
                result=result,
                now=self.clock.now(),
                actor=actor.username,
                role=actor.role.value,
                inputs=inputs,
            )
            if not stored:
                raise _StoredByAnother
        return _Fresh(value, result)

    async def _record_refusal(
        self,
        operation: str,
        event_id: str,
        key: str,
        refusal: LedgerError,
        actor: Principal,
        inputs: Mapping[str, object],
    ) -> Result:
        if not refusal.stored:
            raise refusal
        async with self.db.write():
            stored = await idempotency.claim(
                event_id,
                operation=operation,
                fingerprint=key,
                outcome=refusal.code,
                result=refusal.to_record(),
                now=self.clock.now(),
                actor=actor.username,
                role=actor.role.value,
                inputs=inputs,
            )
        if not stored:
            return await self._replay_existing(event_id, key)
        raise refusal

    async def _replay_existing(self, event_id: str, key: str) -> Result:
        prior = await idempotency.find(event_id)
        assert prior is not None, "an event reported as stored by another must be found"
        return replay(prior, key)


def replay(prior: idempotency.StoredOutcome, key: str) -> Result:
    if prior.fingerprint != key:
        raise IdempotencyConflict(
            "this event_id was already used for a different request",
            operation=prior.operation,
        )
    if prior.outcome != idempotency.OUTCOME_OK:
        raise refusal_from_record(prior.result)
    return prior.result

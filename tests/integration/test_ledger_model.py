"""The real service layer against a plain dict model, driven by a Hypothesis state machine.

Both engines. Hypothesis' stateful rules are synchronous, while pytest-asyncio keeps one loop
for the session. So each Hypothesis example owns a new event loop, a fresh database (a copy of
the migrated SQLite template, or TRUNCATE on PostgreSQL, as `fresh_db` does) and its own
`Services`; the rules run their coroutines to completion on that loop.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import uuid
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from piccolo.engine.sqlite import SQLiteEngine

from api.settings import Settings
from ledger.domain.access import SYSTEM
from ledger.domain.errors import (
    AlreadyReversed,
    IdempotencyConflict,
    InsufficientPoints,
    LedgerError,
    NotFound,
    NotReversible,
)
from ledger.services.container import Services
from ledger.services.verify import VerifyReport
from ledger.store.engine import current_engine
from ledger.store.tables import Account
from tests.conftest import _WORK, DATABASE_URL, EMPTY_TABLES
from tests.factories import TEST_SECRET_KEY, FrozenClock, make_household, make_world

T = TypeVar("T")
HOUSEHOLDS = 3
ISSUANCE = -1  # the model does not track issuance stripes, only that they may go below zero
_events = itertools.count(1)


@dataclass(frozen=True)
class Request:
    """One request as sent, and the refusal the model expects (None: it must succeed)."""

    operation: str  # "adjust" or "reverse"
    target: int  # account id for an adjustment, entry id for a reversal
    amount_points: int  # 0 for a reversal
    reason: str
    refusal: type[LedgerError] | None = None
    # The first answer, which every replay of the same event_id must repeat.
    result: dict[str, Any] | None = None


@dataclass
class ModelEntry:
    debit_account_id: int
    credit_account_id: int
    amount_points: int
    is_reversal: bool
    reversed_by: int | None = None


class LedgerMachine(RuleBasedStateMachine):
    """Three households of one community; the model is a dict of balances and of entries."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.sqlite_path: Path | None = None
        self.services = self._run(self._open())
        self.households = self._run(self._households())
        self.balances = dict.fromkeys(self.households, 0)
        self.entries: dict[int, ModelEntry] = {}
        self.sent: dict[str, Request] = {}
        self.last_entry_id = 0

    # Plumbing: a fresh database and Services per example, on this example's own loop.

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    async def _open(self) -> Services:
        engine = current_engine()
        if isinstance(engine, SQLiteEngine):
            self.sqlite_path = _WORK / f"model-{uuid.uuid4().hex[:10]}.sqlite"
            shutil.copyfile(DATABASE_URL, self.sqlite_path)
            engine.path = str(self.sqlite_path)
        else:
            await engine.run_ddl(EMPTY_TABLES)
        settings = Settings(
            database_url=DATABASE_URL,
            secret_key=TEST_SECRET_KEY,
            base_url="http://testserver",
            run_sealer=False,
        )
        services = Services.build(settings.keyring(), settings.base_url, clock=FrozenClock())
        await services.db.start()
        return services

    async def _households(self) -> list[int]:
        world = await make_world(self.services)
        others = [
            (await make_household(self.services, world.compound_id)).account_id
            for _ in range(HOUSEHOLDS - 1)
        ]
        return [world.account_id, *others]

    def teardown(self) -> None:
        try:
            report = self._run(self._seal_and_verify())
            assert report.ok, report
        finally:
            self._run(self.services.db.close())
            self.loop.close()
            engine = current_engine()
            if self.sqlite_path is not None and isinstance(engine, SQLiteEngine):
                engine.path = DATABASE_URL
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)

    async def _seal_and_verify(self) -> VerifyReport:
        await self.services.sealer.seal_all()
        return await self.services.verifier.verify()

    # Sending a request and comparing the answer with the model's.

    def _send(self, event_id: str, request: Request) -> dict[str, Any] | LedgerError:
        accounts = self.services.accounts
        if request.operation == "adjust":
            call = accounts.adjust(
                SYSTEM, event_id, request.target, request.amount_points, request.reason
            )
        else:
            call = accounts.reverse(SYSTEM, event_id, request.target, request.reason)
        try:
            return asdict(self._run(call))  # the model compares plain dicts
        except LedgerError as refusal:
            return refusal

    def _first_send(self, request: Request) -> dict[str, Any] | LedgerError:
        event_id = f"model-{next(_events)}"
        answer = self._send(event_id, request)
        if request.refusal is not None:
            assert type(answer) is request.refusal, (request, answer)
        else:
            assert isinstance(answer, dict), (request, answer)
            assert answer["entry_id"] > self.last_entry_id, "entry ids grow"
            self.last_entry_id = answer["entry_id"]
            request = replace(request, result=answer)
        self.sent[event_id] = request
        return answer

    # Rules.

    @initialize(amounts=st.lists(st.integers(0, 100), min_size=HOUSEHOLDS, max_size=HOUSEHOLDS))
    def opening_credits(self, amounts: list[int]) -> None:
        """Start most runs with points to spend, so debits and reversals succeed as well."""
        for household, amount in enumerate(amounts):
            if amount:
                self.credit(household, amount)

    @rule(household=st.integers(0, HOUSEHOLDS - 1), amount=st.integers(1, 60))
    def credit(self, household: int, amount: int) -> None:
        account = self.households[household]
        answer = self._first_send(Request("adjust", account, amount, "credit"))
        assert isinstance(answer, dict)
        self.balances[account] += amount
        assert answer["balance_points"] == self.balances[account]
        self.entries[answer["entry_id"]] = ModelEntry(ISSUANCE, account, amount, False)

    @rule(household=st.integers(0, HOUSEHOLDS - 1), amount=st.integers(1, 80))
    def debit(self, household: int, amount: int) -> None:
        account = self.households[household]
        refusal = None if self.balances[account] >= amount else InsufficientPoints
        answer = self._first_send(Request("adjust", account, -amount, "spend", refusal))
        if isinstance(answer, dict):
            self.balances[account] -= amount
            assert answer["balance_points"] == self.balances[account]
            self.entries[answer["entry_id"]] = ModelEntry(account, ISSUANCE, amount, False)

    @precondition(lambda self: self.entries)
    @rule(data=st.data(), made_up=st.integers(0, 9))
    def reverse(self, data: st.DataObject, made_up: int) -> None:
        if made_up == 0:
            missing = self.last_entry_id + 1_000
            self._first_send(Request("reverse", missing, 0, "undo", NotFound))
            return
        entry_id = data.draw(st.sampled_from(sorted(self.entries)), label="entry_id")
        entry = self.entries[entry_id]
        # The reversal takes back from the account the original credited.
        refusal: type[LedgerError] | None = None
        if entry.is_reversal:
            refusal = NotReversible
        elif entry.reversed_by is not None:
            refusal = AlreadyReversed
        elif (
            entry.credit_account_id != ISSUANCE
            and self.balances[entry.credit_account_id] < entry.amount_points
        ):
            refusal = InsufficientPoints
        answer = self._first_send(Request("reverse", entry_id, 0, "undo", refusal))
        if not isinstance(answer, dict):
            return
        assert answer["reverses_entry_id"] == entry_id
        entry.reversed_by = answer["entry_id"]
        if entry.credit_account_id != ISSUANCE:
            self.balances[entry.credit_account_id] -= entry.amount_points
        if entry.debit_account_id != ISSUANCE:
            self.balances[entry.debit_account_id] += entry.amount_points
        self.entries[answer["entry_id"]] = ModelEntry(
            entry.credit_account_id, entry.debit_account_id, entry.amount_points, True
        )

    @precondition(lambda self: self.sent)
    @rule(data=st.data(), change=st.sampled_from(["nothing", "amount", "reason", "target"]))
    def replay(self, data: st.DataObject, change: str) -> None:
        """An event_id sent again with the same content answers as the first time, whatever
        changed since; with other content it is refused, and either way nothing moves."""
        event_id = data.draw(st.sampled_from(sorted(self.sent)), label="event_id")
        request = self.sent[event_id]
        if change == "nothing":
            answer = self._send(event_id, request)
            if request.refusal is not None:
                assert type(answer) is request.refusal, (request, answer)
            else:
                assert answer == request.result, (request, answer)
            return
        if change == "amount" and request.operation == "adjust":
            altered = replace(request, amount_points=request.amount_points * 2)
        elif change == "target":
            altered = replace(request, target=request.target + 1)
        else:
            altered = replace(request, reason=request.reason + " again")
        answer = self._send(event_id, altered)
        assert isinstance(answer, IdempotencyConflict), (request, altered, answer)

    # Invariants, after every step.

    @invariant()
    def balances_match_the_model(self) -> None:
        query = Account.select(Account.id, Account.kind, Account.balance_points)
        rows = self._run(query.run())
        stored = {row["id"]: row["balance_points"] for row in rows}
        assert {account: stored[account] for account in self.households} == self.balances
        assert sum(stored.values()) == 0, stored
        negative = [row for row in rows if row["kind"] != "issuance" and row["balance_points"] < 0]
        assert not negative, negative


def test_service_layer_matches_the_model(migrated: None) -> None:
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(max_examples=25, stateful_step_count=20, deadline=None),
    )

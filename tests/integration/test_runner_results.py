"""Runner.once hands back the action's own typed value when it writes, and an equal typed value
decoded from the stored JSON when it replays: a service answers the same either way, and the
write path converts nothing back (no msgspec.convert of what it has just encoded)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.domain.access import SYSTEM
from ledger.services.container import Services
from tests.factories import event_id


@dataclass(frozen=True, slots=True)
class Done:
    amount: int
    at: datetime
    tags: tuple[str, ...]
    note: str | None


async def test_a_write_returns_its_own_value_and_a_replay_an_equal_one(
    services: Services,
) -> None:
    key = event_id("runner")
    made = Done(7, services.clock.now(), ("a", "b"), None)
    calls: list[Done] = []

    async def action() -> Done:
        calls.append(made)
        return made

    inputs = {"amount": 7}
    fresh = await services.runner.once("adjustment", key, SYSTEM, inputs, action, Done)
    replayed = await services.runner.once("adjustment", key, SYSTEM, inputs, action, Done)

    assert fresh is made  # not decoded again from the stored JSON
    assert len(calls) == 1  # the replay ran nothing
    assert isinstance(replayed, Done)
    assert replayed is not made
    assert replayed == made
    assert isinstance(replayed.at, datetime)
    assert isinstance(replayed.tags, tuple)


async def test_a_value_of_another_type_is_still_decoded_into_the_result_type(
    services: Services,
) -> None:
    async def action() -> dict[str, object]:
        return {"amount": 3, "at": "2026-11-25T08:00:00+00:00", "tags": ["x"], "note": "n"}

    done = await services.runner.once("adjustment", event_id(), SYSTEM, {"n": 1}, action, Done)
    assert done == Done(3, datetime.fromisoformat("2026-11-25T08:00:00+00:00"), ("x",), "n")

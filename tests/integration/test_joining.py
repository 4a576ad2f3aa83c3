"""Joining by card and PIN accounts (issue 15): the per-card ceiling on wrong join codes, the
PIN lock (10 wrong a day, held until staff unlock it or a fresh join resets it), on the
embedded limiter and on Redis (the one several workers share)."""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from redis.asyncio import Redis

from api.settings import Settings
from ledger.domain.access import SYSTEM
from ledger.domain.errors import InvalidCredentials, JoinRefused, PhoneTaken
from ledger.services import limits, users
from ledger.services.bulk_load import load_csv
from ledger.services.container import Services
from ledger.services.demo import seed_demo
from ledger.services.limits import RateLimited, SignInLocked
from ledger.store.tables import Household
from tests.conftest import REDIS_UP, REDIS_URL, REQUIRE_SERVICES
from tests.factories import FrozenClock, make_world

PHONE = "13812345678"
PIN = "284913"
NEW_PIN = "907346"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        users, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture(params=["memory", "redis"])
async def guarded(
    request: pytest.FixtureRequest, fresh_db: None, settings: Settings, clock: FrozenClock
) -> AsyncIterator[Services]:
    redis = None
    if request.param == "redis":
        if not REDIS_UP:
            if REQUIRE_SERVICES:
                pytest.fail("Redis is required (GREENLEDGER_REQUIRE_SERVICES=1) but is down")
            pytest.skip("no Redis on 127.0.0.1:6379")
        redis = Redis.from_url(REDIS_URL)
    prefix = f"gljoin{random.randrange(10**9)}"
    services = Services.build(
        settings.keyring(), settings.base_url, clock=clock, redis=redis, redis_prefix=prefix
    )
    await services.db.start()
    try:
        yield services
    finally:
        await services.db.close()
        if redis is not None:
            async for key in redis.scan_iter(match=f"{prefix}:*"):
                await redis.delete(key)
            await redis.aclose()


async def card_and_code(services: Services) -> tuple[int, str, str]:
    world = await make_world(services)
    reply = await services.members.reset_join_code(SYSTEM, "reset-1", world.household_id)
    return world.household_id, world.card_token, reply.join_code


async def sign_in(services: Services, pin: str, address: str = "203.0.113.5") -> str:
    try:
        await services.users.sign_in(PHONE, pin, address)
    except InvalidCredentials:
        return "wrong"
    except SignInLocked:
        return "locked"
    return "signed in"


async def test_ten_wrong_codes_a_day_lock_the_card_from_every_address(
    guarded: Services, clock: FrozenClock
) -> None:
    _, card, code = await card_and_code(guarded)
    wrong = "000000" if code != "000000" else "000001"
    for n in range(limits.JOIN_CODE_POLICY.ceiling_per_hour):
        with pytest.raises(JoinRefused):
            await guarded.members.join(card, wrong, PHONE, PIN, None, False, f"192.0.2.{n}")
    with pytest.raises(RateLimited):
        await guarded.members.join(card, code, PHONE, PIN, None, False, "198.51.100.1")
    clock.advance(days=1)
    joined = await guarded.members.join(card, code, PHONE, PIN, None, False, "198.51.100.1")
    assert joined.user_id > 0


async def test_a_right_code_gives_its_guess_back(guarded: Services) -> None:
    """A family of six joining one by one never locks its own card."""
    _, card, code = await card_and_code(guarded)
    wrong = "000000" if code != "000000" else "000001"
    for n in range(6):
        address = f"192.0.2.{n}"
        with pytest.raises(JoinRefused):
            await guarded.members.join(card, wrong, PHONE, PIN, None, False, address)
        await guarded.members.join(card, code, f"1391234560{n}", PIN, None, False, address)
    for n in range(3):
        with pytest.raises(JoinRefused):
            await guarded.members.join(card, wrong, PHONE, PIN, None, False, f"192.0.2.{n}")


async def test_ten_wrong_pins_lock_the_account_until_staff_unlock_it(
    guarded: Services, clock: FrozenClock
) -> None:
    _, card, code = await card_and_code(guarded)
    joined = await guarded.members.join(card, code, PHONE, PIN, "王", False, "192.0.2.1")
    outcomes = [await sign_in(guarded, NEW_PIN, f"198.51.100.{n}") for n in range(10)]
    assert outcomes == ["wrong"] * 10
    assert await sign_in(guarded, PIN, "203.0.113.9") == "locked"
    clock.advance(days=3)  # held: the day's end does not lift it
    assert await sign_in(guarded, PIN, "203.0.113.9") == "locked"
    await guarded.users.unlock(joined.user_id)
    assert await sign_in(guarded, PIN, "203.0.113.9") == "signed in"


async def test_a_fresh_join_with_the_card_resets_the_pin_and_lifts_the_lock(
    guarded: Services,
) -> None:
    _, card, code = await card_and_code(guarded)
    first = await guarded.members.join(card, code, PHONE, PIN, None, False, "192.0.2.1")
    for n in range(10):
        await sign_in(guarded, "135790", f"198.51.100.{n}")
    assert await sign_in(guarded, PIN) == "locked"
    again = await guarded.members.join(card, code, PHONE, NEW_PIN, None, False, "192.0.2.1")
    assert again.user_id == first.user_id
    assert await sign_in(guarded, PIN) == "wrong"
    assert await sign_in(guarded, NEW_PIN) == "signed in"
    [member] = (await guarded.members.members(SYSTEM, again.household_id)).items
    assert member.pin_reset_at is not None


async def test_a_pin_account_is_exempt_from_the_password_length_but_not_from_trivial_pins(
    guarded: Services,
) -> None:
    _, card, code = await card_and_code(guarded)
    for trivial in ("000000", "123456", "654321", "121212"):
        with pytest.raises(Exception, match="pin: "):
            await guarded.members.join(card, code, PHONE, trivial, None, False, "192.0.2.1")
    await guarded.members.join(card, code, PHONE, PIN, None, False, "192.0.2.1")
    assert await sign_in(guarded, PIN) == "signed in"


def test_the_pin_policy_is_ten_a_day_and_held() -> None:
    policy = limits.SIGN_IN_POLICIES["pin"]
    assert (policy.ceiling_per_hour, policy.ceiling_window_seconds, policy.ceiling_holds) == (
        10,
        24 * 3600,
        True,
    )


async def test_bulk_loads_and_the_demo_give_every_household_a_join_code(
    services: Services, tmp_path: Path
) -> None:
    world = await make_world(services)
    path = tmp_path / "load.csv"
    rows = ["compound_id,building,unit,room"] + [f"{world.compound_id},5,1,{r}" for r in range(9)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert await load_csv(services, "households", path) == 9
    codes = [row["join_code"] for row in await Household.select(Household.join_code)]
    assert len(codes) == 10
    assert all(len(code) == 6 and code.isdigit() for code in codes)


async def test_the_demo_prints_a_household_to_join_and_it_can_be_joined(
    fresh_db: None, settings: Settings, clock: FrozenClock
) -> None:
    services = Services.build(settings.keyring(), settings.base_url, clock=clock)
    await services.db.start()
    try:
        summary = await seed_demo(services, households=60, password="demo-password-2026")
        found = re.search(r"open \S+/q/(\S+)\n.*join code (\d{6})", summary)
        assert found is not None, summary
        joined = await services.members.join(
            found[1], found[2], PHONE, PIN, "试用", False, "192.0.2.1"
        )
        assert await sign_in(services, PIN) == "signed in"
        assert joined.signed_in.principal.household_id == joined.household_id
    finally:
        await services.db.close()


async def test_a_locked_number_cannot_join_another_household_until_unlocked(
    guarded: Services,
) -> None:
    _, card, code = await card_and_code(guarded)
    first = await guarded.members.join(card, code, PHONE, PIN, None, False, "192.0.2.1")
    world = await make_world(guarded, community="珠儿潭社区", compound="珠儿潭")
    other = await guarded.members.reset_join_code(SYSTEM, "reset-2", world.household_id)
    for n in range(10):
        await sign_in(guarded, NEW_PIN, f"198.51.100.{n}")
    with pytest.raises(SignInLocked):
        await guarded.members.join(
            world.card_token, other.join_code, PHONE, PIN, None, True, "192.0.2.9"
        )
    await guarded.users.unlock(first.user_id)
    with pytest.raises(PhoneTaken):
        await guarded.members.join(
            world.card_token, other.join_code, PHONE, NEW_PIN, None, True, "192.0.2.9"
        )
    helping = await guarded.members.join(
        world.card_token, other.join_code, PHONE, PIN, None, True, "192.0.2.9"
    )
    assert helping.user_id == first.user_id
    assert helping.signed_in.principal.helping == {world.household_id}

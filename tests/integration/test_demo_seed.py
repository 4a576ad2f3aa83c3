"""The demo subdistrict: seeded once, complete, provable, and every demo login works."""

from __future__ import annotations

import pytest

from ledger.domain.access import SYSTEM, Role
from ledger.services.container import Services
from ledger.services.demo import (
    COMPOUNDS_BY_COMMUNITY,
    OPENING_POINTS_MAX,
    OPENING_POINTS_MIN,
    OPENING_REASON,
    UNIT_COMPOUNDS,
    seed_demo,
)
from ledger.store.tables import (
    Account,
    AppUser,
    CollectionPoint,
    Community,
    Compound,
    DutyPost,
    Entry,
    Household,
    Merchant,
    Reward,
    Volunteer,
)

PASSWORD = "demo-pass-for-tests"
HOUSEHOLDS = 300
# The shop street's shops and the office building's offices, besides the households.
UNITS = sum(len(names) for *_, names in UNIT_COMPOUNDS)


async def counts() -> dict[str, int]:
    tables = (
        Community,
        Compound,
        Household,
        CollectionPoint,
        DutyPost,
        Volunteer,
        Merchant,
        Reward,
        AppUser,
        Entry,
    )
    return {table._meta.tablename: int(await table.count()) for table in tables}


@pytest.fixture
async def seeded(services: Services) -> str:
    return await seed_demo(services, households=HOUSEHOLDS, password=PASSWORD)


async def test_the_seed_builds_a_whole_subdistrict(services: Services, seeded: str) -> None:
    found = await counts()
    entries = found.pop("entry")
    assert found == {
        "community": 3,
        "compound": 25 + len(UNIT_COMPOUNDS),
        "household": HOUSEHOLDS + UNITS,
        "collection_point": 96 + len(UNIT_COMPOUNDS),
        "duty_post": 40 + len(UNIT_COMPOUNDS),
        "volunteer": 800,
        "merchant": 30,
        "reward": 3 * 12,
        "app_user": 6,
    }
    names = [row["name"] for row in await Community.select(Community.name).order_by(Community.id)]
    assert names == ["卖鱼桥社区", "珠儿潭社区", "仓基新村社区"]
    compounds = await Compound.select(Compound.name).order_by(Compound.id)
    residential = [name for names in COMPOUNDS_BY_COMMUNITY.values() for name in names]
    assert sorted(row["name"] for row in compounds) == sorted(
        residential + [name for name, *_ in UNIT_COMPOUNDS]
    )
    # Roughly one household in five carried a paper balance over; never an empty demo.
    assert HOUSEHOLDS * 10 // 100 <= entries <= (HOUSEHOLDS + UNITS) * 30 // 100
    assert "Seeded" in seeded


async def test_every_household_has_its_own_empty_or_carried_over_account(
    services: Services, seeded: str
) -> None:
    households = await Household.select(Household.account)
    accounts = await Account.select().where(
        Account.id.is_in([row["account"] for row in households])
    )
    assert len(accounts) == HOUSEHOLDS + UNITS
    assert {account["kind"] for account in accounts} == {"household"}
    balances = [account["balance_points"] for account in accounts if account["balance_points"]]
    assert all(OPENING_POINTS_MIN <= balance <= OPENING_POINTS_MAX for balance in balances)
    entries = await Entry.select(Entry.kind, Entry.memo, Entry.actor)
    assert {(e["kind"], e["memo"], e["actor"]) for e in entries} == {
        ("adjustment", OPENING_REASON, "system")
    }


async def test_each_demo_login_authenticates_with_its_role_and_links(
    services: Services, seeded: str
) -> None:
    first_community = await Compound.select(Compound.id).where(Compound.community == 1)
    first_community_ids = {row["id"] for row in first_community}
    for role in Role:
        principal = await services.users.authenticate(role.value, PASSWORD)
        assert principal.role is role
        assert role.value in seeded
        if role in (Role.COORDINATOR, Role.INSPECTOR, Role.CLERK):
            assert len(principal.compound_ids) == 2 + len(UNIT_COMPOUNDS)
            assert principal.compound_ids <= first_community_ids
    resident = await services.users.authenticate("resident", PASSWORD)
    assert resident.household_id is not None
    account = await services.accounts.account(resident, next(iter(resident.account_ids)))
    assert account.balance_points > 0, "the demo resident has points to spend"
    volunteer = await services.users.authenticate("volunteer", PASSWORD)
    assert volunteer.volunteer_id is not None
    assert len(volunteer.account_ids) == 1


async def test_the_seeded_ledger_verifies_after_sealing(services: Services, seeded: str) -> None:
    assert await services.sealer.seal_all() == (await counts())["entry"]
    report = await services.verifier.verify()
    assert report.ok, report
    assert report.pending_seal == 0


async def test_every_community_has_earning_rules(services: Services, seeded: str) -> None:
    for community_id in (1, 2, 3):
        assert (await services.rules.current(community_id)).version == 1


async def test_the_demo_has_a_shop_street_and_an_office_building(
    services: Services, seeded: str
) -> None:
    """Each with its named units, a collection point and a post; shops graded by their own
    values in the demo's rules, offices as households."""
    for name, compound_kind, unit_kind, names in UNIT_COMPOUNDS:
        compound = await Compound.select().where(Compound.name == name).first()
        assert compound is not None
        assert compound["kind"] == compound_kind.value
        units = await Household.select().where(Household.compound == compound["id"])
        assert sorted(u["name"] for u in units) == sorted(names)
        assert {(u["kind"], u["building"], u["unit"], u["room"]) for u in units} == {
            (unit_kind.value, "", "", "")
        }
        assert await CollectionPoint.count().where(CollectionPoint.compound == compound["id"]) == 1
        assert await DutyPost.count().where(DutyPost.compound == compound["id"]) == 1
    rules = (await services.rules.current(1)).rules
    assert rules["grade_points_by_kind"] == {"shop": {"good": 20, "fair": 10, "poor": 0}}
    assert "office" not in rules["grading_daily_cap_points_by_kind"]
    inspector = await services.users.authenticate("inspector", PASSWORD)
    street = await Compound.select(Compound.id).where(Compound.kind == "shop_street").first()
    assert street is not None
    assert street["id"] in inspector.compound_ids


async def test_seeding_twice_changes_nothing_and_still_lists_the_logins(
    services: Services, seeded: str
) -> None:
    before = await counts()
    again = await seed_demo(services, households=HOUSEHOLDS, password=PASSWORD)
    assert await counts() == before
    assert "nothing was seeded" in again
    for role in Role:
        assert f"{role.value:<11} / {PASSWORD} / {role.value}" in again


async def test_a_database_with_other_data_is_not_seeded(services: Services) -> None:
    await services.registry.create_community(SYSTEM, "c-1", "上塘街道某社区")
    summary = await seed_demo(services, households=HOUSEHOLDS, password=PASSWORD)
    assert "nothing was seeded" in summary
    assert "No demo logins" in summary
    assert (await counts())["household"] == 0

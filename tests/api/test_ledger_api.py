"""Adjustments, reversals, account reads and verification through HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import Response
from litestar.testing import AsyncTestClient

from ledger.domain.access import Role
from tests.api.conftest import (
    Headers,
    World,
    assert_error,
    created,
    make_user,
    make_world,
    new_event_id,
)

pytestmark = pytest.mark.pgbouncer  # also run through PgBouncer (Makefile)

Api = tuple[AsyncTestClient[Any], Headers]


async def adjust(
    client: AsyncTestClient[Any],
    admin: Headers,
    account_id: int,
    amount_points: int,
    *,
    event_id: str | None = None,
    reason: str = "补录纸质积分本",
) -> Response:
    body = {
        "event_id": event_id or new_event_id(),
        "account_id": account_id,
        "amount_points": amount_points,
        "reason": reason,
    }
    return await client.post("/api/v1/adjustments", json=body, headers=admin)


async def balance(client: AsyncTestClient[Any], admin: Headers, account_id: int) -> int:
    response = await client.get(f"/api/v1/accounts/{account_id}", headers=admin)
    assert response.status_code == 200, response.text
    points: int = response.json()["balance_points"]
    return points


async def test_adjustments_credit_and_debit_a_household(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    credit = await adjust(client, admin, world.account_id, 30)
    assert credit.status_code == 201, credit.text
    assert credit.json()["balance_points"] == 30
    debit = await adjust(client, admin, world.account_id, -12, reason="兑换纸巾")
    assert debit.status_code == 201
    assert debit.json()["balance_points"] == 18
    assert debit.json()["entry_id"] > credit.json()["entry_id"]
    assert await balance(client, admin, world.account_id) == 18


async def test_a_replayed_adjustment_moves_points_once(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    event_id = new_event_id()
    first = await adjust(client, admin, world.account_id, 30, event_id=event_id)
    again = await adjust(client, admin, world.account_id, 30, event_id=event_id)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert await balance(client, admin, world.account_id) == 30
    assert_error(
        await adjust(client, admin, world.account_id, 31, event_id=event_id),
        409,
        "idempotency_conflict",
    )


async def test_a_debit_beyond_the_balance_is_refused(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    await adjust(client, admin, world.account_id, 10)
    refused = await adjust(client, admin, world.account_id, -11)
    body = assert_error(refused, 409, "insufficient_points")
    assert body.get("balance_points") == 10
    assert await balance(client, admin, world.account_id) == 10


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"amount_points": 0}, "amount_points", id="zero"),
        pytest.param({"amount_points": 10**12}, "amount_points", id="too large"),
        pytest.param({"amount_points": 2.5}, "amount_points", id="fraction"),
        pytest.param({"reason": ""}, "reason", id="empty reason"),
        pytest.param({"reason": "   "}, "reason", id="blank reason"),
        pytest.param({"reason": "x" * 501}, "reason", id="long reason"),
        pytest.param({"account_id": 2**70}, "account_id", id="huge account"),
    ],
)
async def test_a_bad_adjustment_names_the_field(
    api: Api, changes: dict[str, Any], field: str
) -> None:
    client, admin = api
    world = await make_world(client, admin)
    body = {
        "event_id": new_event_id(),
        "account_id": world.account_id,
        "amount_points": 5,
        "reason": "r",
    }
    response = await client.post("/api/v1/adjustments", json=body | changes, headers=admin)
    assert assert_error(response, 400, "validation_error")["field"] == field


async def test_an_adjustment_to_an_unknown_account_is_not_found(api: Api) -> None:
    client, admin = api
    assert_error(await adjust(client, admin, 999_999, 5), 404, "not_found")


async def test_an_adjustment_to_a_community_account_is_refused(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    # The community's own accounts (issuance stripes and sinks) are opened before the household's.
    response = await adjust(client, admin, world.account_id - 1, 5)
    assert assert_error(response, 400, "validation_error")["field"] == "account_id"


async def test_an_entry_is_reversed_once(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    entry_id = (await adjust(client, admin, world.account_id, 25)).json()["entry_id"]
    body = {"event_id": new_event_id(), "reason": "录错户了"}
    path = f"/api/v1/entries/{entry_id}/reverse"
    reversal = await client.post(path, json=body, headers=admin)
    assert reversal.status_code == 201, reversal.text
    assert reversal.json()["reverses_entry_id"] == entry_id
    assert await balance(client, admin, world.account_id) == 0

    replay = await client.post(path, json=body, headers=admin)
    assert (replay.status_code, replay.json()) == (201, reversal.json())

    again = await client.post(
        path, json={"event_id": new_event_id(), "reason": "再次"}, headers=admin
    )
    assert_error(again, 409, "already_reversed")

    undo = await client.post(
        f"/api/v1/entries/{reversal.json()['entry_id']}/reverse",
        json={"event_id": new_event_id(), "reason": "撤销冲正"},
        headers=admin,
    )
    assert_error(undo, 409, "not_reversible")
    assert await balance(client, admin, world.account_id) == 0


async def test_a_reversal_that_would_overdraw_is_refused(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    entry_id = (await adjust(client, admin, world.account_id, 25)).json()["entry_id"]
    await adjust(client, admin, world.account_id, -20)
    response = await client.post(
        f"/api/v1/entries/{entry_id}/reverse",
        json={"event_id": new_event_id(), "reason": "太晚了"},
        headers=admin,
    )
    assert_error(response, 409, "insufficient_points")
    assert await balance(client, admin, world.account_id) == 5


async def test_reversing_an_unknown_entry_is_not_found(api: Api) -> None:
    client, admin = api
    response = await client.post(
        "/api/v1/entries/424242/reverse",
        json={"event_id": new_event_id(), "reason": "x"},
        headers=admin,
    )
    assert_error(response, 404, "not_found")


async def two_households(client: AsyncTestClient[Any], admin: Headers) -> tuple[World, int]:
    world = await make_world(client, admin)
    neighbour = await created(
        client,
        admin,
        "/api/v1/households",
        {"compound_id": world.compound_id, "building": "3", "unit": "2", "room": "302"},
    )
    await adjust(client, admin, world.account_id, 40)
    return world, neighbour["id"]


async def test_admin_clerk_and_owner_see_an_accounts_balance(api: Api) -> None:
    client, admin = api
    world, _ = await two_households(client, admin)
    clerk = await make_user(client, admin, Role.CLERK, compound_ids=[world.compound_id])
    owner = await make_user(client, admin, Role.RESIDENT, household_id=world.household_id)
    for viewer in (admin, clerk, owner):
        response = await client.get(f"/api/v1/accounts/{world.account_id}", headers=viewer)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["id"] == world.account_id
        assert body["kind"] == "household"
        assert body["balance_points"] == 40
        assert isinstance(body["expiring"], list)


async def test_another_households_resident_may_not_see_an_account(api: Api) -> None:
    client, admin = api
    world, neighbour_id = await two_households(client, admin)
    neighbour = await make_user(client, admin, Role.RESIDENT, household_id=neighbour_id)
    response = await client.get(f"/api/v1/accounts/{world.account_id}", headers=neighbour)
    assert_error(response, 403, "forbidden")


async def test_entries_are_visible_to_the_owner_and_an_admin_newest_first(api: Api) -> None:
    client, admin = api
    world, _ = await two_households(client, admin)
    await adjust(client, admin, world.account_id, -15, reason="兑换")
    owner = await make_user(client, admin, Role.RESIDENT, household_id=world.household_id)
    for viewer in (owner, admin):
        response = await client.get(f"/api/v1/accounts/{world.account_id}/entries", headers=viewer)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["next_cursor"] is None
        debit, credit = body["items"]
        assert (debit["direction"], debit["amount_points"], debit["memo"]) == ("debit", 15, "兑换")
        assert (credit["direction"], credit["amount_points"]) == ("credit", 40)
        assert [debit["balance_after_points"], credit["balance_after_points"]] == [25, 40]
        assert debit["kind"] == "adjustment"
        assert debit["actor"] == "admin"
        assert debit["reverses_entry_id"] is None
        assert "+" in debit["created_at"] or debit["created_at"].endswith("Z")


async def test_entries_are_hidden_from_a_neighbour_and_a_clerk(api: Api) -> None:
    client, admin = api
    world, neighbour_id = await two_households(client, admin)
    neighbour = await make_user(client, admin, Role.RESIDENT, household_id=neighbour_id)
    clerk = await make_user(client, admin, Role.CLERK, compound_ids=[world.compound_id])
    path = f"/api/v1/accounts/{world.account_id}/entries"
    assert_error(await client.get(path, headers=neighbour), 403, "forbidden")
    assert_error(await client.get(path, headers=clerk), 403, "forbidden")


async def test_entries_page_with_limit_and_cursor(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    for amount in (1, 2, 3, 4, 5):
        await adjust(client, admin, world.account_id, amount)
    amounts: list[int] = []
    params: dict[str, Any] = {"limit": 2}
    pages = 0
    while True:
        response = await client.get(
            f"/api/v1/accounts/{world.account_id}/entries", params=params, headers=admin
        )
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        amounts += [item["amount_points"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert amounts == [5, 4, 3, 2, 1]
    assert pages == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"cursor": "%%%"}, "cursor")],
)
async def test_bad_entry_paging_is_400(api: Api, query: dict[str, Any], field: str) -> None:
    client, admin = api
    world = await make_world(client, admin)
    response = await client.get(
        f"/api/v1/accounts/{world.account_id}/entries", params=query, headers=admin
    )
    assert assert_error(response, 400, "validation_error")["field"] == field


async def test_an_unknown_account_is_not_found(api: Api) -> None:
    client, admin = api
    assert_error(await client.get("/api/v1/accounts/424242", headers=admin), 404, "not_found")
    assert_error(
        await client.get("/api/v1/accounts/424242/entries", headers=admin), 404, "not_found"
    )
    response = await client.get(f"/api/v1/accounts/{2**70}", headers=admin)
    assert assert_error(response, 400, "validation_error")["field"] == "account_id"


async def test_verify_proves_the_ledger_and_lists_its_checks(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    entry_id = (await adjust(client, admin, world.account_id, 25)).json()["entry_id"]
    await adjust(client, admin, world.account_id, 10)
    reversal = await client.post(
        f"/api/v1/entries/{entry_id}/reverse",
        json={"event_id": new_event_id(), "reason": "x"},
        headers=admin,
    )
    assert reversal.status_code == 201
    response = await client.get("/api/v1/ledger/verify", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True
    assert body["entries"] == 3
    assert isinstance(body["sealed_through"], int)
    names = {check["name"] for check in body["checks"]}
    assert {"conservation", "balances_match_entries", "hash_chain"} <= names
    assert all(check["ok"] and check["detail"] for check in body["checks"])


@pytest.mark.parametrize("field", ["amount_points", "account_id"])
async def test_a_number_sent_as_a_string_is_refused(api: Api, field: str) -> None:
    client, admin = api
    world = await make_world(client, admin)
    body = {
        "event_id": new_event_id(),
        "account_id": world.account_id,
        "amount_points": 5,
        "reason": "r",
    }
    body[field] = str(body[field])
    response = await client.post("/api/v1/adjustments", json=body, headers=admin)
    assert assert_error(response, 400, "validation_error")["field"] == field

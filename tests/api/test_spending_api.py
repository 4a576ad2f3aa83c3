"""Spending through HTTP: the catalogue, redemptions, refunds, payments, settlement,
statements and expiry lists (issue 4; ../shared/API.md, Ledger)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from httpx import Response
from litestar.testing import AsyncTestClient

from ledger.domain.access import Role
from tests.api.conftest import (
    ADMIN_USERNAME,
    Headers,
    World,
    assert_error,
    created,
    make_user,
    make_world,
    new_event_id,
)
from tests.factories import FrozenClock

pytestmark = pytest.mark.pgbouncer  # also run through PgBouncer (Makefile)

Api = tuple[AsyncTestClient[Any], Headers]


@pytest.fixture
def app_clock() -> FrozenClock:
    """The clock the `api` fixture's app reads (tests/api/conftest.py), held still."""
    return FrozenClock()


@dataclass(frozen=True)
class Counter:
    """A world with a clerk for its compound, points, a reward and a merchant."""

    world: World
    clerk: Headers
    reward_id: int
    merchant_id: int


async def post(
    client: AsyncTestClient[Any], headers: Headers, path: str, body: dict[str, Any]
) -> Response:
    return await client.post(path, json={"event_id": new_event_id(), **body}, headers=headers)


async def adjust(
    client: AsyncTestClient[Any], admin: Headers, account_id: int, points: int
) -> None:
    body = {"account_id": account_id, "amount_points": points, "reason": "补录"}
    await created(client, admin, "/api/v1/adjustments", body)


async def new_reward(
    client: AsyncTestClient[Any], admin: Headers, community_id: int, **fields: Any
) -> dict[str, Any]:
    body = {"community_id": community_id, "name": "洗洁精", "cost_points": 30, "stock": 10}
    return await created(client, admin, "/api/v1/rewards", body | fields)


async def balance(client: AsyncTestClient[Any], admin: Headers, account_id: int) -> int:
    response = await client.get(f"/api/v1/accounts/{account_id}", headers=admin)
    assert response.status_code == 200, response.text
    points: int = response.json()["balance_points"]
    return points


async def reward_row(
    client: AsyncTestClient[Any], admin: Headers, reward_id: int
) -> dict[str, Any]:
    response = await client.get("/api/v1/rewards", params={"limit": 500}, headers=admin)
    assert response.status_code == 200, response.text
    (row,) = [item for item in response.json()["items"] if item["id"] == reward_id]
    return dict(row)


async def counter(client: AsyncTestClient[Any], admin: Headers, points: int = 100) -> Counter:
    world = await make_world(client, admin)
    clerk = await make_user(client, admin, Role.CLERK, compound_ids=[world.compound_id])
    await adjust(client, admin, world.account_id, points)
    reward = await new_reward(client, admin, world.community_id, monthly_limit_per_household=2)
    merchant = await created(
        client, admin, "/api/v1/merchants", {"community_id": world.community_id, "name": "菜场"}
    )
    return Counter(world, clerk, reward["id"], merchant["id"])


# -- the catalogue -----------------------------------------------------------------------------


async def test_an_admin_changes_restocks_retires_and_reads_the_history(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    reward = await new_reward(client, admin, world.community_id)
    rid = reward["id"]
    body = {
        "event_id": new_event_id(),
        "cost_points": 25,
        "monthly_limit_per_household": 3,
        "active_until": "2027-06-30",
        "exchange_weekdays": [6, 7],
    }
    changed = await client.patch(f"/api/v1/rewards/{rid}", json=body, headers=admin)
    assert changed.status_code == 200, changed.text
    assert changed.json() | {"stock": 10} == {
        "id": rid,
        "community_id": world.community_id,
        "name": "洗洁精",
        "cost_points": 25,
        "stock": 10,
        "monthly_limit_per_household": 3,
        "active": True,
        "active_from": None,
        "active_until": "2027-06-30",
        "exchange_weekdays": [6, 7],
    }
    again = await client.patch(f"/api/v1/rewards/{rid}", json=body, headers=admin)
    assert (again.status_code, again.json()) == (200, changed.json())

    restocked = await post(client, admin, f"/api/v1/rewards/{rid}/restock", {"quantity": 5})
    assert restocked.status_code == 200, restocked.text
    assert restocked.json()["stock"] == 15
    retired = await post(client, admin, f"/api/v1/rewards/{rid}/retire", {})
    assert retired.status_code == 200, retired.text
    assert retired.json()["active"] is False

    history = await client.get(f"/api/v1/rewards/{rid}/history", headers=admin)
    assert history.status_code == 200, history.text
    items = history.json()
    assert [item["change"] for item in items] == ["created", "changed", "restocked", "retired"]
    assert {item["actor"] for item in items} == {ADMIN_USERNAME}
    assert items[1]["details"] == {
        "cost_points": 25,
        "monthly_limit_per_household": 3,
        "active_until": "2027-06-30",
        "exchange_weekdays": [6, 7],
    }
    assert items[2]["details"] == {"quantity": 5}
    assert all(datetime.fromisoformat(item["at"]).tzinfo is not None for item in items)


async def test_catalogue_refusals(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    clerk = await make_user(client, admin, Role.CLERK, compound_ids=[world.compound_id])
    rid = (await new_reward(client, admin, world.community_id))["id"]

    async def patch(body: dict[str, Any], headers: Headers = admin, reward_id: int = rid) -> Any:
        return await client.patch(
            f"/api/v1/rewards/{reward_id}",
            json={"event_id": new_event_id(), **body},
            headers=headers,
        )

    assert_error(await patch({"cost_points": 1}, headers=clerk), 403, "forbidden")
    assert_error(await patch({"cost_points": 1}, reward_id=999_999), 404, "not_found")
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"stock": 3}, "stock"),
        ({"cost_points": 0}, "cost_points"),
        ({"active_from": "2026-13-01"}, "active_from"),
        ({"exchange_weekdays": [8]}, "exchange_weekdays"),
        ({"active_from": "2027-02-01", "active_until": "2027-01-01"}, "active_until"),
    ]
    for body, field in refusals:
        body_error = assert_error(await patch(body), 400, "validation_error")
        assert field in body_error["detail"], (body, body_error)
    assert_error(await patch({}), 400, "validation_error")
    restock = await post(client, admin, f"/api/v1/rewards/{rid}/restock", {"quantity": 0})
    assert "quantity" in assert_error(restock, 400, "validation_error")["detail"]
    assert_error(await post(client, clerk, f"/api/v1/rewards/{rid}/retire", {}), 403, "forbidden")
    assert_error(
        await client.get(f"/api/v1/rewards/{rid}/history", headers=clerk), 403, "forbidden"
    )
    missing = await client.get("/api/v1/rewards/999999/history", headers=admin)
    assert_error(missing, 404, "not_found")
    history = (await client.get(f"/api/v1/rewards/{rid}/history", headers=admin)).json()
    assert [item["change"] for item in history] == ["created"]


# -- redemptions and refunds -------------------------------------------------------------------


async def test_a_clerk_redeems_by_card(api: Api) -> None:
    client, admin = api
    c = await counter(client, admin)
    body = {
        "event_id": new_event_id(),
        "household_token": c.world.card_token,
        "reward_id": c.reward_id,
        "quantity": 2,
    }
    first = await client.post("/api/v1/redemptions", json=body, headers=c.clerk)
    assert first.status_code == 201, first.text
    reply = first.json()
    assert set(reply) >= {"redemption_id", "entry_id", "balance_points"}
    assert (reply["balance_points"], reply["points"]) == (40, 60)
    again = await client.post("/api/v1/redemptions", json=body, headers=c.clerk)
    assert (again.status_code, again.json()) == (201, reply)
    conflict = await client.post(
        "/api/v1/redemptions", json=body | {"quantity": 1}, headers=c.clerk
    )
    assert_error(conflict, 409, "idempotency_conflict")
    assert await balance(client, admin, c.world.account_id) == 40
    assert (await reward_row(client, admin, c.reward_id))["stock"] == 8


async def test_a_resident_redeems_for_their_own_household_only(api: Api) -> None:
    client, admin = api
    c = await counter(client, admin)
    resident = await make_user(client, admin, Role.RESIDENT, household_id=c.world.household_id)
    neighbour = await created(
        client,
        admin,
        "/api/v1/households",
        {"compound_id": c.world.compound_id, "building": "3", "unit": "2", "room": "302"},
    )
    await adjust(client, admin, neighbour["account_id"], 100)
    own = await post(
        client,
        resident,
        "/api/v1/redemptions",
        {"household_id": c.world.household_id, "reward_id": c.reward_id},
    )
    assert own.status_code == 201, own.text
    assert own.json()["balance_points"] == 70
    other = await post(
        client,
        resident,
        "/api/v1/redemptions",
        {"household_id": neighbour["id"], "reward_id": c.reward_id},
    )
    assert_error(other, 403, "forbidden")
    assert await balance(client, admin, neighbour["account_id"]) == 100
    account = await client.get(f"/api/v1/accounts/{c.world.account_id}", headers=resident)
    assert account.status_code == 200, account.text
    assert account.json()["balance_points"] == 70


@pytest.mark.parametrize("given", ["both", "neither"])
async def test_household_token_xor_household_id(api: Api, given: str) -> None:
    client, admin = api
    c = await counter(client, admin)
    body: dict[str, Any] = {"reward_id": c.reward_id}
    if given == "both":
        body |= {"household_token": c.world.card_token, "household_id": c.world.household_id}
    response = await post(client, c.clerk, "/api/v1/redemptions", body)
    error = assert_error(response, 400, "validation_error")
    assert error.get("field") == "household_token"
    assert "household_token" in error["detail"]
    assert await balance(client, admin, c.world.account_id) == 100


async def test_redemption_refusals_are_409_with_their_codes(api: Api) -> None:
    client, admin = api
    c = await counter(client, admin)
    cid = c.world.community_id
    card = c.world.card_token
    pricey = (await new_reward(client, admin, cid, name="电饭煲", cost_points=500))["id"]
    gone = (await new_reward(client, admin, cid, name="雨伞", stock=0))["id"]
    later = (await new_reward(client, admin, cid, name="春联", active_from="2027-01-20"))["id"]

    async def redeem(reward_id: int, quantity: int = 1, headers: Headers | None = None) -> Any:
        body = {"household_token": card, "reward_id": reward_id, "quantity": quantity}
        return await post(client, headers or c.clerk, "/api/v1/redemptions", body)

    assert_error(await redeem(pricey), 409, "insufficient_points")
    assert_error(await redeem(gone), 409, "out_of_stock")
    assert_error(await redeem(later), 409, "reward_inactive")
    assert (await redeem(c.reward_id, 2)).status_code == 201
    assert_error(await redeem(c.reward_id), 409, "limit_reached")
    assert_error(await redeem(999_999), 404, "not_found")
    assert_error(await redeem(pricey, quantity=0), 400, "validation_error")
    assert_error(await redeem(pricey, headers=admin), 403, "forbidden")  # admins don't redeem
    forged = await post(
        client,
        c.clerk,
        "/api/v1/redemptions",
        {"household_token": card[:-2] + ("AA" if card[-2:] != "AA" else "BB"), "reward_id": pricey},
    )
    assert forged.status_code in (400, 422), forged.text
    assert await balance(client, admin, c.world.account_id) == 40


async def test_a_refund_returns_points_and_stock_once(api: Api) -> None:
    client, admin = api
    c = await counter(client, admin)
    done = await post(
        client,
        c.clerk,
        "/api/v1/redemptions",
        {"household_token": c.world.card_token, "reward_id": c.reward_id, "quantity": 2},
    )
    redemption_id = done.json()["redemption_id"]
    path = f"/api/v1/redemptions/{redemption_id}/refund"
    body = {"event_id": new_event_id(), "reason": "破损"}
    refunded = await client.post(path, json=body, headers=c.clerk)
    assert refunded.status_code == 201, refunded.text
    assert refunded.json()["balance_points"] == 100
    replay = await client.post(path, json=body, headers=c.clerk)
    assert (replay.status_code, replay.json()) == (201, refunded.json())
    assert_error(await post(client, c.clerk, path, {"reason": "again"}), 409, "already_reversed")
    assert await balance(client, admin, c.world.account_id) == 100
    assert (await reward_row(client, admin, c.reward_id))["stock"] == 10
    resident = await make_user(client, admin, Role.RESIDENT, household_id=c.world.household_id)
    assert_error(await post(client, resident, path, {"reason": "x"}), 403, "forbidden")
    missing = await post(client, c.clerk, "/api/v1/redemptions/999999/refund", {"reason": "x"})
    assert_error(missing, 404, "not_found")
    assert_error(await post(client, c.clerk, path, {"reason": ""}), 400, "validation_error")
    entries = await client.get(f"/api/v1/accounts/{c.world.account_id}/entries", headers=admin)
    newest = entries.json()["items"][0]
    assert (newest["kind"], newest["direction"]) == ("reversal", "credit")
    assert newest["reverses_entry_id"] == done.json()["entry_id"]


# -- payments, settlement, statements ----------------------------------------------------------


async def test_payments_settlement_and_statement(api: Api, app_clock: FrozenClock) -> None:
    client, admin = api
    c = await counter(client, admin, points=200)
    card = c.world.card_token

    async def pay(points: int, merchant_id: int | None = None) -> Any:
        body = {
            "household_token": card,
            "merchant_id": merchant_id or c.merchant_id,
            "amount_points": points,
        }
        return await post(client, c.clerk, "/api/v1/payments", body)

    app_clock.moment = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    paid = await pay(40)
    assert paid.status_code == 201, paid.text
    assert set(paid.json()) >= {"entry_id", "balance_points"}
    assert paid.json()["balance_points"] == 160
    assert (await pay(25)).status_code == 201
    assert_error(await pay(136), 409, "insufficient_points")
    assert_error(
        await post(
            client,
            admin,
            "/api/v1/payments",
            {
                "household_token": card,
                "merchant_id": c.merchant_id,
                "amount_points": 1,
            },
        ),
        403,
        "forbidden",
    )
    other = await make_world(client, admin, community="湖墅社区", compound="德胜新村")
    far = await created(
        client, admin, "/api/v1/merchants", {"community_id": other.community_id, "name": "远店"}
    )
    assert_error(await pay(1, far["id"]), 404, "not_found")
    assert_error(await pay(0), 400, "validation_error")

    app_clock.moment = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    settle_path = f"/api/v1/merchants/{c.merchant_id}/settlements"
    assert_error(await post(client, c.clerk, settle_path, {}), 403, "forbidden")
    settled = await post(client, admin, settle_path, {})
    assert settled.status_code == 201, settled.text
    assert settled.json()["settled_points"] == 65
    assert await balance(client, admin, c.world.account_id) == 135
    assert_error(await post(client, admin, settle_path, {}), 409, "nothing_to_settle")
    assert (await pay(10)).status_code == 201

    statement_path = f"/api/v1/merchants/{c.merchant_id}/statement"
    whole = await client.get(
        statement_path, params={"from": "2026-11-01", "to": "2026-11-30"}, headers=admin
    )
    assert whole.status_code == 200, whole.text
    body = whole.json()
    assert (
        body["from"],
        body["to"],
        body["opening_balance_points"],
        body["received_points"],
        body["settled_points"],
        body["closing_balance_points"],
    ) == ("2026-11-01", "2026-11-30", 0, 75, 65, 10)
    assert [(line["kind"], line["points"]) for line in body["lines"]] == [
        ("payment", 40),
        ("payment", 25),
        ("settlement", -65),
        ("payment", 10),
    ]
    day_3 = await client.get(
        statement_path, params={"from": "2026-11-03", "to": "2026-11-03"}, headers=admin
    )
    totals = day_3.json()
    assert (
        totals["opening_balance_points"],
        totals["received_points"],
        totals["settled_points"],
        totals["closing_balance_points"],
    ) == (65, 10, 65, 10)

    as_csv = await client.get(
        statement_path,
        params={"from": "2026-11-01", "to": "2026-11-30", "format": "csv"},
        headers=admin,
    )
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"].startswith("text/csv")
    disposition = as_csv.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="merchant-'), disposition
    assert '-statement_2026-11-01_2026-11-30.csv"; ' in disposition
    assert disposition.endswith(
        "filename*=UTF-8''" + quote("菜场_对账单_2026-11-01_2026-11-30.csv", safe="")
    )
    rows = list(csv.reader(io.StringIO(as_csv.text.removeprefix("\ufeff"))))
    assert rows[0][3:] == [
        "opening_balance_points",
        "received_points",
        "settled_points",
        "closing_balance_points",
    ]
    assert rows[1] == ["菜场", "2026-11-01", "2026-11-30", "0", "75", "65", "10"]
    assert rows[3] == ["entry_id", "at", "kind", "points", "memo", "actor"]
    assert [(row[2], row[3]) for row in rows[4:]] == [
        ("payment", "40"),
        ("payment", "25"),
        ("settlement", "-65"),
        ("payment", "10"),
    ]
    by_accept = await client.get(
        statement_path,
        params={"from": "2026-11-01", "to": "2026-11-30"},
        headers=admin | {"Accept": "text/csv"},
    )
    assert by_accept.headers["content-type"].startswith("text/csv")

    for params, field in [
        ({"from": "2026-11-30", "to": "2026-11-01"}, "to"),
        ({"from": "2026-11-31", "to": "2026-12-01"}, "from"),
        ({"from": "2026-11-01"}, "to"),
        ({"from": "2026-11-01", "to": "2026-11-02", "format": "xlsx"}, "format"),
    ]:
        refused = await client.get(statement_path, params=params, headers=admin)
        error = assert_error(refused, 400, "validation_error")
        assert field in error["detail"], (params, error)
    missing = await client.get(
        "/api/v1/merchants/999999/statement",
        params={"from": "2026-11-01", "to": "2026-11-02"},
        headers=admin,
    )
    assert_error(missing, 404, "not_found")
    assert_error(
        await client.get(
            statement_path, params={"from": "2026-11-01", "to": "2026-11-02"}, headers=c.clerk
        ),
        403,
        "forbidden",
    )


# -- expiry --------------------------------------------------------------------------------------


FORMULA_NAME = '=HYPERLINK("http://evil.example/","点我")'


async def test_a_statement_csv_keeps_formulas_in_names_and_memos_as_text(
    api: Api, app_clock: FrozenClock
) -> None:
    client, admin = api
    c = await counter(client, admin, points=50)
    merchant = await created(
        client,
        admin,
        "/api/v1/merchants",
        {"community_id": c.world.community_id, "name": FORMULA_NAME},
    )
    app_clock.moment = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    body = {"household_token": c.world.card_token, "merchant_id": merchant["id"]}
    paid = await post(client, c.clerk, "/api/v1/payments", body | {"amount_points": 10})
    assert paid.status_code == 201, paid.text
    params = {"from": "2026-11-01", "to": "2026-11-30"}
    path = f"/api/v1/merchants/{merchant['id']}/statement"

    as_csv = await client.get(path, params=params | {"format": "csv"}, headers=admin)
    rows = list(csv.reader(io.StringIO(as_csv.text.removeprefix("\ufeff"))))
    assert rows[1][0] == "'" + FORMULA_NAME  # the merchant
    assert rows[4][2:5] == ["payment", "10", "'" + FORMULA_NAME]  # the memo
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    as_json = await client.get(path, params=params, headers=admin)
    assert as_json.json()["merchant"] == FORMULA_NAME
    assert as_json.json()["lines"][0]["memo"] == FORMULA_NAME


async def test_accounts_show_what_expires_when_and_reminders_list_them(
    api: Api, app_clock: FrozenClock
) -> None:
    client, admin = api
    world = await make_world(client, admin)
    resident = await make_user(client, admin, Role.RESIDENT, household_id=world.household_id)
    app_clock.moment = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    await adjust(client, admin, world.account_id, 60)
    app_clock.moment = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
    await adjust(client, admin, world.account_id, 15)

    account = await client.get(f"/api/v1/accounts/{world.account_id}", headers=resident)
    assert account.status_code == 200, account.text
    assert account.json()["expiring"] == [
        {"points": 60, "expires_on": "2027-12-31"},
        {"points": 15, "expires_on": "2028-12-31"},
    ]

    app_clock.moment = datetime(2027, 12, 5, 2, 0, tzinfo=UTC)
    soon = await client.get("/api/v1/accounts:expiring", headers=admin)
    assert soon.status_code == 200, soon.text
    assert soon.json() == {
        "items": [
            {
                "account_id": world.account_id,
                "kind": "household",
                "community_id": world.community_id,
                "household_id": world.household_id,
                "points": 60,
                "first_expires_on": "2027-12-31",
            }
        ],
        "next_cursor": None,
    }
    narrow = await client.get(
        "/api/v1/accounts:expiring", params={"within_days": 20}, headers=admin
    )
    assert narrow.json()["items"] == []
    elsewhere = await client.get(
        "/api/v1/accounts:expiring", params={"community_id": 999_999}, headers=admin
    )
    assert elsewhere.json()["items"] == []
    assert_error(
        await client.get("/api/v1/accounts:expiring", params={"within_days": 0}, headers=admin),
        400,
        "validation_error",
    )
    assert_error(await client.get("/api/v1/accounts:expiring", headers=resident), 403, "forbidden")


async def test_the_expiring_list_pages_by_account(api: Api, app_clock: FrozenClock) -> None:
    client, admin = api
    world = await make_world(client, admin)
    app_clock.moment = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    accounts = [world.account_id]
    await adjust(client, admin, world.account_id, 5)
    for room in ("302", "303"):
        household = await created(
            client,
            admin,
            "/api/v1/households",
            {"compound_id": world.compound_id, "building": "3", "unit": "2", "room": room},
        )
        await adjust(client, admin, household["account_id"], 5)
        accounts.append(household["account_id"])
    app_clock.moment = datetime(2027, 12, 20, 2, 0, tzinfo=UTC)
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, "within_days": 30}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/accounts:expiring", params=params, headers=admin)).json()
        seen += [item["account_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == accounts

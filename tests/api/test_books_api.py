"""The books over HTTP (issue 19 part 1): `GET /api/v1/reports/liability` (JSON and CSV),
reward costs and reorder thresholds, the staff page in both languages, verify's check."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from litestar.testing import AsyncTestClient

from ledger.domain.access import Role
from ledger.domain.localtime import local_day
from tests.api.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    Headers,
    World,
    assert_error,
    created,
    make_user,
    make_world,
    new_event_id,
)
from tests.api.pages_helpers import csrf_from

CSRF_FIELD = "_csrf_token"

Client = AsyncTestClient[Any]


@dataclass(frozen=True)
class Shop:
    client: Client
    admin: Headers
    world: World
    reward_id: int
    first: str
    last: str


@pytest.fixture
async def shop(api: tuple[Client, Headers]) -> Shop:
    """100 points adjusted in; a towel of 30 points costing 2.50 yuan, reorder at 2 of 3 in
    stock; one redeemed. Outstanding 70 points, at 250 fen ÷ 30 points → 583 fen (5.83 yuan)."""
    client, admin = api
    world = await make_world(client, admin)
    clerk = await make_user(client, admin, Role.CLERK, compound_ids=[world.compound_id])
    body = {"account_id": world.account_id, "amount_points": 100, "reason": "补录"}
    await created(client, admin, "/api/v1/adjustments", body)
    reward = await created(
        client,
        admin,
        "/api/v1/rewards",
        {"community_id": world.community_id, "name": "毛巾", "cost_points": 30, "stock": 3},
    )
    cost = {"community_id": world.community_id, "cost_fen": 250}
    await created(client, admin, f"/api/v1/rewards/{reward['id']}/costs", cost)
    threshold = await client.post(
        f"/api/v1/rewards/{reward['id']}/reorder-threshold",
        json={"event_id": new_event_id(), "community_id": world.community_id, "threshold": 2},
        headers=admin,
    )
    assert threshold.status_code == 200, threshold.text
    assert threshold.json() == {
        "reward_id": reward["id"],
        "threshold": 2,
        "stock": 3,
        "reorder": False,
    }
    redemption = {"household_token": world.card_token, "reward_id": reward["id"], "quantity": 1}
    await created(client, clerk, "/api/v1/redemptions", redemption)
    # A day either side of today, so a run across local midnight counts the same.
    today = local_day(datetime.now(UTC))
    first, last = (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()
    return Shop(client, admin, world, reward["id"], first, last)


def _params(shop: Shop, **extra: Any) -> dict[str, Any]:
    return {"community_id": shop.world.community_id, "from": shop.first, "to": shop.last, **extra}


def _total(months: list[dict[str, Any]], key: str) -> int:
    return sum(int(month[key]) for month in months)


async def test_the_liability_report_has_the_figures(shop: Shop) -> None:
    response = await shop.client.get(
        "/api/v1/reports/liability", params=_params(shop), headers=shop.admin
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"]) == (shop.first, shop.last)
    assert "redeemed point" in body["estimate_method"]
    months = body["months"]
    assert _total(months, "issued_adjustments") == _total(months, "issued_total") == 100
    assert _total(months, "redeemed") == 30
    assert _total(months, "redeemed_value_fen") == 250
    last = months[-1]
    assert (last["outstanding"], last["merchants_unsettled"]) == (70, 0)
    assert (last["outstanding_estimate_fen"], last["outstanding_estimate_yuan"]) == (583, "5.83")
    assert body["reward_stock"] == [
        {
            "reward_id": shop.reward_id,
            "reward": "毛巾",
            "stock": 2,
            "cost_points": 30,
            "cost_fen": 250,
            "cost_yuan": "2.50",
            "reorder_threshold": 2,
            "reorder": True,
        }
    ]


async def test_the_liability_report_as_csv(shop: Shop) -> None:
    for params, headers in (
        (_params(shop, format="csv"), shop.admin),
        (_params(shop), shop.admin | {"Accept": "text/csv"}),
    ):
        response = await shop.client.get(
            "/api/v1/reports/liability", params=params, headers=headers
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        community_id = shop.world.community_id
        assert response.headers["content-disposition"] == (
            f'attachment; filename="liability-community-{community_id}_{shop.first}_'
            f"{shop.last}.csv\"; filename*=UTF-8''"
            + quote(f"卖鱼桥社区_积分负债_{shop.first}_{shop.last}.csv", safe="")
        )
        rows = list(csv.DictReader(io.StringIO(response.text.removeprefix("\ufeff"))))
        assert _total(rows, "issued_total") == 100
        assert _total(rows, "redeemed_value_fen") == 250
        assert rows[-1]["outstanding"] == "70"


async def test_costs_keep_a_history_replay_and_refuse_bad_input(shop: Shop) -> None:
    client, admin, community_id = shop.client, shop.admin, shop.world.community_id
    path = f"/api/v1/rewards/{shop.reward_id}/costs"
    body = {"event_id": new_event_id(), "community_id": community_id, "cost_fen": 300}
    first = await client.post(path, json=body, headers=admin)
    assert first.status_code == 201, first.text
    again = await client.post(path, json=body, headers=admin)
    assert (again.status_code, again.json()) == (201, first.json())
    history = await client.get(path, headers=admin)
    assert [(c["cost_fen"], c["cost_yuan"]) for c in history.json()] == [
        (250, "2.50"),
        (300, "3.00"),
    ]
    other = await created(client, admin, "/api/v1/communities", {"name": "湖墅社区"})

    def cost(**fields: Any) -> dict[str, Any]:
        return {"event_id": new_event_id(), "community_id": community_id, "cost_fen": 1} | fields

    assert_error(
        await client.post(path, json=cost(cost_fen=-1), headers=admin), 400, "validation_error"
    )
    assert_error(
        await client.post(path, json=cost(effective_from="2026-13-01"), headers=admin),
        400,
        "validation_error",
    )
    assert_error(
        await client.post("/api/v1/rewards/999999/costs", json=cost(), headers=admin),
        404,
        "not_found",
    )
    assert_error(
        await client.post(path, json=cost(community_id=other["id"]), headers=admin),
        404,
        "not_found",
    )
    threshold = f"/api/v1/rewards/{shop.reward_id}/reorder-threshold"
    negative = {"event_id": new_event_id(), "community_id": community_id, "threshold": -1}
    assert_error(
        await client.post(threshold, json=negative, headers=admin), 400, "validation_error"
    )
    assert len((await client.get(path, headers=admin)).json()) == 2  # nothing refused was kept
    clerk = await make_user(client, admin, Role.CLERK, compound_ids=[shop.world.compound_id])
    assert_error(await client.post(path, json=cost(), headers=clerk), 403, "forbidden")


async def test_the_report_is_for_staff_and_refuses_bad_periods(shop: Shop) -> None:
    client, admin = shop.client, shop.admin
    coordinator = await make_user(
        client, admin, Role.COORDINATOR, compound_ids=[shop.world.compound_id]
    )
    path = "/api/v1/reports/liability"
    assert_error(
        await client.get(path, params=_params(shop), headers=coordinator), 403, "forbidden"
    )
    assert (await client.get(path, params=_params(shop))).status_code == 401
    for params in (
        _params(shop, to="2020-01-01"),  # before `from`
        _params(shop, **{"from": "2024-01-01", "to": "2025-06-01"}),  # over 366 days
        _params(shop, to="2026-02-30"),
        {"community_id": shop.world.community_id, "from": shop.first},
        _params(shop, format="xls"),
    ):
        assert_error(await client.get(path, params=params, headers=admin), 400, "validation_error")
    unknown = _params(shop, community_id=999_999)
    assert_error(await client.get(path, params=unknown, headers=admin), 404, "not_found")
    chart = await client.get("/api/v1/reports/charts/owed.svg", params=_params(shop), headers=admin)
    assert chart.status_code == 200
    assert "<svg" in chart.text


async def test_verify_has_its_books_check(shop: Shop) -> None:
    response = await shop.client.get("/api/v1/ledger/verify", headers=shop.admin)
    assert response.status_code == 200, response.text
    checks = {check["name"]: check["ok"] for check in response.json()["checks"]}
    assert checks["books_match_ledger"] is True


async def _sign_in(client: Client) -> None:
    form = await client.get("/login")
    response = await client.post(
        "/login",
        data={
            "username": ADMIN_USERNAME,
            "password": ADMIN_PASSWORD,
            CSRF_FIELD: csrf_from(form.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.status_code


@pytest.mark.parametrize(
    ("lang", "title", "chart_word"), [("zh", "积分账目", "发放"), ("en", "The books", "Issued")]
)
async def test_the_books_page_in_both_languages(
    shop: Shop, lang: str, title: str, chart_word: str
) -> None:
    client = shop.client
    await _sign_in(client)
    page = await client.get("/staff/books", params=_params(shop, lang=lang))
    assert page.status_code == 200, page.text
    assert title in page.text
    assert "¥2.50" in page.text
    assert 'class="reorder"' in page.text
    assert "/api/v1/reports/liability?" in page.text
    assert "format=csv" in page.text
    chart = re.search(r'src="(/staff/books/charts/flows\.svg\?[^"]+)"', page.text)
    assert chart
    svg = await client.get(chart.group(1).replace("&amp;", "&"))
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert chart_word in svg.text


@pytest.mark.parametrize(
    ("path", "first_by_default"), [("/staff", "2026-11-01"), ("/staff/books", "2026-06-01")]
)
async def test_a_report_page_s_period_defaults_to_a_month_or_about_half_a_year(
    shop: Shop, path: str, first_by_default: str
) -> None:
    """Without `from`, the dashboard shows the 30 days to `to` and the books the months from
    about six months (180 days) before it; without `to`, `to` is today."""
    client = shop.client
    await _sign_in(client)
    community = {"community_id": shop.world.community_id}

    def period(html: str) -> tuple[str, str]:
        first = re.search(r'name="from" value="([^"]*)"', html)
        last = re.search(r'name="to" value="([^"]*)"', html)
        assert first, html
        assert last, html
        return first.group(1), last.group(1)

    given_to = await client.get(path, params=community | {"to": "2026-11-30"})
    assert period(given_to.text) == (first_by_default, "2026-11-30")
    given_both = await client.get(
        path, params=community | {"from": "2026-10-02", "to": "2026-11-30"}
    )
    assert period(given_both.text) == ("2026-10-02", "2026-11-30")
    neither = period((await client.get(path, params=community)).text)
    today = local_day(datetime.now(UTC)).isoformat()
    assert neither == (period((await client.get(path, params=community | {"to": today})).text))
    assert neither[1] == today


async def test_the_books_page_sets_a_cost_and_a_threshold(shop: Shop) -> None:
    client = shop.client
    await _sign_in(client)
    page = await client.get("/staff/books", params=_params(shop))
    event_id = re.search(r'name="event_id" value="([^"]+)"', page.text)
    assert event_id
    form = {
        CSRF_FIELD: csrf_from(page.text),
        "event_id": event_id.group(1),
        "community_id": str(shop.world.community_id),
        "cost_yuan": "3.5",
        "threshold": "1",
        "from": shop.first,
        "to": shop.last,
    }
    path = f"/staff/books/rewards/{shop.reward_id}"
    for _ in range(2):  # a resend replays the same writes
        done = await client.post(path, data=form, follow_redirects=False)
        assert done.status_code == 303, done.text
    after = await client.get("/staff/books", params=_params(shop))
    assert "¥3.50" in after.text
    assert 'class="reorder"' not in after.text
    costs = await client.get(f"/api/v1/rewards/{shop.reward_id}/costs", headers=shop.admin)
    assert [c["cost_fen"] for c in costs.json()] == [250, 350]
    refused = await client.post(path, data=form | {"cost_yuan": "-1", "event_id": new_event_id()})
    assert refused.status_code == 400

"""The public boards expose no personal data: every leaderboard (each board, period and
scope) and every red/black list, read without a token and with each role's token, never
contains a room number, a username, a volunteer's full or given name, nor a card or point
code; household labels show the building and unit with the room masked, volunteer labels the
first character of the name only.

The world (tests/api/security_world.py) gets distinctive rooms, names and usernames, and
enough activity on 2026-11-24 that every board has rows: grades (20 in each compound of the
first community, for the red/black list), weigh-ins, drop-offs and volunteer hours.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from ledger.domain.access import Role
from ledger.domain.leaderboard import REDBLACK_MIN_GRADED, Board, Period
from tests.api.conftest import created
from tests.api.security_world import SCOPES, Estate, build_estate, frozen_app_clock

ROOMS = {"own": "A9917", "other_household": "B9928", "other_compound": "C9939"}
ROOMS["other_community"] = "D9946"
VOLUNTEER_NAMES = {"v1": "欧阳秀英", "v2": "司马振华", "v3": "上官婉儿"}
USERNAMES = {
    Role.RESIDENT: "zhang.xiuying.b9917",
    Role.VOLUNTEER: "ouyang.xiuying.vol",
    Role.INSPECTOR: "wang.jianguo.insp",
    Role.CLERK: "li.guifang.clerk",
    Role.COORDINATOR: "chen.meiling.coord",
}
HOUSEHOLD_LABEL = re.compile(r"\d+幢\d+单元\*+室")
VOLUNTEER_LABEL = re.compile(r".\*+")
COMPOUND_BOARDS = (Board.HOUSEHOLDS, Board.BUILDINGS)
ITEM_FIELDS = {"rank", "id", "label", "value", "numerator", "denominator"}


@pytest.fixture
async def busy(admin_user: None, settings: Settings) -> AsyncIterator[Estate]:
    clock = frozen_app_clock()
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        estate = await build_estate(
            client, clock, rooms=ROOMS, volunteer_names=VOLUNTEER_NAMES, usernames=USERNAMES
        )
        await _activity(estate)
        yield estate


async def _activity(estate: Estate) -> None:
    client = estate.client
    for scope, site in estate.sites.items():
        grades = REDBLACK_MIN_GRADED if scope in ("own", "other_compound") else 2
        for n in range(grades):
            body = {
                "household_token": site.card_token,
                "point_token": site.point_token,
                "stream": ("kitchen", "recyclable", "hazardous", "other")[n % 4],
                "grade": "good" if n % 3 else "poor",
            }
            await created(client, estate.inspector_everywhere, "/api/v1/inspections", body)
        weighin = {"household_token": site.card_token, "material": "paper", "grams": 3000}
        await created(client, estate.clerk_everywhere, "/api/v1/weighins", weighin)
        await created(client, site.resident, "/api/v1/dropoffs", {"point_token": site.point_token})
    for scope in SCOPES:
        volunteer = estate.volunteers[scope]
        site = estate.sites[scope]
        backfill = {
            "volunteer_id": volunteer.volunteer_id,
            "compound_id": site.compound_id,
            "day": "2026-11-24",
            "minutes": 90,
            "note": "签到表",
        }
        await created(client, estate.admin, "/api/v1/shifts:backfill", backfill)


def _secrets(estate: Estate) -> list[str]:
    names = list(VOLUNTEER_NAMES.values())
    given_names = [name[2:] for name in names] + [name[1:] for name in names]
    codes = [code for site in estate.sites.values() for code in (site.card_token, site.point_token)]
    return [*ROOMS.values(), *USERNAMES.values(), *names, *given_names, *codes]


async def _public_replies(estate: Estate) -> list[tuple[str, dict[str, Any], Any]]:
    """Every board, period and scope, and the red/black list of each community and of the
    two halves of the month, as nobody."""
    sites = list(estate.sites.values())
    compounds = sorted({site.compound_id for site in sites})
    communities = sorted({site.community_id for site in sites})
    requests: list[tuple[str, dict[str, Any]]] = []
    for board in Board:
        for period in Period:
            for scope_id in compounds if board in COMPOUND_BOARDS else communities:
                params = {"board": board.value, "period": period.value, "scope_id": scope_id}
                requests.append(("/api/v1/leaderboards", params | {"limit": 100}))
    for community_id in communities:
        for half in (None, "2026-11-1", "2026-11-2"):
            params = {"community_id": community_id} | ({"half_month": half} if half else {})
            requests.append(("/api/v1/leaderboards/redblack", params))
    replies = []
    for path, params in requests:
        response = await estate.client.get(path, params=params)
        assert response.status_code == 200, (path, params, response.text)
        replies.append((path, params, response))
    return replies


async def test_public_boards_never_show_rooms_usernames_names_or_codes(busy: Estate) -> None:
    replies = await _public_replies(busy)
    secrets = _secrets(busy)
    leaks = [
        f"{secret!r} in {path} {params}"
        for path, params, response in replies
        for secret in secrets
        if secret in response.text or secret in json.dumps(response.json(), ensure_ascii=False)
    ]
    assert leaks == [], "\n".join(leaks)


async def test_public_labels_mask_rooms_and_names_and_every_board_has_rows(busy: Estate) -> None:
    replies = await _public_replies(busy)
    rows: dict[str, int] = {}
    for path, params, response in replies:
        body = response.json()
        if path.endswith("redblack"):
            items = body["red"] + body["black"]
            rows["redblack"] = rows.get("redblack", 0) + len(items)
            assert all(set(item) <= ITEM_FIELDS for item in items), items
            continue
        board = params["board"]
        rows[board] = rows.get(board, 0) + len(body["items"])
        for item in body["items"]:
            assert set(item) <= ITEM_FIELDS, item
            if board == Board.HOUSEHOLDS:
                assert HOUSEHOLD_LABEL.fullmatch(item["label"]), item
            if board == Board.VOLUNTEERS_HOURS:
                assert VOLUNTEER_LABEL.fullmatch(item["label"]), item
    assert all(rows.get(board.value, 0) > 0 for board in Board), rows
    assert rows["redblack"] > 0, rows


async def test_the_boards_say_the_same_to_every_role_as_to_nobody(busy: Estate) -> None:
    params = {"board": "households", "period": "all", "scope_id": busy.sites["own"].compound_id}
    anonymous = await busy.client.get("/api/v1/leaderboards", params=params)
    assert anonymous.json()["items"], anonymous.text
    for role in Role:
        signed_in = await busy.client.get(
            "/api/v1/leaderboards", params=params, headers=busy.callers[role]
        )
        assert signed_in.json() == anonymous.json(), role

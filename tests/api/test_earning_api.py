"""Earning through HTTP: grades, drop-offs, weigh-ins, shifts, appeals, rules, offline batches.

The app's clock is frozen (its Services are built with the test's clock), so windows, shift
lengths and appeal deadlines are exact; sign-in tokens still use real time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from httpx import Response
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from ledger.domain.access import Role
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
    sign_in,
)
from tests.factories import FrozenClock
from tests.integration.earning_helpers import hangzhou

pytestmark = pytest.mark.pgbouncer  # also run through PgBouncer (Makefile)

Client = AsyncTestClient[Any]


@dataclass(frozen=True)
class Town:
    client: Client
    clock: FrozenClock
    admin: Headers
    world: World
    point: dict[str, Any]  # open 07:00-09:00 and 18:00-20:00
    anytime: dict[str, Any]  # no windows: open all day
    post: dict[str, Any]
    other_post: dict[str, Any]
    volunteer: dict[str, Any]
    inspector: Headers
    resident: Headers
    clerk: Headers
    coordinator: Headers
    volunteer_member: Headers

    async def post_json(self, path: str, who: Headers, body: dict[str, Any]) -> Response:
        return await self.client.post(path, json=body, headers=who)

    async def balance(self, account_id: int) -> int:
        response = await self.client.get(f"/api/v1/accounts/{account_id}", headers=self.admin)
        assert response.status_code == 200, response.text
        points: int = response.json()["balance_points"]
        return points

    async def entry_count(self, account_id: int) -> int:
        response = await self.client.get(
            f"/api/v1/accounts/{account_id}/entries?limit=500", headers=self.admin
        )
        assert response.status_code == 200, response.text
        return len(response.json()["items"])


@pytest.fixture
async def town(admin_user: None, settings: Settings) -> AsyncIterator[Town]:
    clock = FrozenClock(hangzhou(24, 20))
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        admin = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
        world = await make_world(client, admin)
        compound = world.compound_id
        point = await created(
            client,
            admin,
            "/api/v1/points",
            {"compound_id": compound, "name": "1号点", "windows": ["07:00-09:00", "18:00-20:00"]},
        )
        anytime = await created(
            client, admin, "/api/v1/points", {"compound_id": compound, "name": "全天点"}
        )
        post = await created(
            client, admin, "/api/v1/posts", {"compound_id": compound, "name": "东门岗"}
        )
        other_post = await created(
            client, admin, "/api/v1/posts", {"compound_id": compound, "name": "西门岗"}
        )
        volunteer = await created(
            client,
            admin,
            "/api/v1/volunteers",
            {"community_id": world.community_id, "name": "朱秀娟"},
        )
        scope: dict[str, Any] = {"compound_ids": [compound]}
        yield Town(
            client=client,
            clock=clock,
            admin=admin,
            world=world,
            point=point,
            anytime=anytime,
            post=post,
            other_post=other_post,
            volunteer=volunteer,
            inspector=await make_user(client, admin, Role.INSPECTOR, **scope),
            resident=await make_user(client, admin, Role.RESIDENT, household_id=world.household_id),
            clerk=await make_user(client, admin, Role.CLERK, **scope),
            coordinator=await make_user(client, admin, Role.COORDINATOR, **scope),
            volunteer_member=await make_user(
                client, admin, Role.VOLUNTEER, volunteer_id=volunteer["id"]
            ),
        )


def inspection(
    town: Town, stream: str = "kitchen", grade: str = "good", **extra: Any
) -> dict[str, Any]:
    return {
        "event_id": new_event_id(),
        "household_token": town.world.card_token,
        "point_token": town.point["token"],
        "stream": stream,
        "grade": grade,
        **extra,
    }


# --- grades, drop-offs, weigh-ins ------------------------------------------------------------


async def test_an_inspection_is_graded_replayed_and_capped(town: Town) -> None:
    town.clock.moment = hangzhou(25, 7, 30)
    body = inspection(town, reasons=[], photo_ref="photos/2026-11-25/1.jpg")
    first = await town.post_json("/api/v1/inspections", town.inspector, body)
    assert first.status_code == 201, first.text
    reply = first.json()
    assert reply["points_awarded"] == 10
    assert reply["balance_points"] == 10
    assert isinstance(reply["inspection_id"], int)
    assert isinstance(reply["entry_id"], int)
    assert (reply["scored"], reply["capped"]) == (True, False)

    again = await town.post_json("/api/v1/inspections", town.inspector, body)
    assert (again.status_code, again.json()) == (201, reply)
    assert_error(
        await town.post_json("/api/v1/inspections", town.inspector, body | {"grade": "fair"}),
        409,
        "idempotency_conflict",
    )

    for stream in ("recyclable", "hazardous"):
        response = await town.post_json(
            "/api/v1/inspections", town.inspector, inspection(town, stream)
        )
        assert response.status_code == 201, response.text
    capped = await town.post_json("/api/v1/inspections", town.inspector, inspection(town, "other"))
    assert capped.status_code == 201
    assert capped.json()["points_awarded"] == 0
    assert capped.json()["entry_id"] is None
    assert capped.json()["capped"] is True
    assert "cap" in capped.json()["message"]
    assert await town.balance(town.world.account_id) == 30


async def test_inspection_refusals_over_http(town: Town) -> None:
    stranger = await make_user(town.client, town.admin, Role.INSPECTOR)
    assert_error(
        await town.post_json("/api/v1/inspections", stranger, inspection(town)), 403, "out_of_scope"
    )
    assert_error(
        await town.post_json("/api/v1/inspections", town.resident, inspection(town)),
        403,
        "forbidden",
    )
    bad = assert_error(
        await town.post_json("/api/v1/inspections", town.inspector, inspection(town, "glass")),
        400,
        "validation_error",
    )
    assert bad["field"] == "stream"
    bad = assert_error(
        await town.post_json(
            "/api/v1/inspections", town.inspector, inspection(town, reasons=["Wrong Bin"])
        ),
        400,
        "validation_error",
    )
    assert bad["field"].startswith("reasons")
    wrong_kind = inspection(town) | {"household_token": town.post["token"]}
    assert_error(
        await town.post_json("/api/v1/inspections", town.inspector, wrong_kind),
        422,
        "code_wrong_kind",
    )
    forged = inspection(town) | {"household_token": town.world.card_token[:-3] + "abc"}
    assert_error(
        await town.post_json("/api/v1/inspections", town.inspector, forged), 422, "code_forged"
    )
    assert await town.balance(town.world.account_id) == 0


async def test_dropoffs_over_http(town: Town) -> None:
    town.clock.moment = hangzhou(25, 6, 59)
    early = {"event_id": new_event_id(), "point_token": town.point["token"]}
    refused = assert_error(
        await town.post_json("/api/v1/dropoffs", town.resident, early), 422, "outside_window"
    )
    assert refused["windows"] == "07:00-09:00, 18:00-20:00"
    town.clock.moment = hangzhou(25, 7, 0)
    # A refusal is final for its event_id, even once the window opens.
    assert_error(
        await town.post_json("/api/v1/dropoffs", town.resident, early), 422, "outside_window"
    )
    body = {"event_id": new_event_id(), "point_token": town.point["token"]}
    first = await town.post_json("/api/v1/dropoffs", town.resident, body)
    assert first.status_code == 201, first.text
    assert first.json() == {
        "dropoff_id": first.json()["dropoff_id"],
        "points_awarded": 0,
        "balance_points": 0,
        "repeat": False,
    }
    repeat = await town.post_json(
        "/api/v1/dropoffs",
        town.resident,
        {"event_id": new_event_id(), "point_token": town.point["token"]},
    )
    assert repeat.status_code == 201
    assert repeat.json()["repeat"] is True
    assert repeat.json()["dropoff_id"] == first.json()["dropoff_id"]
    assert_error(await town.post_json("/api/v1/dropoffs", town.inspector, body), 403, "forbidden")


async def test_weighins_over_http(town: Town) -> None:
    body = {
        "event_id": new_event_id(),
        "household_token": town.world.card_token,
        "material": "paper",
        "grams": 1550,
    }
    response = await town.post_json("/api/v1/weighins", town.clerk, body)
    assert response.status_code == 201, response.text
    assert response.json()["points_awarded"] == 155
    assert response.json()["balance_points"] == 155
    assert response.json()["capped"] is False
    for grams in (30_001, 50_000, 0):
        bad = assert_error(
            await town.post_json(
                "/api/v1/weighins", town.clerk, body | {"event_id": new_event_id(), "grams": grams}
            ),
            400,
            "validation_error",
        )
        assert bad["field"] == "grams"
    bad = assert_error(
        await town.post_json(
            "/api/v1/weighins", town.clerk, body | {"event_id": new_event_id(), "material": "wood"}
        ),
        400,
        "validation_error",
    )
    assert bad["field"] == "material"
    assert await town.balance(town.world.account_id) == 155


async def test_a_clerk_mints_no_more_than_the_daily_weighin_cap_and_never_at_home(
    town: Town,
) -> None:
    """Issue 12, item 1: a clerk living in the building credited it 10,000 points in two
    requests. Now: 403 for their own building, and 300 weigh-in points a household a day."""
    home = await created(
        town.client,
        town.admin,
        "/api/v1/households",
        {"compound_id": town.world.compound_id, "building": "3", "unit": "1", "room": "502"},
    )
    scope: dict[str, Any] = {"compound_ids": [town.world.compound_id]}
    clerk_at_home = await make_user(
        town.client, town.admin, Role.CLERK, household_id=home["id"], **scope
    )

    def metal(card: str, grams: int = 30_000) -> dict[str, Any]:
        return {
            "event_id": new_event_id(),
            "household_token": card,
            "material": "metal",
            "grams": grams,
        }

    for card in (home["card_token"], town.world.card_token):  # their home, a neighbour
        refused = await town.post_json("/api/v1/weighins", clerk_at_home, metal(card))
        assert_error(refused, 403, "out_of_scope")
    assert await town.balance(home["account_id"]) == 0

    first = await town.post_json("/api/v1/weighins", town.clerk, metal(home["card_token"]))
    assert first.status_code == 201, first.text
    assert (first.json()["points_awarded"], first.json()["capped"]) == (300, True)
    second = await town.post_json("/api/v1/weighins", town.clerk, metal(home["card_token"]))
    assert second.status_code == 201, second.text
    reply = second.json()
    assert (reply["points_awarded"], reply["entry_id"], reply["capped"]) == (0, None, True)
    assert reply["balance_points"] == 300
    batch = {"events": [{"type": "weighin", **metal(home["card_token"], 1_000)}]}
    sent = await town.post_json("/api/v1/events:batch", town.clerk, batch)
    (item,) = sent.json()["results"]
    assert (item["status"], item["body"]["points_awarded"], item["body"]["capped"]) == (
        201,
        0,
        True,
    )
    assert await town.balance(home["account_id"]) == 300
    town.clock.advance(days=1)
    next_day = await town.post_json("/api/v1/weighins", town.clerk, metal(home["card_token"], 500))
    assert (next_day.json()["points_awarded"], next_day.json()["capped"]) == (50, False)


async def test_the_weighin_cap_and_weight_limit_are_rules(town: Town) -> None:
    current = await town.client.get(
        f"/api/v1/communities/{town.world.community_id}/rules", headers=town.admin
    )
    rules = current.json()["rules"]
    assert (rules["weighin_daily_cap_points"], rules["weighin_grams_max"]) == (300, 30_000)
    changed = await put_rules(town, {"weighin_daily_cap_points": 120, "weighin_grams_max": 2_000})
    assert changed.status_code == 200, changed.text
    body = {"household_token": town.world.card_token, "material": "paper"}
    weighed = await town.post_json(
        "/api/v1/weighins", town.clerk, body | {"event_id": new_event_id(), "grams": 2_000}
    )
    assert (weighed.json()["points_awarded"], weighed.json()["capped"]) == (120, True)
    too_heavy = await town.post_json(
        "/api/v1/weighins", town.clerk, body | {"event_id": new_event_id(), "grams": 2_001}
    )
    assert assert_error(too_heavy, 400, "validation_error")["field"] == "grams"


# --- shifts ----------------------------------------------------------------------------------


async def shift(town: Town, minutes: int, post: dict[str, Any] | None = None) -> int:
    token = (post or town.post)["token"]
    started = await town.post_json(
        "/api/v1/shifts/check-in",
        town.volunteer_member,
        {"event_id": new_event_id(), "post_token": token},
    )
    assert started.status_code == 201, started.text
    town.clock.advance(minutes=minutes)
    ended = await town.post_json(
        "/api/v1/shifts/check-out",
        town.volunteer_member,
        {"event_id": new_event_id(), "post_token": token},
    )
    assert ended.status_code == 200, ended.text
    shift_id: int = ended.json()["shift_id"]
    assert shift_id == started.json()["shift_id"]
    return shift_id


async def test_check_in_and_out_over_http(town: Town) -> None:
    town.clock.moment = hangzhou(25, 8)
    member = town.volunteer_member
    body = {"event_id": new_event_id(), "post_token": town.post["token"]}
    started = await town.post_json("/api/v1/shifts/check-in", member, body)
    assert started.status_code == 201, started.text
    assert started.json()["started_at"] == hangzhou(25, 8).isoformat()
    again = await town.post_json("/api/v1/shifts/check-in", member, body)
    assert (again.status_code, again.json()) == (201, started.json())
    busy = assert_error(
        await town.post_json(
            "/api/v1/shifts/check-in",
            member,
            {"event_id": new_event_id(), "post_token": town.other_post["token"]},
        ),
        409,
        "shift_open",
    )
    assert busy["shift_id"] == started.json()["shift_id"]
    town.clock.advance(hours=1, minutes=44)
    assert_error(
        await town.post_json(
            "/api/v1/shifts/check-out",
            member,
            {"event_id": new_event_id(), "post_token": town.other_post["token"]},
        ),
        409,
        "no_open_shift",
    )
    ended = await town.post_json(
        "/api/v1/shifts/check-out",
        member,
        {"event_id": new_event_id(), "post_token": town.post["token"]},
    )
    assert ended.status_code == 200, ended.text
    assert ended.json() == {
        "shift_id": started.json()["shift_id"],
        "minutes": 90,
        "status": "pending",
        "flagged": False,
    }
    assert_error(
        await town.post_json(
            "/api/v1/shifts/check-out",
            member,
            {"event_id": new_event_id(), "post_token": town.post["token"]},
        ),
        409,
        "no_open_shift",
    )
    assert_error(
        await town.post_json(
            "/api/v1/shifts/check-in",
            town.resident,
            {"event_id": new_event_id(), "post_token": town.post["token"]},
        ),
        403,
        "forbidden",
    )


async def test_nobody_approves_or_back_fills_their_own_hours_or_more_than_8_h_a_day(
    town: Town,
) -> None:
    """Issue 12, item 6: a coordinator back-filled 72 h of their own in one day."""
    town.clock.moment = hangzhou(25, 8)
    scope: dict[str, Any] = {"compound_ids": [town.world.compound_id]}
    volunteer_id = town.volunteer["id"]
    coordinating_volunteer = await make_user(
        town.client, town.admin, Role.COORDINATOR, volunteer_id=volunteer_id, **scope
    )

    def hours(minutes: int, day: str = "2026-11-25") -> dict[str, Any]:
        return {
            "event_id": new_event_id(),
            "volunteer_id": volunteer_id,
            "compound_id": town.world.compound_id,
            "day": day,
            "minutes": minutes,
            "note": "签到表",
        }

    own = await town.post_json("/api/v1/shifts:backfill", coordinating_volunteer, hours(60))
    assert_error(own, 403, "own_record")
    pending = await shift(town, 120)
    approve_own = await town.post_json(
        f"/api/v1/shifts/{pending}/approve", coordinating_volunteer, {"event_id": new_event_id()}
    )
    assert_error(approve_own, 403, "own_record")

    too_many = await town.post_json("/api/v1/shifts:backfill", town.coordinator, hours(1440))
    assert assert_error(too_many, 422, "too_many_minutes")["minutes_left"] == 480
    filled = await town.post_json("/api/v1/shifts:backfill", town.coordinator, hours(420))
    assert filled.status_code == 201, filled.text
    over = await town.post_json(
        f"/api/v1/shifts/{pending}/approve", town.coordinator, {"event_id": new_event_id()}
    )
    assert assert_error(over, 422, "too_many_minutes")["minutes_left"] == 60
    another_day = await town.post_json(
        "/api/v1/shifts:backfill", town.coordinator, hours(480, "2026-11-24")
    )
    assert another_day.status_code == 201, another_day.text
    served = await town.client.get(f"/api/v1/volunteers/{volunteer_id}/hours", headers=town.admin)
    assert served.status_code == 200, served.text
    assert (served.json()["approved_minutes"], served.json()["backfilled_minutes"]) == (0, 900)


async def test_shifts_are_approved_one_at_a_time_or_in_bulk(town: Town) -> None:
    town.clock.moment = hangzhou(25, 8)
    one = await shift(town, 60)
    two = await shift(town, 45, town.other_post)
    three = await shift(town, 120)
    four = await shift(town, 30)

    approve = await town.post_json(
        f"/api/v1/shifts/{one}/approve", town.coordinator, {"event_id": new_event_id()}
    )
    assert approve.status_code == 200, approve.text
    assert approve.json()["shift_id"] == one
    assert approve.json()["status"] == "approved"
    assert approve.json()["points_awarded"] == 10
    assert isinstance(approve.json()["entry_id"], int)
    assert_error(
        await town.post_json(
            f"/api/v1/shifts/{one}/approve", town.coordinator, {"event_id": new_event_id()}
        ),
        409,
        "already_decided",
    )
    assert_error(
        await town.post_json(
            f"/api/v1/shifts/{two}/approve", town.volunteer_member, {"event_id": new_event_id()}
        ),
        403,
        "forbidden",
    )

    # All or nothing: one already decided refuses the whole bulk decision.
    mixed = {"event_id": new_event_id(), "shift_ids": [two, one], "outcome": "approve"}
    assert_error(
        await town.post_json("/api/v1/shifts:decide", town.coordinator, mixed),
        409,
        "already_decided",
    )
    bulk = {"event_id": new_event_id(), "shift_ids": [two, three], "outcome": "approve"}
    decided = await town.post_json("/api/v1/shifts:decide", town.coordinator, bulk)
    assert decided.status_code == 200, decided.text
    assert [
        (r["shift_id"], r["status"], r["points_awarded"]) for r in decided.json()["results"]
    ] == [
        (two, "approved", 7),
        (three, "approved", 20),
    ]
    again = await town.post_json("/api/v1/shifts:decide", town.coordinator, bulk)
    assert (again.status_code, again.json()) == (200, decided.json())
    declined = await town.post_json(
        f"/api/v1/shifts/{four}/decline", town.coordinator, {"event_id": new_event_id()}
    )
    assert declined.status_code == 200
    assert (declined.json()["status"], declined.json()["points_awarded"]) == ("declined", 0)

    bad = assert_error(
        await town.post_json(
            "/api/v1/shifts:decide",
            town.coordinator,
            {"event_id": new_event_id(), "shift_ids": [], "outcome": "approve"},
        ),
        400,
        "validation_error",
    )
    assert bad["field"] == "shift_ids"
    assert await town.balance(town.volunteer["account_id"]) == 37
    hours = await town.client.get(
        f"/api/v1/volunteers/{town.volunteer['id']}/hours", headers=town.volunteer_member
    )
    assert hours.status_code == 200, hours.text
    assert hours.json()["approved_minutes"] == 60 + 45 + 120
    assert hours.json()["star_level"] == 0


# --- appeals ---------------------------------------------------------------------------------


async def test_an_appeal_is_opened_once_and_decided_over_http(town: Town) -> None:
    graded = await town.post_json(
        "/api/v1/inspections", town.inspector, inspection(town, grade="fair")
    )
    assert graded.status_code == 201
    inspection_id = graded.json()["inspection_id"]
    path = f"/api/v1/inspections/{inspection_id}/appeal"
    opened = await town.post_json(
        path, town.resident, {"event_id": new_event_id(), "reason": "分对了"}
    )
    assert opened.status_code == 201, opened.text
    assert opened.json() == {"appeal_id": opened.json()["appeal_id"], "status": "open"}
    assert_error(
        await town.post_json(path, town.resident, {"event_id": new_event_id(), "reason": "again"}),
        409,
        "appeal_not_allowed",
    )
    assert_error(
        await town.post_json(path, town.inspector, {"event_id": new_event_id(), "reason": "x"}),
        403,
        "forbidden",
    )
    decide = f"/api/v1/appeals/{opened.json()['appeal_id']}/decide"
    missing = assert_error(
        await town.post_json(
            decide, town.coordinator, {"event_id": new_event_id(), "outcome": "upheld"}
        ),
        400,
        "validation_error",
    )
    assert missing["field"] == "new_grade"
    town.clock.advance(hours=2)
    upheld = await town.post_json(
        decide,
        town.coordinator,
        {"event_id": new_event_id(), "outcome": "upheld", "new_grade": "good"},
    )
    assert upheld.status_code == 200, upheld.text
    reply = upheld.json()
    assert reply["status"] == "upheld"
    assert reply["new_grade"] == "good"
    assert reply["points_awarded"] == 10
    assert reply["decided_at"] == town.clock.now().isoformat()
    assert reply["decided_by"].startswith("coordinator-")
    assert isinstance(reply["credit_entry_id"], int)
    assert isinstance(reply["reversal_entry_id"], int)
    assert await town.balance(town.world.account_id) == 10
    assert_error(
        await town.post_json(
            decide, town.coordinator, {"event_id": new_event_id(), "outcome": "rejected"}
        ),
        409,
        "already_decided",
    )

    late = await town.post_json("/api/v1/inspections", town.inspector, inspection(town, "other"))
    town.clock.advance(days=8)
    assert_error(
        await town.post_json(
            f"/api/v1/inspections/{late.json()['inspection_id']}/appeal",
            town.resident,
            {"event_id": new_event_id(), "reason": "太迟了"},
        ),
        409,
        "appeal_not_allowed",
    )


async def test_a_rejected_appeal_moves_nothing_over_http(town: Town) -> None:
    graded = await town.post_json(
        "/api/v1/inspections", town.inspector, inspection(town, grade="fair")
    )
    path = f"/api/v1/inspections/{graded.json()['inspection_id']}/appeal"
    opened = await town.post_json(path, town.resident, {"event_id": new_event_id(), "reason": "?"})
    entries_before = await town.entry_count(town.world.account_id)
    rejected = await town.post_json(
        f"/api/v1/appeals/{opened.json()['appeal_id']}/decide",
        town.coordinator,
        {"event_id": new_event_id(), "outcome": "rejected"},
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["credit_entry_id"] is None
    assert await town.entry_count(town.world.account_id) == entries_before
    assert await town.balance(town.world.account_id) == 5


# --- rules -----------------------------------------------------------------------------------


async def put_rules(
    town: Town, rules: object, effective_from: str | None = None, who: Headers | None = None
) -> Response:
    return await town.client.put(
        f"/api/v1/communities/{town.world.community_id}/rules",
        json={
            "event_id": new_event_id(),
            "effective_from": effective_from or town.clock.now().isoformat(),
            "rules": rules,
        },
        headers=who or town.admin,
    )


async def test_rules_are_set_over_http_and_change_future_points(town: Town) -> None:
    current = await town.client.get(
        f"/api/v1/communities/{town.world.community_id}/rules", headers=town.admin
    )
    assert current.status_code == 200, current.text
    assert current.json()["version"] == 1
    assert current.json()["rules"]["grade_points"] == {"good": 10, "fair": 5, "poor": 0}

    response = await put_rules(town, {"grade_points": {"good": 12, "fair": 6, "poor": 0}})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    assert response.json()["rules"]["grade_points"]["good"] == 12
    assert response.json()["rules"]["grading_daily_cap_points"] == 30
    graded = await town.post_json("/api/v1/inspections", town.inspector, inspection(town))
    assert graded.json()["points_awarded"] == 12
    entries = await town.client.get(
        f"/api/v1/accounts/{town.world.account_id}/entries", headers=town.admin
    )
    assert entries.json()["items"][0]["rule_version"] == 2


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"grade_points": {"good": -1, "fair": 5, "poor": 0}}, "rules.grade_points.good"),
        ({"grade_points": {"good": 10, "fair": 5}}, "rules.grade_points.poor"),
        ({"grade_points": {"good": True, "fair": 5, "poor": 0}}, "rules.grade_points.good"),
        ({"bonus": 1}, "rules.bonus"),
        ({"grading_daily_cap_points": "30"}, "rules.grading_daily_cap_points"),
        ({"weighin_daily_cap_points": -1}, "rules.weighin_daily_cap_points"),
        ({"weighin_daily_cap_points": 1.5}, "rules.weighin_daily_cap_points"),
        ({"weighin_grams_max": 0}, "rules.weighin_grams_max"),
        ({"weighin_points_per_kg": {"paper": 1}}, "rules.weighin_points_per_kg.glass"),
        (
            {"shift_minutes_unit": 15, "shift_daily_minutes_max": 470},
            "rules.shift_daily_minutes_max",
        ),
        ([1, 2], "rules"),
    ],
)
async def test_bad_rules_are_400_naming_the_field(town: Town, rules: object, field: str) -> None:
    body = assert_error(await put_rules(town, rules), 400, "validation_error")
    assert body["field"] == field
    current = await town.client.get(
        f"/api/v1/communities/{town.world.community_id}/rules", headers=town.admin
    )
    assert current.json()["version"] == 1


async def test_rules_take_effect_going_forward_only(town: Town) -> None:
    yesterday = (town.clock.now() - timedelta(days=1)).isoformat()
    assert_error(await put_rules(town, {}, yesterday), 422, "rule_not_allowed")
    for text in ("tomorrow", "2026-12-01T00:00:00"):
        body = assert_error(await put_rules(town, {}, text), 400, "validation_error")
        assert body["field"] == "effective_from"
    assert_error(await put_rules(town, {}, who=town.coordinator), 403, "forbidden")
    later = await put_rules(town, {"dropoff_points": 1}, "2026-12-01T00:00:00+08:00")
    assert later.status_code == 200, later.text


# --- offline batches -------------------------------------------------------------------------


async def batch(town: Town, who: Headers, events: list[Any]) -> Response:
    return await town.client.post("/api/v1/events:batch", json={"events": events}, headers=who)


async def test_a_residents_batch_mixes_good_bad_refused_and_repeated_events(town: Town) -> None:
    town.clock.moment = hangzhou(25, 6)
    assert (await put_rules(town, {"dropoff_points": 1})).status_code == 200
    town.clock.moment = hangzhou(25, 7, 30)
    point, anytime = town.point["token"], town.anytime["token"]
    good = {"type": "dropoff", "event_id": "drop-1", "point_token": point}
    events: list[Any] = [
        good,
        {
            "type": "dropoff",
            "event_id": "drop-2",
            "point_token": anytime,
        },  # same window? no: all day
        {"type": "dropoff", "event_id": "drop-3", "point_token": point},  # a repeat in the window
        good,  # the same event again
        {"type": "dropoff", "event_id": "drop-4"},  # no point_token
        {"type": "dropoff", "event_id": "drop-5", "point_token": point, "extra": 1},
        {"type": "teleport", "event_id": "drop-6", "point_token": point},
        {"event_id": "drop-7", "point_token": point},
        {"type": "inspection", **inspection(town), "event_id": "drop-8"},
        {
            "type": "weighin",
            "event_id": "drop-9",
            "household_token": town.world.card_token,
            "material": "paper",
            "grams": 100,
        },
        {"type": "dropoff", "event_id": "drop-1", "point_token": anytime},  # conflict
        {"type": "dropoff", "event_id": "bad id!", "point_token": point},
    ]
    first = await batch(town, town.resident, events)
    assert first.status_code == 200, first.text
    results = first.json()["results"]
    assert [r["event_id"] for r in results] == [
        "drop-1",
        "drop-2",
        "drop-3",
        "drop-1",
        "drop-4",
        "drop-5",
        "drop-6",
        "drop-7",
        "drop-8",
        "drop-9",
        "drop-1",
        "bad id!",
    ]
    assert [r["status"] for r in results] == [
        201,
        201,
        201,
        201,
        400,
        400,
        400,
        400,
        403,
        403,
        409,
        400,
    ]
    assert results[0]["body"]["repeat"] is False
    assert results[0]["body"]["points_awarded"] == 1
    assert results[1]["body"]["repeat"] is False  # the all-day point has its own "window"
    assert results[1]["body"]["balance_points"] == 2
    assert results[2]["body"]["repeat"] is True
    assert results[2]["body"]["dropoff_id"] == results[0]["body"]["dropoff_id"]
    assert results[3] == results[0]
    assert results[4]["body"]["code"] == "validation_error"
    assert results[4]["body"]["field"] == "point_token"
    assert results[5]["body"]["field"] == "extra"
    assert results[6]["body"]["field"] == "type"
    assert results[7]["body"]["field"] == "type"
    assert results[8]["body"]["code"] == "forbidden"
    assert results[10]["body"]["code"] == "idempotency_conflict"
    assert results[11]["body"]["field"] == "event_id"

    # Out of the window, the same kind of event is refused on its own.
    town.clock.moment = hangzhou(25, 9, 30)
    late = await batch(
        town,
        town.resident,
        [
            {"type": "dropoff", "event_id": "drop-10", "point_token": point},
            {"type": "dropoff", "event_id": "drop-11", "point_token": anytime},
        ],
    )
    assert [r["status"] for r in late.json()["results"]] == [422, 201]
    assert late.json()["results"][0]["body"]["code"] == "outside_window"
    assert late.json()["results"][1]["body"]["repeat"] is True

    # Resending both batches, later, changes nothing and answers the same.
    balance, count = (
        await town.balance(town.world.account_id),
        await town.entry_count(town.world.account_id),
    )
    assert (balance, count) == (2, 2)
    town.clock.moment = hangzhou(25, 18, 30)
    assert (await batch(town, town.resident, events)).json() == first.json()
    resent = await batch(
        town,
        town.resident,
        [
            {"type": "dropoff", "event_id": "drop-10", "point_token": point},
            {"type": "dropoff", "event_id": "drop-11", "point_token": anytime},
        ],
    )
    assert resent.json() == late.json()
    assert await town.balance(town.world.account_id) == balance
    assert await town.entry_count(town.world.account_id) == count


async def test_an_inspectors_batch_is_processed_in_order(town: Town) -> None:
    town.clock.moment = hangzhou(25, 7, 30)
    other_home = await created(
        town.client,
        town.admin,
        "/api/v1/households",
        {"compound_id": town.world.compound_id, "building": "4", "unit": "1", "room": "202"},
    )
    events: list[Any] = [
        {"type": "inspection", **inspection(town, stream)}
        for stream in ("kitchen", "recyclable", "hazardous", "other")
    ]
    events.append({"type": "inspection", **inspection(town, "kitchen")})  # a second kitchen grade
    events.append(
        {
            "type": "inspection",
            **inspection(town, "kitchen"),
            "household_token": other_home["card_token"],
        }
    )
    events.append({"type": "inspection", **inspection(town, "kitchen", "great")})
    events.append({"type": "inspection", **inspection(town), "household_token": "forged.token"})
    events.append(
        {"type": "dropoff", "event_id": new_event_id(), "point_token": town.point["token"]}
    )
    events.append(
        {"type": "check_in", "event_id": new_event_id(), "post_token": town.post["token"]}
    )
    first = await batch(town, town.inspector, events)
    assert first.status_code == 200, first.text
    results = first.json()["results"]
    assert [r["event_id"] for r in results] == [e["event_id"] for e in events]
    assert [r["status"] for r in results] == [201, 201, 201, 201, 201, 201, 400, 422, 403, 403]
    assert [r["body"].get("points_awarded") for r in results[:6]] == [10, 10, 10, 0, 0, 10]
    assert [r["body"].get("balance_points") for r in results[:6]] == [10, 20, 30, 30, 30, 10]
    assert results[6]["body"]["field"] == "grade"
    assert results[7]["body"]["code"] == "code_malformed"
    again = await batch(town, town.inspector, events)
    assert again.json() == first.json()
    assert await town.balance(town.world.account_id) == 30
    assert await town.balance(other_home["account_id"]) == 10


async def test_a_volunteers_batch_checks_in_and_out(town: Town) -> None:
    town.clock.moment = hangzhou(25, 8)
    token = town.post["token"]
    check_in = {"type": "check_in", "event_id": new_event_id(), "post_token": token}
    first = await batch(town, town.volunteer_member, [check_in])
    assert first.json()["results"][0]["status"] == 201
    town.clock.advance(minutes=50)
    events = [
        check_in,
        {"type": "check_in", "event_id": new_event_id(), "post_token": token},
        {"type": "check_out", "event_id": new_event_id(), "post_token": token},
        {"type": "check_out", "event_id": new_event_id(), "post_token": token},
    ]
    results = (await batch(town, town.volunteer_member, events)).json()["results"]
    assert [r["status"] for r in results] == [201, 409, 200, 409]
    assert results[0] == first.json()["results"][0]
    assert results[1]["body"]["code"] == "shift_open"
    assert (results[2]["body"]["minutes"], results[2]["body"]["status"]) == (45, "pending")
    assert results[3]["body"]["code"] == "no_open_shift"


async def test_a_batch_is_at_most_a_thousand_events(town: Town) -> None:
    event = {"type": "dropoff", "point_token": town.anytime["token"]}
    too_many = [event | {"event_id": f"e-{i}"} for i in range(1001)]
    body = assert_error(await batch(town, town.resident, too_many), 400, "validation_error")
    assert body["field"] == "events"
    assert_error(await batch(town, town.resident, []), 400, "validation_error")
    assert_error(await batch(town, town.coordinator, [event]), 403, "forbidden")
    assert await town.entry_count(town.world.account_id) == 0


async def test_a_thousand_events_are_taken(town: Town) -> None:
    town.clock.moment = hangzhou(25, 10)
    event = {"type": "dropoff", "point_token": town.anytime["token"]}
    events = [event | {"event_id": f"e-{i}"} for i in range(1000)]
    response = await batch(town, town.resident, events)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == 1000
    assert {r["status"] for r in results} == {201}
    assert [r["body"]["repeat"] for r in results[:2]] == [False, True]


async def test_an_item_that_is_not_an_object_fails_on_its_own(town: Town) -> None:
    town.clock.moment = hangzhou(25, 10)
    good = {"type": "dropoff", "event_id": new_event_id(), "point_token": town.anytime["token"]}
    response = await batch(town, town.resident, ["dropoff", good, 7])
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [400, 201, 400]
    assert results[0]["event_id"] is None

"""Issue 15, item 5: a resident's bin scan reaches the inspector at that bin.

A resident who scans a collection point's code (a drop-off) waits 30 minutes in the point's
queue (`GET /api/v1/points/{id}/queue`); the inspector grades them from it with `dropoff_id`
in place of the card's token — the same rules, caps, scope and idempotency as a card's grade,
one grade per drop-off and stream — and the household's balance shows the points at once.
The app's clock is frozen (the `town` fixture), so the 30 minutes are moved through by hand.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from ledger.domain.access import Role
from tests.api.conftest import assert_error, created, make_user, new_event_id
from tests.api.test_earning_api import Town, batch, town
from tests.integration.earning_helpers import hangzhou

pytestmark = pytest.mark.pgbouncer  # also run through PgBouncer (Makefile)

__all__ = ["town"]  # the fixture, used by name


async def drop_off(town: Town, point: dict[str, Any] | None = None) -> int:
    """The resident scans the point's code (by default the one open all day)."""
    body = {"event_id": new_event_id(), "point_token": (point or town.anytime)["token"]}
    response = await town.post_json("/api/v1/dropoffs", town.resident, body)
    assert response.status_code == 201, response.text
    dropoff_id: int = response.json()["dropoff_id"]
    return dropoff_id


async def queue(town: Town, who: dict[str, str] | None = None, point_id: int | None = None) -> Any:
    point_id = point_id or town.anytime["id"]
    return await town.client.get(f"/api/v1/points/{point_id}/queue", headers=who or town.inspector)


async def queued(town: Town) -> list[dict[str, Any]]:
    response = await queue(town)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def by_dropoff(
    town: Town, dropoff_id: int, stream: str = "kitchen", **extra: Any
) -> dict[str, Any]:
    return {
        "event_id": new_event_id(),
        "dropoff_id": dropoff_id,
        "point_token": town.anytime["token"],
        "stream": stream,
        "grade": "good",
        **extra,
    }


async def grade(town: Town, how: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One grading, alone or as an `events:batch` of one: its status and body."""
    if how == "single":
        response = await town.post_json("/api/v1/inspections", town.inspector, body)
        return response.status_code, response.json()
    response = await batch(town, town.inspector, [{"type": "inspection", **body}])
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["event_id"] == body["event_id"]
    return result["status"], result["body"]


async def resident_balance(town: Town) -> int:
    """What the resident's own phone reads."""
    response = await town.client.get(
        f"/api/v1/accounts/{town.world.account_id}", headers=town.resident
    )
    assert response.status_code == 200, response.text
    points: int = response.json()["balance_points"]
    return points


async def test_a_residents_drop_off_waits_30_minutes_in_the_points_queue(town: Town) -> None:
    town.clock.moment = hangzhou(25, 8)
    assert await queued(town) == []
    first = await drop_off(town)
    town.clock.advance(minutes=10)
    neighbour = await created(
        town.client,
        town.admin,
        "/api/v1/households",
        {"compound_id": town.world.compound_id, "building": "5", "unit": "1", "room": "102"},
    )
    neighbour_resident = await make_user(
        town.client, town.admin, Role.RESIDENT, household_id=neighbour["id"]
    )
    body = {"event_id": new_event_id(), "point_token": town.anytime["token"]}
    second = await town.post_json("/api/v1/dropoffs", neighbour_resident, body)
    assert second.status_code == 201, second.text

    items = await queued(town)
    assert [item["dropoff_id"] for item in items] == [first, second.json()["dropoff_id"]]
    assert [item["label"] for item in items] == ["3幢2单元301室", "5幢1单元102室"]
    assert items[0] | {"dropped_at": None} == {
        "dropoff_id": first,
        "household_id": town.world.household_id,
        "label": "3幢2单元301室",
        "building": "3",
        "unit": "2",
        "room": "301",
        "dropped_at": None,
        "graded": False,
        "graded_streams": [],
        "name": None,
    }
    assert items[0]["dropped_at"] == hangzhou(25, 8).isoformat()
    # Another point's queue is its own.
    other = await queue(town, point_id=town.point["id"])
    assert other.status_code == 200, other.text
    assert other.json()["items"] == []

    town.clock.moment = hangzhou(25, 8, 30)  # the first is exactly 30 minutes old
    assert (await queued(town))[0]["dropoff_id"] == first
    town.clock.moment = hangzhou(25, 8, 31)
    assert [item["dropoff_id"] for item in await queued(town)] == [second.json()["dropoff_id"]]
    town.clock.moment = hangzhou(25, 8, 41)
    assert await queued(town) == []


async def test_a_resident_of_another_compound_is_not_in_the_points_queue(town: Town) -> None:
    """The same community's other compound may use this bin (the drop-off counts as before),
    but its residents' addresses stay out of this compound's queue."""
    town.clock.moment = hangzhou(25, 8)
    yonder = await created(
        town.client,
        town.admin,
        "/api/v1/compounds",
        {"community_id": town.world.community_id, "name": "大关苑"},
    )
    household = await created(
        town.client,
        town.admin,
        "/api/v1/households",
        {"compound_id": yonder["id"], "building": "9", "unit": "1", "room": "901"},
    )
    visitor = await make_user(town.client, town.admin, Role.RESIDENT, household_id=household["id"])
    body = {"event_id": new_event_id(), "point_token": town.anytime["token"]}
    visiting = await town.post_json("/api/v1/dropoffs", visitor, body)
    assert visiting.status_code == 201, visiting.text
    own = await drop_off(town)
    items = await queued(town)
    assert [item["dropoff_id"] for item in items] == [own]
    assert all(item["household_id"] != household["id"] for item in items)
    admin_view = await queue(town, town.admin)
    assert [item["dropoff_id"] for item in admin_view.json()["items"]] == [own]
    assert "901" not in admin_view.text


async def test_the_queue_pages_oldest_first(town: Town) -> None:
    town.clock.moment = hangzhou(25, 8)
    ids = []
    for room in ("101", "102", "103"):
        household = await created(
            town.client,
            town.admin,
            "/api/v1/households",
            {"compound_id": town.world.compound_id, "building": "7", "unit": "1", "room": room},
        )
        resident = await make_user(
            town.client, town.admin, Role.RESIDENT, household_id=household["id"]
        )
        body = {"event_id": new_event_id(), "point_token": town.anytime["token"]}
        response = await town.post_json("/api/v1/dropoffs", resident, body)
        ids.append(response.json()["dropoff_id"])
    path = f"/api/v1/points/{town.anytime['id']}/queue?limit=2"
    page = (await town.client.get(path, headers=town.inspector)).json()
    assert [item["dropoff_id"] for item in page["items"]] == ids[:2]
    rest = await town.client.get(f"{path}&cursor={page['next_cursor']}", headers=town.inspector)
    assert [item["dropoff_id"] for item in rest.json()["items"]] == ids[2:]
    assert rest.json()["next_cursor"] is None


async def test_who_may_read_a_points_queue(town: Town) -> None:
    town.clock.moment = hangzhou(25, 8)
    await drop_off(town)
    for who in (town.inspector, town.coordinator, town.admin):
        response = await queue(town, who)
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) == 1
    for who in (town.resident, town.clerk, town.volunteer_member):
        assert_error(await queue(town, who), 403, "forbidden")
    elsewhere = await make_user(town.client, town.admin, Role.INSPECTOR, compound_ids=[])
    assert_error(await queue(town, elsewhere), 403, "out_of_scope")
    assert_error(await queue(town, point_id=999_999), 404, "not_found")
    assert (await town.client.get(f"/api/v1/points/{town.anytime['id']}/queue")).status_code == 401


@pytest.mark.parametrize("how", ["single", "batch"])
async def test_the_inspector_grades_a_drop_off_from_the_queue(town: Town, how: str) -> None:
    town.clock.moment = hangzhou(25, 8)
    dropoff_id = await drop_off(town)
    town.clock.advance(minutes=5)
    body = by_dropoff(town, dropoff_id, reasons=[])
    status, reply = await grade(town, how, body)
    assert status == 201, reply
    assert (reply["points_awarded"], reply["balance_points"], reply["scored"]) == (10, 10, True)
    # The resident's phone reads the new balance at once; the queue marks the grade.
    assert await resident_balance(town) == 10
    (item,) = await queued(town)
    assert (item["graded"], item["graded_streams"]) == (True, ["kitchen"])

    # The same event again replays it; the same id with other content is a conflict.
    assert await grade(town, how, body) == (201, reply)
    status, conflict = await grade(town, how, body | {"grade": "fair"})
    assert (status, conflict["code"]) == (409, "idempotency_conflict")
    # Another tap on the same stream (a new event) is refused, nothing recorded.
    status, again = await grade(town, how, by_dropoff(town, dropoff_id))
    assert (status, again["code"]) == (409, "already_graded")
    # Another stream of the same drop-off is graded, as a card's would be.
    status, other = await grade(town, how, by_dropoff(town, dropoff_id, "recyclable"))
    assert (status, other["points_awarded"]) == (201, 10)
    assert await resident_balance(town) == 20
    (item,) = await queued(town)
    assert item["graded_streams"] == ["kitchen", "recyclable"]

    entries = await town.client.get(
        f"/api/v1/accounts/{town.world.account_id}/entries", headers=town.resident
    )
    assert [e["amount_points"] for e in entries.json()["items"]] == [10, 10]


@pytest.mark.parametrize("how", ["single", "batch"])
async def test_a_drop_off_shares_the_households_caps_with_its_card(town: Town, how: str) -> None:
    town.clock.moment = hangzhou(25, 8)
    dropoff_id = await drop_off(town)
    card = {
        "event_id": new_event_id(),
        "household_token": town.world.card_token,
        "point_token": town.anytime["token"],
        "stream": "kitchen",
        "grade": "good",
    }
    assert (await grade(town, how, card))[0] == 201
    # The card already scored the kitchen stream today: the drop-off's grade is the day's
    # second, recorded with 0 points, as a second card grade would be.
    status, reply = await grade(town, how, by_dropoff(town, dropoff_id))
    assert status == 201, reply
    assert (reply["scored"], reply["points_awarded"]) == (False, 0)
    assert reply["message"].startswith("already graded")
    assert await resident_balance(town) == 10


@pytest.mark.parametrize("how", ["single", "batch"])
async def test_a_drop_off_is_graded_within_30_minutes_of_it(town: Town, how: str) -> None:
    town.clock.moment = hangzhou(25, 8)
    dropoff_id = await drop_off(town)
    town.clock.moment = hangzhou(25, 8, 31)
    status, expired = await grade(town, how, by_dropoff(town, dropoff_id))
    assert (status, expired["code"]) == (422, "dropoff_expired")
    assert expired["recorded_at"] == hangzhou(25, 8).isoformat()
    # Tapped in time on a phone that was offline, sent later: it counts at its capture time.
    tapped = (hangzhou(25, 8, 20)).isoformat()
    status, late = await grade(town, how, by_dropoff(town, dropoff_id, captured_at=tapped))
    assert (status, late["points_awarded"]) == (201, 10), late
    # A capture time long before the drop-off is no grade of it either.
    early = (hangzhou(25, 8) - timedelta(minutes=6)).isoformat()
    status, before = await grade(
        town, how, by_dropoff(town, dropoff_id, "other", captured_at=early)
    )
    assert (status, before["code"]) == (422, "dropoff_expired")
    assert await resident_balance(town) == 10


@pytest.mark.parametrize("how", ["single", "batch"])
async def test_grading_by_drop_off_refuses_what_it_should(town: Town, how: str) -> None:
    town.clock.moment = hangzhou(25, 8)
    dropoff_id = await drop_off(town)
    both = by_dropoff(town, dropoff_id, household_token=town.world.card_token)
    status, body = await grade(town, how, both)
    assert (status, body["code"], body["field"]) == (400, "validation_error", "dropoff_id")
    neither = by_dropoff(town, dropoff_id)
    del neither["dropoff_id"]
    status, body = await grade(town, how, neither)
    assert (status, body["code"], body["field"]) == (400, "validation_error", "household_token")
    status, body = await grade(town, how, by_dropoff(town, 999_999))
    assert (status, body["code"]) == (404, "not_found")
    at_other_point = by_dropoff(town, dropoff_id, point_token=town.point["token"])
    status, body = await grade(town, how, at_other_point)
    assert (status, body["code"]) == (422, "wrong_point")
    status, body = await grade(town, how, by_dropoff(town, dropoff_id) | {"dropoff_id": 0})
    assert (status, body["code"]) == (400, "validation_error")
    assert await resident_balance(town) == 0


async def test_an_inspector_out_of_scope_or_at_home_cannot_grade_a_drop_off(town: Town) -> None:
    town.clock.moment = hangzhou(25, 8)
    dropoff_id = await drop_off(town)
    elsewhere = await make_user(town.client, town.admin, Role.INSPECTOR, compound_ids=[])
    assert_error(
        await town.post_json("/api/v1/inspections", elsewhere, by_dropoff(town, dropoff_id)),
        403,
        "out_of_scope",
    )
    neighbour = await created(
        town.client,
        town.admin,
        "/api/v1/households",
        {"compound_id": town.world.compound_id, "building": "3", "unit": "1", "room": "101"},
    )
    at_home = await make_user(
        town.client,
        town.admin,
        Role.INSPECTOR,
        household_id=neighbour["id"],
        compound_ids=[town.world.compound_id],
    )
    assert_error(
        await town.post_json("/api/v1/inspections", at_home, by_dropoff(town, dropoff_id)),
        403,
        "out_of_scope",
    )
    assert_error(
        await town.post_json("/api/v1/inspections", town.resident, by_dropoff(town, dropoff_id)),
        403,
        "forbidden",
    )
    assert await resident_balance(town) == 0


async def test_an_offline_batch_mixes_cards_and_drop_offs(town: Town) -> None:
    """Several gradings in one batch go to the ledger together (on PostgreSQL), each with the
    outcome it has alone."""
    town.clock.moment = hangzhou(25, 8)
    dropoff_id = await drop_off(town)
    card = {
        "type": "inspection",
        "event_id": new_event_id(),
        "household_token": town.world.card_token,
        "point_token": town.anytime["token"],
        "stream": "other",
        "grade": "fair",
    }
    kitchen = {"type": "inspection", **by_dropoff(town, dropoff_id)}
    events = [
        card,
        kitchen,
        {"type": "inspection", **by_dropoff(town, dropoff_id, "recyclable", grade="poor")},
        {"type": "inspection", **by_dropoff(town, dropoff_id)},  # kitchen again, a new event
        kitchen,  # resent in the same batch: replayed
        {"type": "inspection", **by_dropoff(town, dropoff_id, "hazardous", point_token="x.y")},
    ]
    response = await batch(town, town.inspector, events)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 201, 201, 409, 201, 422]
    assert results[3]["body"]["code"] == "already_graded"
    assert results[4]["body"] == results[1]["body"]
    assert [r["body"].get("points_awarded") for r in results[:3]] == [5, 10, 0]
    assert await resident_balance(town) == 15
    (item,) = await queued(town)
    assert item["graded_streams"] == ["kitchen", "recyclable"]


@pytest.mark.postgres
async def test_gradings_of_one_drop_off_sent_at_once_grade_it_once(town: Town) -> None:
    """Two taps online and two queued gradings of the same drop-off and stream, all at once
    (PostgreSQL: SQLite writes one at a time): one grade, three `already_graded`."""
    town.clock.moment = hangzhou(25, 8)
    dropoff_id = await drop_off(town)
    before = await resident_balance(town)
    outcomes = await asyncio.gather(
        grade(town, "single", by_dropoff(town, dropoff_id)),
        grade(town, "batch", by_dropoff(town, dropoff_id)),
        grade(town, "single", by_dropoff(town, dropoff_id)),
        grade(town, "batch", by_dropoff(town, dropoff_id)),
    )
    assert sorted(status for status, _ in outcomes) == [201, 409, 409, 409], outcomes
    for status, body in outcomes:
        if status == 409:
            assert body["code"] == "already_graded", body
    assert await resident_balance(town) == before + 10
    (item,) = await queued(town)
    assert item["graded_streams"] == ["kitchen"]

"""Issue 14, item 3: the capture time travels with the event.

Every scan may carry `captured_at`; within the rules' bounds (72 h for inspectors and clerks,
10 minutes for residents and volunteers, 5 minutes ahead for all) the scan counts at it: its
local day, window, caps, boards and the rules in force then. The app's clock is frozen.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest

from tests.api.conftest import assert_error, new_event_id
from tests.api.test_earning_api import Town, batch, inspection, put_rules, town
from tests.integration.earning_helpers import hangzhou

__all__ = ["town"]  # the fixture, used by name


PLUS_8 = timezone(timedelta(hours=8))


def local_text(day: int, hour: int, minute: int) -> str:
    """A Hangzhou wall-clock time as a device sends it, with its +08:00 offset."""
    return hangzhou(day, hour, minute).astimezone(PLUS_8).isoformat()


async def grade(town: Town, how: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send gradings one POST each, or together in one `events:batch`; the replies."""
    if how == "single":
        replies = []
        for event in events:
            response = await town.post_json("/api/v1/inspections", town.inspector, event)
            assert response.status_code == 201, response.text
            replies.append(response.json())
        return replies
    response = await batch(town, town.inspector, [{"type": "inspection", **e} for e in events])
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [result["status"] for result in results] == [201] * len(events), results
    return [result["body"] for result in results]


@pytest.mark.parametrize("how", ["single", "batch"])
async def test_a_grade_captured_at_2358_and_uploaded_after_midnight_counts_on_its_day(
    town: Town, how: str
) -> None:
    town.clock.moment = hangzhou(25, 20)
    (first,) = await grade(town, how, [inspection(town, "kitchen")])
    assert first["scored"] is True
    town.clock.moment = hangzhou(26, 0, 20)  # uploaded after midnight
    late = [
        inspection(town, "kitchen", captured_at=local_text(25, 23, 58)),
        inspection(town, "recyclable", captured_at=local_text(25, 23, 59)),
    ]
    kitchen, recyclable = await grade(town, how, late)
    # The kitchen stream already scored on the 25th: this grade is that day's second.
    assert (kitchen["scored"], kitchen["points_awarded"]) == (False, 0)
    assert (recyclable["scored"], recyclable["points_awarded"]) == (True, 10)
    (today,) = await grade(town, how, [inspection(town, "kitchen")])
    assert (today["scored"], today["points_awarded"]) == (True, 10)

    entries = await town.client.get(
        f"/api/v1/accounts/{town.world.account_id}/entries", headers=town.admin
    )
    entry = next(e for e in entries.json()["items"] if e["id"] == recyclable["entry_id"])
    assert entry["captured_at"] == hangzhou(25, 23, 59).isoformat()  # both times recorded
    assert entry["created_at"] == hangzhou(26, 0, 20).isoformat()
    plain = next(e for e in entries.json()["items"] if e["id"] == today["entry_id"])
    assert plain["captured_at"] is None


async def test_the_rules_in_force_at_the_capture_time_apply(town: Town) -> None:
    town.clock.moment = hangzhou(25, 20)
    changed = await put_rules(
        town, {"grade_points": {"good": 7, "fair": 3, "poor": 0}}, hangzhou(26, 0).isoformat()
    )
    assert changed.status_code == 200, changed.text
    town.clock.moment = hangzhou(26, 0, 20)
    before = await town.post_json(
        "/api/v1/inspections",
        town.inspector,
        inspection(town, "kitchen", captured_at=local_text(25, 23, 58)),
    )
    after = await town.post_json("/api/v1/inspections", town.inspector, inspection(town, "other"))
    assert (before.json()["points_awarded"], after.json()["points_awarded"]) == (10, 7)


async def test_staff_capture_times_reach_back_72_hours_and_5_minutes_ahead(town: Town) -> None:
    town.clock.moment = now = hangzhou(28, 12)
    oldest = (now - timedelta(hours=72)).isoformat()
    too_old = (now - timedelta(hours=72, minutes=1)).isoformat()
    ahead, too_far = (now + timedelta(minutes=5)).isoformat(), (now + timedelta(minutes=6))
    ok = await town.post_json(
        "/api/v1/inspections", town.inspector, inspection(town, captured_at=oldest)
    )
    assert ok.status_code == 201, ok.text
    refused = assert_error(
        await town.post_json(
            "/api/v1/inspections", town.inspector, inspection(town, "other", captured_at=too_old)
        ),
        422,
        "captured_at_out_of_range",
    )
    assert refused["oldest"] == oldest
    weigh = {"household_token": town.world.card_token, "material": "paper", "grams": 1_000}
    fine = await town.post_json(
        "/api/v1/weighins", town.clerk, weigh | {"event_id": new_event_id(), "captured_at": ahead}
    )
    assert fine.status_code == 201, fine.text
    assert_error(
        await town.post_json(
            "/api/v1/weighins",
            town.clerk,
            weigh | {"event_id": new_event_id(), "captured_at": too_far.isoformat()},
        ),
        422,
        "captured_at_out_of_range",
    )
    assert await town.balance(town.world.account_id) == 10 + 100


async def test_a_residents_capture_time_reaches_back_10_minutes_only(town: Town) -> None:
    town.clock.moment = hangzhou(25, 9, 5)  # the window closed at 09:00
    point = town.point["token"]
    late = {"event_id": new_event_id(), "point_token": point}
    assert_error(
        await town.post_json("/api/v1/dropoffs", town.resident, late), 422, "outside_window"
    )
    too_old = {
        "event_id": new_event_id(),
        "point_token": point,
        "captured_at": local_text(25, 8, 54),
    }
    assert_error(
        await town.post_json("/api/v1/dropoffs", town.resident, too_old),
        422,
        "captured_at_out_of_range",
    )
    in_window = {
        "event_id": new_event_id(),
        "point_token": point,
        "captured_at": local_text(25, 8, 56),
    }
    taken = await town.post_json("/api/v1/dropoffs", town.resident, in_window)
    assert taken.status_code == 201, taken.text
    assert taken.json()["repeat"] is False


async def test_shift_times_come_from_the_scans_capture_times(town: Town) -> None:
    member, post = town.volunteer_member, town.post["token"]
    town.clock.moment = hangzhou(25, 8)
    assert_error(
        await town.post_json(
            "/api/v1/shifts/check-in",
            member,
            {"event_id": new_event_id(), "post_token": post, "captured_at": local_text(25, 7, 49)},
        ),
        422,
        "captured_at_out_of_range",
    )
    started = await town.post_json(
        "/api/v1/shifts/check-in",
        member,
        {"event_id": new_event_id(), "post_token": post, "captured_at": local_text(25, 7, 51)},
    )
    assert started.status_code == 201, started.text
    assert started.json()["started_at"] == hangzhou(25, 7, 51).isoformat()
    town.clock.moment = hangzhou(25, 9, 8)  # 68 minutes of server time: 60 counted
    ended = await batch(
        town,
        member,
        [
            {
                "type": "check_out",
                "event_id": new_event_id(),
                "post_token": post,
                "captured_at": local_text(25, 9, 6),
            }
        ],
    )
    (result,) = ended.json()["results"]
    assert (result["status"], result["body"]["minutes"]) == (200, 75), result
    listed = await town.client.get("/api/v1/shifts?status=pending", headers=town.coordinator)
    (row,) = listed.json()["items"]
    assert (row["started_at"], row["ended_at"]) == (
        hangzhou(25, 7, 51).isoformat(),
        hangzhou(25, 9, 6).isoformat(),
    )
    assert row["local_day"] == "2026-11-25"


async def test_the_weighin_cap_counts_on_the_capture_day(town: Town) -> None:
    metal = {"household_token": town.world.card_token, "material": "metal", "grams": 30_000}
    town.clock.moment = hangzhou(25, 23, 50)
    capped = await town.post_json("/api/v1/weighins", town.clerk, metal | {"event_id": "w-1"})
    assert capped.json()["points_awarded"] == 300
    town.clock.moment = hangzhou(26, 0, 10)
    late = metal | {"event_id": "w-2", "captured_at": local_text(25, 23, 55)}
    reply = (await town.post_json("/api/v1/weighins", town.clerk, late)).json()
    assert (reply["points_awarded"], reply["capped"]) == (0, True)
    today = await town.post_json("/api/v1/weighins", town.clerk, metal | {"event_id": "w-3"})
    assert today.json()["points_awarded"] == 300


@pytest.mark.parametrize(
    ("captured_at", "why"),
    [("yesterday", "malformed"), ("2026-11-25T23:58:00", "no offset"), ("2026-11-25", "a day")],
)
async def test_a_bad_capture_time_is_400_naming_it_alone_and_in_a_batch(
    town: Town, captured_at: str, why: str
) -> None:
    event = inspection(town, captured_at=captured_at)
    refused = assert_error(
        await town.post_json("/api/v1/inspections", town.inspector, event), 400, "validation_error"
    )
    assert refused["field"] == "captured_at", why
    sent = await batch(
        town,
        town.inspector,
        [{"type": "inspection", **event}, {"type": "inspection", **inspection(town, "other")}],
    )
    first, second = sent.json()["results"]
    assert (first["status"], first["body"]["field"]) == (400, "captured_at")
    assert second["status"] == 201
    drop = {"type": "dropoff", "event_id": new_event_id(), "point_token": town.anytime["token"]}
    (result,) = (await batch(town, town.resident, [drop | {"captured_at": captured_at}])).json()[
        "results"
    ]
    assert (result["status"], result["body"]["field"]) == (400, "captured_at")
    assert await town.balance(town.world.account_id) == 10


async def test_a_resend_with_another_capture_time_is_a_conflict(town: Town) -> None:
    town.clock.moment = hangzhou(26, 0, 20)
    event = inspection(town, captured_at=local_text(25, 23, 58))
    first = await town.post_json("/api/v1/inspections", town.inspector, event)
    assert first.status_code == 201, first.text
    same_instant = event | {"captured_at": hangzhou(25, 23, 58).isoformat()}  # +00:00
    again = await town.post_json("/api/v1/inspections", town.inspector, same_instant)
    assert (again.status_code, again.json()) == (201, first.json())
    moved = event | {"captured_at": local_text(25, 23, 57)}
    assert_error(
        await town.post_json("/api/v1/inspections", town.inspector, moved),
        409,
        "idempotency_conflict",
    )
    without = {k: v for k, v in event.items() if k != "captured_at"}
    assert_error(
        await town.post_json("/api/v1/inspections", town.inspector, without),
        409,
        "idempotency_conflict",
    )

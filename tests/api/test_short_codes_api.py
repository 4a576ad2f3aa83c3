"""Short codes typed from under a QR code: accepted from staff in their compounds wherever a
scanned token is, refused from residents and volunteers, and refused when mistyped."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from httpx import Response

from api.security import AUTH_COOKIE
from ledger.domain.access import Role
from ledger.domain.short_codes import LENGTH, grouped, is_valid
from tests.api import test_earning_api
from tests.api.conftest import Headers, assert_error, make_user, new_event_id
from tests.api.test_earning_api import Town, inspection
from tests.integration.earning_helpers import hangzhou

town = test_earning_api.town  # the same town of users, points and posts as the earning tests


def typo(code: str) -> str:
    """One digit mistyped (the third)."""
    return code[:2] + str((int(code[2]) + 1) % 10) + code[3:]


def neighbour_swap(code: str) -> str:
    """Two neighbouring digits swapped: the first pair that differs."""
    i = next(i for i in range(LENGTH - 1) if code[i] != code[i + 1])
    return code[:i] + code[i + 1] + code[i] + code[i + 2 :]


async def listed(town: Town, resource: str, item_id: int) -> dict[str, Any]:
    response = await town.client.get(f"/api/v1/{resource}?limit=100", headers=town.admin)
    assert response.status_code == 200, response.text
    item: dict[str, Any] = next(i for i in response.json()["items"] if i["id"] == item_id)
    return item


async def household_code(town: Town) -> str:
    return str((await listed(town, "households", town.world.household_id))["short_code"])


async def test_created_and_listed_cards_points_and_posts_carry_distinct_short_codes(
    town: Town,
) -> None:
    codes = [
        await household_code(town),
        town.point["short_code"],
        town.anytime["short_code"],
        town.post["short_code"],
        town.other_post["short_code"],
    ]
    assert all(len(code) == LENGTH and code.isdigit() and is_valid(code) for code in codes)
    assert len(set(codes)) == len(codes)
    assert (await listed(town, "points", town.point["id"]))["short_code"] == town.point[
        "short_code"
    ]
    assert (await listed(town, "posts", town.post["id"]))["short_code"] == town.post["short_code"]


async def test_an_inspector_grades_by_a_typed_code_and_a_resident_may_not_type_one(
    town: Town,
) -> None:
    town.clock.moment = hangzhou(25, 7, 30)
    card = grouped(await household_code(town))  # `2031 4417 06`, as printed
    point = "-".join((town.point["short_code"][:5], town.point["short_code"][5:]))
    typed = inspection(town) | {"household_token": card, "point_token": point}
    graded = await town.post_json("/api/v1/inspections", town.inspector, typed)
    assert graded.status_code == 201, graded.text
    assert graded.json()["points_awarded"] == 10
    # The same household as its scanned token: a second kitchen grade today no longer scores.
    again = await town.post_json("/api/v1/inspections", town.inspector, inspection(town))
    assert again.json()["scored"] is False

    dropoff = {"event_id": new_event_id(), "point_token": town.anytime["short_code"]}
    assert_error(
        await town.post_json("/api/v1/dropoffs", town.resident, dropoff), 403, "scan_required"
    )
    check_in = {"event_id": new_event_id(), "post_token": town.post["short_code"]}
    assert_error(
        await town.post_json("/api/v1/shifts/check-in", town.volunteer_member, check_in),
        403,
        "scan_required",
    )
    assert await town.balance(town.world.account_id) == 10


async def test_a_typo_and_a_neighbour_swap_are_invalid_codes(town: Town) -> None:
    town.clock.moment = hangzhou(25, 7, 30)
    code = await household_code(town)
    for wrong in (typo(code), neighbour_swap(code), code[:-1], code + "0"):
        body = inspection(town) | {"household_token": wrong}
        assert_error(
            await town.post_json("/api/v1/inspections", town.inspector, body), 422, "invalid_code"
        )
    assert await town.balance(town.world.account_id) == 0


async def test_a_typed_code_of_the_wrong_kind_or_outside_the_compound_is_refused(
    town: Town,
) -> None:
    town.clock.moment = hangzhou(25, 7, 30)
    wrong_kind = inspection(town) | {"household_token": town.post["short_code"]}
    assert_error(
        await town.post_json("/api/v1/inspections", town.inspector, wrong_kind),
        422,
        "code_wrong_kind",
    )
    stranger = await make_user(town.client, town.admin, Role.INSPECTOR)
    body = inspection(town) | {"household_token": await household_code(town)}
    assert_error(await town.post_json("/api/v1/inspections", stranger, body), 403, "out_of_scope")


async def test_a_clerk_weighs_in_by_a_typed_code(town: Town) -> None:
    body = {
        "event_id": new_event_id(),
        "household_token": await household_code(town),
        "material": "paper",
        "grams": 1000,
    }
    response = await town.post_json("/api/v1/weighins", town.clerk, body)
    assert response.status_code == 201, response.text
    assert response.json()["balance_points"] == 100


async def test_a_reissued_card_has_a_new_code_and_the_old_one_is_refused(town: Town) -> None:
    town.clock.moment = hangzhou(25, 7, 30)
    old = await household_code(town)
    response = await town.client.post(
        f"/api/v1/households/{town.world.household_id}/card:reissue",
        json={"event_id": new_event_id()},
        headers=town.admin,
    )
    assert response.status_code == 200, response.text
    new = response.json()["short_code"]
    assert new != old
    assert is_valid(new)
    assert await household_code(town) == new
    body = inspection(town) | {"household_token": old}
    assert_error(
        await town.post_json("/api/v1/inspections", town.inspector, body), 422, "code_revoked"
    )
    body = inspection(town) | {"household_token": new}
    assert (await town.post_json("/api/v1/inspections", town.inspector, body)).status_code == 201


async def test_an_offline_batch_accepts_typed_codes_from_an_inspector(town: Town) -> None:
    town.clock.moment = hangzhou(25, 7, 30)
    code = await household_code(town)
    events = [
        {"type": "inspection", **inspection(town), "household_token": grouped(code)},
        {"type": "inspection", **inspection(town, "recyclable"), "household_token": typo(code)},
    ]
    response = await town.post_json("/api/v1/events:batch", town.inspector, {"events": events})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 422]
    assert results[1]["body"]["code"] == "invalid_code"
    assert await town.balance(town.world.account_id) == 10


async def open_as(town: Town, code: str, who: Headers | None) -> Response:
    """`/open?code=` from a browser signed in as `who` (the pages read the sign-in cookie)."""
    town.client.cookies.clear()
    if who is not None:
        town.client.cookies.set(AUTH_COOKIE, who["Authorization"].removeprefix("Bearer "))
    response = await town.client.get("/open", params={"code": code}, follow_redirects=False)
    town.client.cookies.clear()  # the API calls after it carry no cookie (nor need CSRF)
    return response


def assert_refused(response: Response, status: int, text: str) -> None:
    """The page's refusal, in Chinese (the pages answer with an error page, not JSON)."""
    assert response.status_code == status, response.text
    assert text in response.text


async def test_open_takes_a_typed_code_from_staff_only(town: Town) -> None:
    code = grouped(await household_code(town))
    staff = await open_as(town, code, town.inspector)
    assert staff.status_code == 303, staff.text
    assert unquote(staff.headers["location"]) == f"/q/{town.world.card_token}"
    assert_refused(await open_as(town, code, town.resident), 403, "请用摄像头扫描二维码")
    assert_refused(await open_as(town, code, None), 403, "请用摄像头扫描二维码")
    assert_refused(await open_as(town, typo(code.replace(" ", "")), town.admin), 422, "编码有误")
    stranger = await make_user(town.client, town.admin, Role.INSPECTOR)
    assert_refused(await open_as(town, code, stranger), 403, "不在您负责的范围内")

"""A household joins by its card (issue 15, item 1): the join code, PIN accounts, the members
list and removal, through the HTTP interface."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient

from ledger.domain.access import Role
from ledger.services import limits
from tests.api.conftest import (
    Headers,
    World,
    assert_error,
    bearer,
    created,
    make_user,
    make_world,
    new_event_id,
)
from tests.api.pages_helpers import submit

Api = tuple[AsyncTestClient[Any], Headers]
PIN = "284913"
OTHER_PIN = "907346"
PHONE = "13812345678"


async def household(client: AsyncTestClient[Any], admin: Headers) -> tuple[World, str]:
    """A world whose household's join code is known (reset by the admin)."""
    world = await make_world(client, admin)
    return world, await reset_code(client, admin, world.household_id)


async def reset_code(client: AsyncTestClient[Any], headers: Headers, household_id: int) -> str:
    response = await client.post(
        f"/api/v1/households/{household_id}/join-code:reset",
        json={"event_id": new_event_id()},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    code = response.json()["join_code"]
    assert len(code) == 6
    assert code.isdigit()
    return str(code)


async def join(
    client: AsyncTestClient[Any],
    card: str,
    code: str,
    phone: str = PHONE,
    pin: str = PIN,
    **fields: Any,
) -> Any:
    body = {"card_token": card, "join_code": code, "phone": phone, "pin": pin, **fields}
    return await client.post("/api/v1/households/join", json=body)


async def joined(client: AsyncTestClient[Any], *args: Any, **fields: Any) -> dict[str, Any]:
    response = await join(client, *args, **fields)
    assert response.status_code == 201, response.text
    reply: dict[str, Any] = response.json()
    return reply


async def members(client: AsyncTestClient[Any], headers: Headers, household_id: int) -> Any:
    return await client.get(f"/api/v1/households/{household_id}/members", headers=headers)


async def test_the_creation_reply_carries_a_join_code(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    body = {"compound_id": world.compound_id, "building": "9", "unit": "1", "room": "101"}
    reply = await created(client, admin, "/api/v1/households", body)
    assert len(reply["join_code"]) == 6
    assert reply["join_code"].isdigit()


async def test_a_resident_joins_then_signs_in_with_number_and_pin(api: Api) -> None:
    client, admin = api
    world, code = await household(client, admin)
    reply = await joined(
        client, world.card_token, code, phone="+86 138-1234-5678", display_name="王阿姨"
    )
    assert reply["household_id"] == world.household_id
    me = await client.get("/api/v1/me", headers=bearer(reply["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["household_id"] == world.household_id
    assert me.json()["household_account_id"] == world.account_id
    assert me.json()["households"] == [
        {"household_id": world.household_id, "helper": False, "label": "信义坊 3幢2单元301室"}
    ]
    assert "1381" not in me.json()["username"]  # the username is not the number
    token = await client.post("/api/v1/auth/token", json={"username": PHONE, "password": PIN})
    assert token.status_code == 200, token.text
    account = await client.get(
        f"/api/v1/accounts/{world.account_id}", headers=bearer(token.json()["access_token"])
    )
    assert account.status_code == 200, account.text
    wrong = await client.post("/api/v1/auth/token", json={"username": PHONE, "password": "1"})
    assert_error(wrong, 401, "invalid_credentials")


async def test_a_wrong_code_is_refused_and_guesses_from_one_address_slow_down(api: Api) -> None:
    """The per-card ceiling (10 wrong codes a day from all addresses together) is tested on
    both limiters in tests/integration/test_joining.py; from one address the sign-in delays
    answer first: after 5 wrong codes, even the right one waits."""
    client, admin = api
    world, code = await household(client, admin)
    wrong = "000000" if code != "000000" else "000001"
    for _ in range(limits.JOIN_CODE_POLICY.free_failures):
        assert_error(await join(client, world.card_token, wrong), 403, "join_refused")
    locked = await join(client, world.card_token, code)
    assert_error(locked, 429, "rate_limited")
    assert (await members(client, admin, world.household_id)).json()["items"] == []


async def test_a_bad_number_pin_or_code_names_its_field(api: Api) -> None:
    client, admin = api
    world, code = await household(client, admin)
    cases = [
        ({"phone": "12345"}, "phone"),
        ({"pin": "123456"}, "pin"),
        ({"pin": "12ab56"}, "pin"),
        ({"join_code": "12"}, "join_code"),
    ]
    for fields, field in cases:
        body = {"card_token": world.card_token, "join_code": code, "phone": PHONE, "pin": PIN}
        response = await client.post("/api/v1/households/join", json=body | fields)
        error = assert_error(response, 400, "validation_error")
        assert error["field"] == field, error
    assert (await members(client, admin, world.household_id)).json()["items"] == []


async def test_the_seventh_member_is_refused(api: Api) -> None:
    client, admin = api
    world, code = await household(client, admin)
    for n in range(6):
        await joined(client, world.card_token, code, phone=f"1391234560{n}", as_helper=n == 5)
    full = await join(client, world.card_token, code, phone="13912345609")
    assert_error(full, 409, "household_full")
    assert len((await members(client, admin, world.household_id)).json()["items"]) == 6


async def test_a_number_registered_elsewhere_is_taken(api: Api) -> None:
    client, admin = api
    world, code = await household(client, admin)
    await make_user(client, admin, Role.CLERK, username=PHONE)
    assert_error(await join(client, world.card_token, code), 409, "phone_taken")
    other = await created(
        client,
        admin,
        "/api/v1/households",
        {"compound_id": world.compound_id, "building": "5", "unit": "1", "room": "202"},
    )
    first = await joined(client, other["card_token"], other["join_code"], phone="13900001111")
    wrong_pin = await join(client, world.card_token, code, phone="13900001111", pin=OTHER_PIN)
    assert_error(wrong_pin, 409, "phone_taken")
    # With its PIN, the same account helps the second household too.
    helping = await joined(
        client, world.card_token, code, phone="13900001111", pin=PIN, as_helper=True
    )
    assert helping["user_id"] == first["user_id"]
    me = (await client.get("/api/v1/me", headers=bearer(helping["access_token"]))).json()
    assert [(h["household_id"], h["helper"]) for h in me["households"]] == [
        (other["id"], False),
        (world.household_id, True),
    ]


async def test_the_same_number_and_pin_again_is_the_same_account(api: Api) -> None:
    client, admin = api
    world, code = await household(client, admin)
    first = await joined(client, world.card_token, code)
    again = await joined(client, world.card_token, code)
    assert again["user_id"] == first["user_id"]
    still = await client.get("/api/v1/me", headers=bearer(first["access_token"]))
    assert still.status_code == 200  # a retry signs nobody out
    assert len((await members(client, admin, world.household_id)).json()["items"]) == 1


async def test_a_fresh_join_sets_a_new_pin_signs_out_and_shows(api: Api) -> None:
    client, admin = api
    world, code = await household(client, admin)
    first = await joined(client, world.card_token, code)
    again = await joined(client, world.card_token, code, pin=OTHER_PIN)
    assert again["user_id"] == first["user_id"]
    old = await client.get("/api/v1/me", headers=bearer(first["access_token"]))
    assert old.status_code == 401  # the account's other sessions end
    assert (
        await client.post("/api/v1/auth/token", json={"username": PHONE, "password": PIN})
    ).status_code == 401
    assert (
        await client.post("/api/v1/auth/token", json={"username": PHONE, "password": OTHER_PIN})
    ).status_code == 200
    [member] = (await members(client, admin, world.household_id)).json()["items"]
    assert member["pin_reset_at"] is not None
    audit = (await client.get("/api/v1/audit", headers=admin)).json()["items"]
    joins = [item for item in audit if item["operation"] == "household.member_joined"]
    assert [j["result"]["rejoined"] for j in joins] == [True, False]
    assert all(PHONE not in str(j) for j in joins)


async def test_members_see_numbers_masked_but_their_own(api: Api) -> None:
    client, admin = api
    world, code = await household(client, admin)
    first = await joined(client, world.card_token, code, display_name="王阿姨")
    second = await joined(client, world.card_token, code, phone="13987654321")
    seen_by_first = (
        await members(client, bearer(first["access_token"]), world.household_id)
    ).json()
    assert [m["phone"] for m in seen_by_first["items"]] == [PHONE, "139****4321"]
    assert seen_by_first["items"][0]["display_name"] == "王阿姨"
    seen_by_admin = (await members(client, admin, world.household_id)).json()
    assert [m["phone"] for m in seen_by_admin["items"]] == [PHONE, "13987654321"]
    clerk = await make_user(client, admin, Role.CLERK, compound_ids=[world.compound_id])
    seen_by_clerk = (await members(client, clerk, world.household_id)).json()
    assert [m["phone"] for m in seen_by_clerk["items"]] == ["138****5678", "139****4321"]
    inspector = await make_user(client, admin, Role.INSPECTOR, compound_ids=[world.compound_id])
    assert_error(await members(client, inspector, world.household_id), 403, "forbidden")
    del second


async def test_outsiders_see_no_members(api: Api) -> None:
    client, admin = api
    world, _code = await household(client, admin)
    other = await created(
        client,
        admin,
        "/api/v1/households",
        {"compound_id": world.compound_id, "building": "5", "unit": "1", "room": "202"},
    )
    stranger = await joined(client, other["card_token"], other["join_code"])
    response = await members(client, bearer(stranger["access_token"]), world.household_id)
    assert_error(response, 403, "forbidden")
    clerk = await make_user(client, admin, Role.CLERK, compound_ids=[])
    assert_error(await members(client, clerk, world.household_id), 403, "out_of_scope")


async def test_a_removed_member_s_tokens_stop_working(api: Api) -> None:
    client, admin = api
    world, code = await household(client, admin)
    first = await joined(client, world.card_token, code)
    second = await joined(client, world.card_token, code, phone="13987654321")
    removal = await client.delete(
        f"/api/v1/households/{world.household_id}/members/{second['user_id']}",
        headers=bearer(first["access_token"]),
    )
    assert removal.status_code == 204, removal.text
    gone = await client.get("/api/v1/me", headers=bearer(second["access_token"]))
    assert gone.status_code == 401
    listed = (await members(client, admin, world.household_id)).json()["items"]
    assert [m["user_id"] for m in listed] == [first["user_id"]]
    again = await client.delete(
        f"/api/v1/households/{world.household_id}/members/{second['user_id']}", headers=admin
    )
    assert_error(again, 404, "not_found")


async def test_a_helper_removes_only_themselves(api: Api) -> None:
    client, admin = api
    world, code = await household(client, admin)
    resident = await joined(client, world.card_token, code)
    helper = await joined(client, world.card_token, code, phone="13987654321", as_helper=True)
    refused = await client.delete(
        f"/api/v1/households/{world.household_id}/members/{resident['user_id']}",
        headers=bearer(helper["access_token"]),
    )
    assert_error(refused, 403, "forbidden")
    left = await client.delete(
        f"/api/v1/households/{world.household_id}/members/{helper['user_id']}",
        headers=bearer(helper["access_token"]),
    )
    assert left.status_code == 204, left.text


async def test_reset_and_reissue_void_the_old_code(api: Api) -> None:
    client, admin = api
    world, code = await household(client, admin)
    clerk = await make_user(client, admin, Role.CLERK, compound_ids=[world.compound_id])
    new_code = await reset_code(client, clerk, world.household_id)
    if new_code != code:
        assert_error(await join(client, world.card_token, code), 403, "join_refused")
    reissued = await client.post(
        f"/api/v1/households/{world.household_id}/card:reissue",
        json={"event_id": new_event_id()},
        headers=admin,
    )
    assert reissued.status_code == 200, reissued.text
    card = reissued.json()
    assert len(card["join_code"]) == 6
    old_card = await join(client, world.card_token, new_code)
    assert_error(old_card, 422, "code_revoked")
    if card["join_code"] != new_code:
        assert_error(await join(client, card["card_token"], new_code), 403, "join_refused")
    await joined(client, card["card_token"], card["join_code"])


async def test_the_join_page_of_a_replaced_card_is_the_code_s_refusal(api: Api) -> None:
    """The join form of a card that opens no household, and a form sent to it, answer what a
    scan of the card answers: 404 and why, never the join form."""
    client, admin = api
    world, code = await household(client, admin)
    form = await client.get(f"/join/{world.card_token}")
    assert form.status_code == 200, form.text
    reissued = await client.post(
        f"/api/v1/households/{world.household_id}/card:reissue",
        json={"event_id": new_event_id()},
        headers=admin,
    )
    assert reissued.status_code == 200, reissued.text
    scanned = await client.get(f"/q/{world.card_token}")
    reopened = await client.get(f"/join/{world.card_token}")
    person = {"join_code": code, "phone": PHONE, "pin": PIN, "pin_again": PIN}
    sent = await submit(client, form.text, f"/join/{world.card_token}", **person)
    why = re.compile(r'<p class="error" id="code-error">([^<]+)</p>')
    refusal = why.findall(scanned.text)
    assert scanned.status_code == 404, scanned.text
    assert refusal, scanned.text
    for page in (reopened, sent):
        assert page.status_code == 404, page.text
        assert why.findall(page.text) == refusal
        assert 'name="join_code"' not in page.text


async def test_only_admins_and_clerks_of_its_compound_reset_the_code(api: Api) -> None:
    client, admin = api
    world, code = await household(client, admin)
    resident = await joined(client, world.card_token, code)
    clerk = await make_user(client, admin, Role.CLERK, compound_ids=[])
    for headers, refusal in (
        (bearer(resident["access_token"]), "forbidden"),
        (clerk, "out_of_scope"),
    ):
        response = await client.post(
            f"/api/v1/households/{world.household_id}/join-code:reset",
            json={"event_id": new_event_id()},
            headers=headers,
        )
        assert_error(response, 403, refusal)

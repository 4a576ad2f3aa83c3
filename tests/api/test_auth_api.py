"""Sign-in, bearer tokens, roles, /me and new users."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from litestar.testing import AsyncTestClient

from api.settings import Settings
from ledger.domain.access import Role
from tests.api.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    Headers,
    assert_error,
    bearer,
    make_user,
    make_world,
    new_event_id,
)

pytestmark = pytest.mark.pgbouncer  # also run through PgBouncer (Makefile)

Api = tuple[AsyncTestClient[Any], Headers]


def token_of(headers: Headers) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def reissued(token: str, key: str, **changes: Any) -> str:
    """The same claims, signed again (with `key`), with some claims changed."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(claims | changes, key, algorithm="HS256")


async def test_good_credentials_get_a_bearer_token(api: Api) -> None:
    client, _ = api
    response = await client.post(
        "/api/v1/auth/token", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["role"] == "admin"
    assert body["access_token"].count(".") == 2
    me = await client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == ADMIN_USERNAME


async def test_a_wrong_password_and_an_unknown_user_get_the_same_401(api: Api) -> None:
    client, _ = api
    wrong_password = await client.post(
        "/api/v1/auth/token", json={"username": ADMIN_USERNAME, "password": "not-the-password"}
    )
    unknown_user = await client.post(
        "/api/v1/auth/token", json={"username": "nobody", "password": "not-the-password"}
    )
    assert_error(wrong_password, 401, "invalid_credentials")
    assert_error(unknown_user, 401, "invalid_credentials")
    assert wrong_password.json() == unknown_user.json()


async def test_an_empty_sign_in_is_a_validation_error(api: Api) -> None:
    client, _ = api
    response = await client.post("/api/v1/auth/token", json={"username": "", "password": "x"})
    assert assert_error(response, 400, "validation_error")["field"] == "username"


async def test_no_token_is_unauthorized(api: Api) -> None:
    client, _ = api
    assert_error(await client.get("/api/v1/me"), 401, "unauthorized")
    assert_error(
        await client.get("/api/v1/me", headers={"Authorization": "Bearer "}), 401, "unauthorized"
    )
    assert_error(
        await client.get("/api/v1/me", headers={"Authorization": "Basic YWRtaW46eA=="}),
        401,
        "unauthorized",
    )


async def test_a_tampered_token_is_unauthorized(api: Api) -> None:
    client, admin = api
    token = token_of(admin)
    header, payload, signature = token.split(".")
    flipped = signature[:5] + ("A" if signature[5] != "A" else "B") + signature[6:]
    assert_error(
        await client.get("/api/v1/me", headers=bearer(f"{header}.{payload}.{flipped}")),
        401,
        "unauthorized",
    )
    promoted = reissued(token, "guessed-key-" * 4, role="admin", sub="2")
    assert_error(await client.get("/api/v1/me", headers=bearer(promoted)), 401, "unauthorized")
    assert_error(await client.get("/api/v1/me", headers=bearer("not.a.token")), 401, "unauthorized")


async def test_a_token_signed_with_our_key_is_accepted_until_it_expires(
    api: Api, settings: Settings
) -> None:
    client, admin = api
    key = settings.derived_key("jwt").hex()
    now = int(time.time())
    fresh = reissued(token_of(admin), key, exp=now + 60)
    assert (await client.get("/api/v1/me", headers=bearer(fresh))).status_code == 200
    expired = reissued(token_of(admin), key, iat=now - 120, exp=now - 60)
    assert_error(await client.get("/api/v1/me", headers=bearer(expired)), 401, "unauthorized")


async def test_a_token_signed_with_another_key_is_unauthorized(api: Api) -> None:
    client, admin = api
    other = Settings(database_url="x", secret_key="another-secret-" * 3, base_url="http://x")
    forged = reissued(token_of(admin), other.derived_key("jwt").hex())
    assert_error(await client.get("/api/v1/me", headers=bearer(forged)), 401, "unauthorized")


async def test_a_resident_calling_an_admin_endpoint_is_forbidden(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    resident = await make_user(client, admin, Role.RESIDENT, household_id=world.household_id)
    response = await client.post(
        "/api/v1/communities", json={"event_id": new_event_id(), "name": "X"}, headers=resident
    )
    assert_error(response, 403, "forbidden")
    assert_error(await client.get("/api/v1/communities", headers=resident), 403, "forbidden")
    assert_error(await client.get("/api/v1/ledger/verify", headers=resident), 403, "forbidden")


async def test_me_shows_a_residents_household_account(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    resident = await make_user(
        client, admin, Role.RESIDENT, username="wang", household_id=world.household_id
    )
    response = await client.get("/api/v1/me", headers=resident)
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "wang"
    assert body["role"] == "resident"
    assert body["household_id"] == world.household_id
    assert body["household_account_id"] == world.account_id
    assert body.get("volunteer_account_id") is None


async def test_me_shows_a_clerks_compounds(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    clerk = await make_user(client, admin, Role.CLERK, compound_ids=[world.compound_id])
    body = (await client.get("/api/v1/me", headers=clerk)).json()
    assert body["role"] == "clerk"
    assert body["compound_ids"] == [world.compound_id]
    assert body["household_account_id"] is None


async def test_a_new_user_is_created_once_and_the_username_is_then_taken(api: Api) -> None:
    client, admin = api
    body = {
        "event_id": new_event_id(),
        "username": "li.clerk",
        "password": "a-long-password",
        "role": "clerk",
    }
    first = await client.post("/api/v1/users", json=body, headers=admin)
    assert first.status_code == 201, first.text
    assert first.json()["username"] == "li.clerk"
    assert first.json()["role"] == "clerk"
    assert isinstance(first.json()["id"], int)

    replay = await client.post("/api/v1/users", json=body, headers=admin)
    assert replay.status_code == 201
    assert replay.json() == first.json()

    again = await client.post(
        "/api/v1/users", json=body | {"event_id": new_event_id()}, headers=admin
    )
    assert_error(again, 409, "username_taken")

    signed_in = await client.post(
        "/api/v1/auth/token", json={"username": "li.clerk", "password": "a-long-password"}
    )
    assert signed_in.status_code == 200
    assert signed_in.json()["role"] == "clerk"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"role": "mayor"}, "role", id="unknown role"),
        pytest.param({"password": "short"}, "password", id="short password"),
        pytest.param({"username": "two words"}, "username", id="space in username"),
        pytest.param({"role": "resident"}, "household_id", id="resident without household"),
        pytest.param({"compound_ids": [0]}, "compound_ids[0]", id="compound id zero"),
    ],
)
async def test_a_bad_new_user_names_the_field(
    api: Api, changes: dict[str, Any], field: str
) -> None:
    client, admin = api
    body = {"event_id": new_event_id(), "username": "zhao", "password": "password-1234"}
    response = await client.post(
        "/api/v1/users", json=body | {"role": "clerk"} | changes, headers=admin
    )
    assert assert_error(response, 400, "validation_error")["field"] == field


async def test_a_user_for_an_unknown_household_is_not_found(api: Api) -> None:
    client, admin = api
    body = {
        "event_id": new_event_id(),
        "username": "ghost",
        "password": "password-1234",
        "role": "resident",
        "household_id": 999_999,
    }
    assert_error(await client.post("/api/v1/users", json=body, headers=admin), 404, "not_found")

"""Tokens stop working when they should (issue 12): deactivation, a new role or compounds,
sign-out of one page session; admins unlock sign-in locks; the cookie is never used beside an
Authorization header, and only a well-formed bearer header skips the CSRF check."""

from __future__ import annotations

import re
from typing import Any

import jwt
import pytest
from litestar.testing import AsyncTestClient

from api.security import AUTH_COOKIE
from api.settings import Settings
from ledger.domain.access import Role
from tests.api.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    USER_PASSWORD,
    Headers,
    assert_error,
    bearer,
    created,
    make_world,
    new_event_id,
    sign_in,
)
from tests.factories import TEST_SECRET_KEY

pytestmark = pytest.mark.pgbouncer  # also run through PgBouncer (Makefile)

Api = tuple[AsyncTestClient[Any], Headers]


async def new_user(client: AsyncTestClient[Any], admin: Headers, role: Role, **fields: Any) -> int:
    body = {"username": f"{role.value}-x", "password": USER_PASSWORD, "role": role.value}
    return int((await created(client, admin, "/api/v1/users", body | fields))["id"])


def once(**fields: Any) -> dict[str, Any]:
    return {"event_id": new_event_id(), **fields}


async def me_status(client: AsyncTestClient[Any], headers: Headers) -> int:
    return (await client.get("/api/v1/me", headers=headers)).status_code


async def page_session(client: AsyncTestClient[Any], username: str, password: str) -> str:
    """Sign in through the form, as a browser does; the cookie's token. The client's cookie
    jar is left holding it (and the CSRF cookie)."""
    form = await client.get("/login")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert csrf
    response = await client.post(
        "/login",
        data={"username": username, "password": password, "_csrf_token": csrf.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return str(client.cookies[AUTH_COOKIE])


def use_cookie(client: AsyncTestClient[Any], token: str) -> None:
    client.cookies.delete(AUTH_COOKIE)
    client.cookies.set(AUTH_COOKIE, token)


async def test_after_deactivation_the_old_token_gets_401_and_sign_in_fails(api: Api) -> None:
    client, admin = api
    user_id = await new_user(client, admin, Role.CLERK)
    clerk = await sign_in(client, "clerk-x", USER_PASSWORD)
    assert await me_status(client, clerk) == 200
    reply = await client.post(f"/api/v1/users/{user_id}:deactivate", json=once(), headers=admin)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "id": user_id,
        "username": "clerk-x",
        "role": "clerk",
        "active": False,
        "compound_ids": [],
    }
    assert_error(await client.get("/api/v1/me", headers=clerk), 401, "unauthorized")
    again = await client.post(
        "/api/v1/auth/token", json={"username": "clerk-x", "password": USER_PASSWORD}
    )
    assert_error(again, 401, "invalid_credentials")
    repeated = await client.post(f"/api/v1/users/{user_id}:deactivate", json=once(), headers=admin)
    assert repeated.json() == reply.json()


async def test_only_an_admin_deactivates_and_never_themselves(api: Api) -> None:
    client, admin = api
    user_id = await new_user(client, admin, Role.CLERK)
    clerk = await sign_in(client, "clerk-x", USER_PASSWORD)
    refused = await client.post(f"/api/v1/users/{user_id}:deactivate", json=once(), headers=clerk)
    assert_error(refused, 403, "forbidden")
    me = (await client.get("/api/v1/me", headers=admin)).json()["user_id"]
    own = await client.post(f"/api/v1/users/{me}:deactivate", json=once(), headers=admin)
    assert_error(own, 400, "validation_error")
    missing = await client.post("/api/v1/users/999999:deactivate", json=once(), headers=admin)
    assert_error(missing, 404, "not_found")
    unknown = await client.post(f"/api/v1/users/{user_id}:promote", json=once(), headers=admin)
    assert_error(unknown, 404, "not_found")
    assert await me_status(client, admin) == 200


async def test_a_new_role_revokes_the_old_token(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    user_id = await new_user(client, admin, Role.CLERK, compound_ids=[world.compound_id])
    clerk = await sign_in(client, "clerk-x", USER_PASSWORD)
    same = await client.patch(f"/api/v1/users/{user_id}", json=once(role="clerk"), headers=admin)
    assert same.status_code == 200, same.text
    assert await me_status(client, clerk) == 200, "no change, nothing revoked"
    changed = await client.patch(
        f"/api/v1/users/{user_id}", json=once(role="inspector"), headers=admin
    )
    assert changed.json()["role"] == "inspector"
    body = changed.request.content
    replay = await client.patch(f"/api/v1/users/{user_id}", content=body, headers=admin)
    assert replay.json() == changed.json()
    assert changed.json()["compound_ids"] == [world.compound_id]
    assert_error(await client.get("/api/v1/me", headers=clerk), 401, "unauthorized")
    inspector = await sign_in(client, "clerk-x", USER_PASSWORD)
    assert (await client.get("/api/v1/me", headers=inspector)).json()["role"] == "inspector"


async def test_new_compounds_revoke_the_old_token_and_bad_changes_change_nothing(
    api: Api,
) -> None:
    client, admin = api
    world = await make_world(client, admin)
    user_id = await new_user(client, admin, Role.INSPECTOR)
    inspector = await sign_in(client, "inspector-x", USER_PASSWORD)
    path = f"/api/v1/users/{user_id}"
    bad = await client.patch(path, json=once(role="admin", compound_ids=[1]), headers=admin)
    assert assert_error(bad, 400, "validation_error")["field"] == "compound_ids"
    missing = await client.patch(path, json=once(compound_ids=[999999]), headers=admin)
    assert_error(missing, 404, "not_found")
    assert await me_status(client, inspector) == 200, "refused changes revoke nothing"
    scoped = await client.patch(path, json=once(compound_ids=[world.compound_id]), headers=admin)
    assert scoped.json()["compound_ids"] == [world.compound_id]
    assert await me_status(client, inspector) == 401
    fresh = await sign_in(client, "inspector-x", USER_PASSWORD)
    me = (await client.get("/api/v1/me", headers=fresh)).json()
    assert me["compound_ids"] == [world.compound_id]


async def test_sign_out_ends_that_page_session_only(api: Api) -> None:
    client, admin = api
    first = await page_session(client, ADMIN_USERNAME, ADMIN_PASSWORD)
    second = await page_session(client, ADMIN_USERNAME, ADMIN_PASSWORD)
    use_cookie(client, first)
    assert (await client.get("/api/v1/me")).status_code == 200
    out = await client.post("/logout", data={"_csrf_token": client.cookies["gl_csrf"]})
    assert out.status_code in (200, 303)
    use_cookie(client, first)  # a copy of the signed-out cookie
    assert_error(await client.get("/api/v1/me"), 401, "unauthorized")
    use_cookie(client, second)
    assert (await client.get("/api/v1/me")).status_code == 200
    client.cookies.delete(AUTH_COOKIE)
    assert await me_status(client, admin) == 200, "the bearer session goes on too"


async def test_a_token_without_a_version_and_session_is_refused(api: Api) -> None:
    """Tokens issued before issue 12 carry neither; they could never be revoked."""
    client, admin = api
    claims = jwt.decode(admin["Authorization"][7:], options={"verify_signature": False})
    assert {"ver", "sid"} <= set(claims["extras"])
    key = Settings(database_url="x", secret_key=TEST_SECRET_KEY, base_url="http://t")
    for missing in ("ver", "sid"):
        extras = {k: v for k, v in claims["extras"].items() if k != missing}
        token = jwt.encode(claims | {"extras": extras}, key.derived_key("jwt").hex(), "HS256")
        assert_error(await client.get("/api/v1/me", headers=bearer(token)), 401, "unauthorized")


async def test_an_admin_unlocks_a_locked_name(api: Api) -> None:
    client, admin = api
    user_id = await new_user(client, admin, Role.CLERK)
    for _ in range(5):
        wrong = await client.post(
            "/api/v1/auth/token", json={"username": "clerk-x", "password": "wrong-password"}
        )
        assert_error(wrong, 401, "invalid_credentials")
    locked = await client.post(
        "/api/v1/auth/token", json={"username": "clerk-x", "password": USER_PASSWORD}
    )
    assert_error(locked, 429, "sign_in_locked")
    clerk = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
    assert clerk, "another name from the same address is not locked"
    unlocked = await client.post(f"/api/v1/users/{user_id}:unlock", json=once(), headers=admin)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["username"] == "clerk-x"
    await sign_in(client, "clerk-x", USER_PASSWORD)


async def test_a_malformed_authorization_header_never_falls_back_to_the_cookie(api: Api) -> None:
    client, _ = api
    await page_session(client, ADMIN_USERNAME, ADMIN_PASSWORD)
    assert (await client.get("/api/v1/me")).status_code == 200
    for header in ("x", "Bearer", "Basic YWRtaW46eA==", "Bearer a b"):
        response = await client.get("/api/v1/me", headers={"Authorization": header})
        assert_error(response, 401, "unauthorized")


async def test_a_malformed_authorization_header_does_not_skip_the_csrf_check(api: Api) -> None:
    client, _ = api
    await page_session(client, ADMIN_USERNAME, ADMIN_PASSWORD)
    body = {"event_id": new_event_id(), "name": "东新社区"}
    forged = await client.post("/api/v1/communities", json=body, headers={"Authorization": "x"})
    assert forged.status_code in (401, 403), forged.text
    listed = await client.get("/api/v1/communities")
    assert "东新社区" not in listed.text
    with_csrf = await client.post(
        "/api/v1/communities",
        json=body,
        headers={"x-csrftoken": client.cookies["gl_csrf"]},
    )
    assert with_csrf.status_code == 201, with_csrf.text


async def test_only_a_well_formed_bearer_header_skips_the_csrf_check(api: Api) -> None:
    """The gate alone, on a public `/api/` path where authentication refuses nothing: with the
    sign-in cookie present, a junk Authorization header no longer waves the request through."""
    client, _ = api
    await page_session(client, ADMIN_USERNAME, ADMIN_PASSWORD)
    body = {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
    for header in ("x", "Bearer", "Basic YWRtaW46eA=="):
        forged = await client.post(
            "/api/v1/auth/token", json=body, headers={"Authorization": header}
        )
        assert forged.status_code == 403, (header, forged.text)
    api_client = await client.post(
        "/api/v1/auth/token", json=body, headers={"Authorization": "Bearer a.b.c"}
    )
    assert api_client.status_code == 200, api_client.text


async def test_deactivation_closes_the_registry_ui_sessions_too(api: Api) -> None:
    client, admin = api
    await created(
        client,
        admin,
        "/api/v1/users",
        {"username": "admin-2", "password": USER_PASSWORD, "role": "admin"},
    )
    await page_session(client, "admin-2", USER_PASSWORD)
    registry_session = str(client.cookies["id"])
    user_id = (await client.get("/api/v1/me")).json()["user_id"]
    client.cookies.clear()
    own = await page_session(client, ADMIN_USERNAME, ADMIN_PASSWORD)  # passes the page guard
    client.cookies.delete("id")
    client.cookies.set("id", registry_session)
    assert (await client.get("/admin/api/tables/")).status_code == 200
    await client.post(f"/api/v1/users/{user_id}:deactivate", json=once(), headers=admin)
    use_cookie(client, own)
    refused = await client.get("/admin/api/tables/", follow_redirects=False)
    assert refused.status_code in (401, 403), refused.status_code

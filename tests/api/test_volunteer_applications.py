"""Volunteers apply signed out; a coordinator of the community approves or declines (issue 15,
item 3). Approval makes the volunteer, its account and the PIN login in one transaction; the
applicant then signs in with number and PIN and checks in at the community's duty posts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from httpx import Response
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from ledger.domain.access import Role
from tests.api.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    USER_PASSWORD,
    Headers,
    assert_error,
    created,
    make_user,
    new_event_id,
    sign_in,
)
from tests.factories import FrozenClock
from tests.integration.earning_helpers import hangzhou

Client = AsyncTestClient[Any]
PIN = "582039"
APPLY = "/api/v1/volunteers/applications"


@dataclass(frozen=True)
class Town:
    client: Client
    clock: FrozenClock
    admin: Headers
    community_id: int
    other_community_id: int
    compound_id: int
    post_token: str
    coordinator: Headers  # serves a compound of the community
    stranger: Headers  # a coordinator of the other community only

    async def apply(self, phone: str, **more: Any) -> Response:
        body = {
            "event_id": new_event_id(),
            "community_id": self.community_id,
            "name": "朱秀娟",
            "phone": phone,
            "pin": PIN,
            **more,
        }
        return await self.client.post(APPLY, json=body)

    async def applied(self, phone: str, **more: Any) -> int:
        response = await self.apply(phone, **more)
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "pending"
        return int(response.json()["id"])

    async def decide(
        self, application_id: int, verb: str, who: Headers, event_id: str | None = None
    ) -> Response:
        return await self.client.post(
            f"{APPLY}/{application_id}:{verb}",
            json={"event_id": event_id or new_event_id()},
            headers=who,
        )

    async def count(self, path: str) -> int:
        response = await self.client.get(path, headers=self.admin)
        assert response.status_code == 200, response.text
        return len(response.json()["items"])


@pytest.fixture
async def town(admin_user: None, settings: Settings) -> AsyncIterator[Town]:
    clock = FrozenClock(hangzhou(24, 10))
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        admin = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
        community = await created(client, admin, "/api/v1/communities", {"name": "卖鱼桥社区"})
        other = await created(client, admin, "/api/v1/communities", {"name": "大关社区"})
        compound = await created(
            client, admin, "/api/v1/compounds", {"community_id": community["id"], "name": "信义坊"}
        )
        other_compound = await created(
            client, admin, "/api/v1/compounds", {"community_id": other["id"], "name": "大关苑"}
        )
        post = await created(
            client, admin, "/api/v1/posts", {"compound_id": compound["id"], "name": "东门岗"}
        )
        coordinator = await make_user(
            client, admin, Role.COORDINATOR, compound_ids=[compound["id"]]
        )
        stranger = await make_user(
            client, admin, Role.COORDINATOR, compound_ids=[other_compound["id"]]
        )
        yield Town(
            client,
            clock,
            admin,
            community["id"],
            other["id"],
            compound["id"],
            post["token"],
            coordinator,
            stranger,
        )


async def test_an_application_waits_for_a_coordinator_of_its_community(town: Town) -> None:
    application_id = await town.applied("138 1234 5678")
    mine = await town.client.get(f"{APPLY}?status=pending", headers=town.coordinator)
    assert mine.status_code == 200, mine.text
    (item,) = mine.json()["items"]
    assert item["id"] == application_id
    assert item["name"] == "朱秀娟"
    assert item["phone"] == "138****5678"  # masked for a coordinator
    assert item["status"] == "pending"
    assert "pin" not in str(item).lower().replace("pending", "")
    assert mine.json()["next_cursor"] is None
    by_admin = await town.client.get(f"{APPLY}?status=pending", headers=town.admin)
    assert by_admin.json()["items"][0]["phone"] == "13812345678"


async def test_a_coordinator_of_another_community_neither_sees_nor_decides_it(
    town: Town,
) -> None:
    application_id = await town.applied("13812345678")
    theirs = await town.client.get(f"{APPLY}?status=pending", headers=town.stranger)
    assert theirs.json()["items"] == []
    asked = await town.client.get(
        f"{APPLY}?status=pending&community_id={town.community_id}", headers=town.stranger
    )
    assert_error(asked, 403, "out_of_scope")
    assert_error(await town.decide(application_id, "approve", town.stranger), 403, "out_of_scope")
    assert await town.count(f"/api/v1/volunteers?community_id={town.community_id}") == 0


async def test_approval_makes_the_volunteer_its_account_and_the_pin_login(town: Town) -> None:
    application_id = await town.applied(
        "13812345678", party={"kind": "party_member", "branch": "信义坊第一党支部"}
    )
    response = await town.decide(application_id, "approve", town.coordinator)
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["status"] == "approved"
    assert reply["id"] == application_id
    volunteers = await town.client.get(
        f"/api/v1/volunteers?community_id={town.community_id}", headers=town.admin
    )
    (volunteer,) = volunteers.json()["items"]
    assert volunteer["id"] == reply["volunteer_id"]
    assert volunteer["affiliation"] == "party_member"
    assert volunteer["party_branch"] == "信义坊第一党支部"
    account = await town.client.get(
        f"/api/v1/accounts/{volunteer['account_id']}", headers=town.admin
    )
    assert account.json()["kind"] == "volunteer"

    member = await sign_in(town.client, "13812345678", PIN)
    me = (await town.client.get("/api/v1/me", headers=member)).json()
    assert me["user_id"] == reply["user_id"]
    assert me["role"] == "volunteer"
    assert me["volunteer_id"] == reply["volunteer_id"]
    check_in = await town.client.post(
        "/api/v1/shifts/check-in",
        json={"event_id": new_event_id(), "post_token": town.post_token},
        headers=member,
    )
    assert check_in.status_code == 201, check_in.text


async def test_a_declined_applicant_gets_nothing(town: Town) -> None:
    application_id = await town.applied("13812345678")
    response = await town.decide(application_id, "decline", town.coordinator)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": application_id,
        "status": "declined",
        "volunteer_id": None,
        "user_id": None,
    }
    refused = await town.client.post(
        "/api/v1/auth/token", json={"username": "13812345678", "password": PIN}
    )
    assert_error(refused, 401, "invalid_credentials")
    assert await town.count(f"/api/v1/volunteers?community_id={town.community_id}") == 0
    declined = await town.client.get(f"{APPLY}?status=declined", headers=town.coordinator)
    assert [item["id"] for item in declined.json()["items"]] == [application_id]


async def test_an_application_is_decided_once_and_a_resend_replays(town: Town) -> None:
    application_id = await town.applied("13812345678")
    event_id = new_event_id()
    first = await town.decide(application_id, "approve", town.coordinator, event_id)
    again = await town.decide(application_id, "approve", town.coordinator, event_id)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    for verb in ("approve", "decline"):
        body = assert_error(
            await town.decide(application_id, verb, town.admin), 409, "already_decided"
        )
        assert body["status"] == "approved"
    assert await town.count(f"/api/v1/volunteers?community_id={town.community_id}") == 1


async def test_a_resent_application_replays_and_a_changed_one_conflicts(town: Town) -> None:
    body = {
        "event_id": new_event_id(),
        "community_id": town.community_id,
        "name": "朱秀娟",
        "phone": "13812345678",
        "pin": PIN,
    }
    first = await town.client.post(APPLY, json=body)
    again = await town.client.post(APPLY, json=body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    changed = await town.client.post(APPLY, json=body | {"name": "李明"})
    assert_error(changed, 409, "idempotency_conflict")
    assert await town.count(f"{APPLY}?status=pending") == 1


async def test_the_pin_is_kept_nowhere_in_clear(town: Town) -> None:
    event_id = new_event_id()
    body = {
        "event_id": event_id,
        "community_id": town.community_id,
        "name": "朱秀娟",
        "phone": "13812345678",
        "pin": PIN,
    }
    assert (await town.client.post(APPLY, json=body)).status_code == 201
    audit = await town.client.get(
        "/api/v1/audit?actor=applicant&role=volunteer", headers=town.admin
    )
    assert audit.status_code == 200, audit.text
    assert event_id in audit.text
    assert PIN not in audit.text
    assert "13812345678" not in audit.text
    assert "138****5678" in audit.text
    # A refusal is kept too: the duplicate's record holds no number either.
    refused_id = new_event_id()
    refused = await town.client.post(APPLY, json=body | {"event_id": refused_id})
    assert_error(refused, 409, "duplicate")
    audit = await town.client.get(
        "/api/v1/audit?actor=applicant&role=volunteer", headers=town.admin
    )
    assert refused_id in audit.text
    assert len(audit.json()["items"]) == 2
    for item in audit.json()["items"]:
        assert "13812345678" not in str(item), item
        assert PIN not in str(item), item
    # The same id with another number is still told apart: a conflict, not a replay.
    other = await town.client.post(APPLY, json=body | {"phone": "13812340000"})
    assert_error(other, 409, "idempotency_conflict")


async def test_a_number_registered_before_approval_makes_nothing(town: Town) -> None:
    application_id = await town.applied("13812345678")
    # Between the application and the decision, staff give someone that number as username.
    await created(
        town.client,
        town.admin,
        "/api/v1/users",
        {"username": "13812345678", "password": USER_PASSWORD, "role": "clerk"},
    )
    last = await created(
        town.client,
        town.admin,
        "/api/v1/merchants",
        {"community_id": town.community_id, "name": "菜场"},
    )
    refused = await town.decide(application_id, "approve", town.coordinator)
    assert_error(refused, 409, "phone_taken")
    assert await town.count(f"/api/v1/volunteers?community_id={town.community_id}") == 0
    for account_id in range(last["account_id"] + 1, last["account_id"] + 4):
        missing = await town.client.get(f"/api/v1/accounts/{account_id}", headers=town.admin)
        assert_error(missing, 404, "not_found")  # no account was opened for the volunteer
    still = await town.client.get(f"{APPLY}?status=pending", headers=town.coordinator)
    assert [item["id"] for item in still.json()["items"]] == [application_id]
    # The coordinator can still decline it.
    declined = await town.decide(application_id, "decline", town.coordinator)
    assert declined.status_code == 200, declined.text


async def test_a_registered_number_or_a_waiting_one_cannot_apply_again(town: Town) -> None:
    application_id = await town.applied("13812345678")
    assert_error(await town.apply("13812345678"), 409, "duplicate")
    await town.decide(application_id, "approve", town.coordinator)
    assert_error(await town.apply("+86 138-1234-5678"), 409, "phone_taken")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"pin": "123456"}, "pin"),
        ({"pin": "12a456"}, "pin"),
        ({"name": "   "}, "name"),
        ({"party": {"kind": "party_member"}}, "party.branch"),
        ({"party": {"kind": "owners_committee", "branch": "一支部"}}, "party.branch"),
        ({"party": {"kind": "union"}}, "party.kind"),
        ({"community_id": 999_999}, None),
    ],
)
async def test_bad_applications_are_refused_naming_the_field(
    town: Town, change: dict[str, Any], field: str | None
) -> None:
    body = {
        "event_id": new_event_id(),
        "community_id": town.community_id,
        "name": "朱秀娟",
        "phone": "13812345678",
        "pin": PIN,
        **change,
    }
    response = await town.client.post(APPLY, json=body)
    if field is None:
        assert_error(response, 404, "not_found")
    else:
        assert response.status_code == 400, response.text
        assert field in (response.json().get("field") or ""), response.text
    assert await town.count(f"{APPLY}?status=pending") == 0


async def test_only_coordinators_and_admins_list_and_decide(town: Town) -> None:
    application_id = await town.applied("13812345678")
    clerk = await make_user(town.client, town.admin, Role.CLERK, compound_ids=[town.compound_id])
    assert_error(await town.client.get(APPLY, headers=clerk), 403, "forbidden")
    assert_error(await town.client.get(APPLY), 401, "unauthorized")
    assert_error(await town.decide(application_id, "approve", clerk), 403, "forbidden")
    missing = await town.decide(application_id, "promote", town.coordinator)
    assert missing.status_code == 404


@pytest.mark.parametrize("number", ["²", "①", "1²", "٣", "１"])
async def test_an_application_id_in_other_digits_is_not_found(town: Town, number: str) -> None:
    application_id = await town.applied("13812345678")
    for verb in ("approve", "decline"):
        missing = await town.client.post(
            f"{APPLY}/{number}:{verb}", json={"event_id": new_event_id()}, headers=town.admin
        )
        assert_error(missing, 404, "not_found")
    # Staff user ids in the same path shape are refused alike.
    user = await town.client.post(
        f"/api/v1/users/{number}:deactivate", json={"event_id": new_event_id()}, headers=town.admin
    )
    assert_error(user, 404, "not_found")
    still = await town.client.get(f"{APPLY}?status=pending", headers=town.admin)
    assert [item["id"] for item in still.json()["items"]] == [application_id]


async def test_a_volunteer_login_needs_a_volunteer_record(town: Town) -> None:
    body = {"username": "lonely", "password": USER_PASSWORD, "role": "volunteer"}
    response = await town.client.post(
        "/api/v1/users", json={"event_id": new_event_id(), **body}, headers=town.admin
    )
    assert_error(response, 400, "validation_error")
    assert response.json()["field"] == "volunteer_id"
    refused = await town.client.post(
        "/api/v1/auth/token", json={"username": "lonely", "password": USER_PASSWORD}
    )
    assert_error(refused, 401, "invalid_credentials")


async def test_a_user_cannot_be_made_a_volunteer_without_a_record(town: Town) -> None:
    made = await created(
        town.client,
        town.admin,
        "/api/v1/users",
        {"username": "clerk-1", "password": USER_PASSWORD, "role": "clerk"},
    )
    response = await town.client.patch(
        f"/api/v1/users/{made['id']}",
        json={"event_id": new_event_id(), "role": "volunteer"},
        headers=town.admin,
    )
    assert_error(response, 400, "validation_error")
    assert response.json()["field"] == "volunteer_id"


async def test_hours_are_reported_by_party_branch_and_affiliation(town: Town) -> None:
    parties = {
        "13800000001": {"kind": "party_member", "branch": "第一党支部"},
        "13800000002": {"kind": "party_member", "branch": "第二党支部"},
        "13800000003": {"kind": "property_company"},
        "13800000004": None,
    }
    members = {}
    for phone, party in parties.items():
        application_id = await town.applied(phone, **({"party": party} if party else {}))
        decided = await town.decide(application_id, "approve", town.coordinator)
        assert decided.status_code == 200, decided.text
        members[phone] = await sign_in(town.client, phone, PIN)
    minutes = {"13800000001": 60, "13800000002": 90, "13800000003": 30, "13800000004": 45}
    for phone, length in minutes.items():
        scan = {"post_token": town.post_token}
        await created(town.client, members[phone], "/api/v1/shifts/check-in", scan)
        town.clock.advance(minutes=length)
        done = await town.client.post(
            "/api/v1/shifts/check-out",
            json={"event_id": new_event_id(), **scan},
            headers=members[phone],
        )
        assert done.json()["minutes"] == length, done.text
    pending = (await town.client.get("/api/v1/shifts", headers=town.coordinator)).json()
    ids = [item["id"] for item in pending["items"]]
    decided = await town.client.post(
        "/api/v1/shifts:decide",
        json={"event_id": new_event_id(), "shift_ids": ids, "outcome": "approve"},
        headers=town.coordinator,
    )
    assert decided.status_code == 200, decided.text

    period = {"community_id": town.community_id, "from": "2026-11-24", "to": "2026-11-24"}
    by_branch = await town.client.get(
        "/api/v1/reports/volunteers", params=period | {"by": "branch"}, headers=town.admin
    )
    assert by_branch.status_code == 200, by_branch.text
    assert [(r["group"], r["minutes"], r["hours"]) for r in by_branch.json()["rows"]] == [
        ("第二党支部", 90, "1.5"),
        ("第一党支部", 60, "1.0"),
    ]
    by_party = await town.client.get(
        "/api/v1/reports/volunteers", params=period | {"by": "affiliation"}, headers=town.admin
    )
    rows = {r["group"]: (r["volunteers"], r["minutes"]) for r in by_party.json()["rows"]}
    assert rows == {
        "party_member": (2, 150),
        "none": (1, 45),
        "property_company": (1, 30),
        "owners_committee": (0, 0),
    }
    csv = await town.client.get(
        "/api/v1/reports/volunteers",
        params=period | {"by": "branch", "format": "csv"},
        headers=town.admin,
    )
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.lstrip("\ufeff").splitlines()[:2] == [
        "group,volunteers,minutes,hours",
        "第二党支部,1,90,1.5",
    ]
    # The file's name: what, the community, `by` and the dates (ASCII, and the Chinese).
    disposition = csv.headers["content-disposition"]
    stem = "branch_2026-11-24_2026-11-24.csv"
    assert f'filename="volunteer-hours-community-{town.community_id}_{stem}"' in disposition
    assert disposition.endswith(quote(f"_志愿服务时长_{stem}", safe=""))
    coordinator = await town.client.get(
        "/api/v1/reports/volunteers", params=period, headers=town.coordinator
    )
    assert_error(coordinator, 403, "forbidden")


async def test_approvals_sent_at_once_make_one_volunteer(town: Town) -> None:
    application_id = await town.applied("13812345678")
    deciders = (town.coordinator, town.admin, town.coordinator, town.admin)
    replies = await asyncio.gather(
        *(town.decide(application_id, "approve", who) for who in deciders)
    )
    assert sorted(reply.status_code for reply in replies) == [200, 409, 409, 409]
    for reply in replies:
        if reply.status_code == 409:
            assert reply.json()["code"] == "already_decided"
    assert await town.count(f"/api/v1/volunteers?community_id={town.community_id}") == 1

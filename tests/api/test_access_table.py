"""Who may call what: every endpoint × every role (and nobody) × the place it acts on.

The places (tests/api/security_world.py): the caller's "own" household (for staff: a household
in the compound they serve), "other_household" (a neighbour in the same compound),
"other_compound" (a compound of the same community that the staff do not serve) and
"other_community". For volunteer endpoints the places are the caller's own volunteer record,
another volunteer of the same community (twice) and a volunteer of the other community.

A cell is one token, or four (own, other household, other compound, other community):
`200`, `201`, `409`…: that status; `403f`: 403 `forbidden` (outside the caller's role or
household); `403s`: 403 `out_of_scope` (outside the caller's compounds or community);
`401`: 401 `unauthorized`. Roles not named get `403f`; nobody (no token) gets `401`.

The routes are read from the app: an endpoint without a row fails the test, and so does a
route outside /api/ that is not listed in NOT_API with who may use it.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from httpx import Response
from litestar import Litestar
from litestar.routes import ASGIRoute, HTTPRoute
from litestar.testing import AsyncTestClient
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from api.app import create_app
from api.settings import Settings
from ledger.domain.access import Role
from tests.api.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    Headers,
    assert_error,
    bearer,
    created,
    make_world,
    new_event_id,
    sign_in,
)
from tests.api.security_world import (
    SCOPES,
    Client,
    Estate,
    Site,
    add_user,
    build_estate,
    frozen_app_clock,
    unique,
)

ANONYMOUS = "anonymous"
A, C, I, K, V, R = (role.value for role in Role)  # noqa: E741
OWN_ONLY = "{} 403f 403f 403f"
IN_COMPOUND = "{} {} 403s 403s"
EVERYONE = "*"

# --- the table --------------------------------------------------------------------------------

TABLE: dict[str, dict[str, str]] = {
    # auth and people
    "SignIn": {EVERYONE: "200", ANONYMOUS: "200"},
    "WhoAmI": {EVERYONE: "200"},
    "MyNotices": {EVERYONE: "200"},
    "MarkNoticesRead": {EVERYONE: "200"},
    "CreateUser": {A: "201"},
    "ChangeUser": {A: "200"},
    "UserAction": {A: "200"},
    # registry (admin)
    "ListCommunities": {A: "200"},
    "ListCompounds": {A: "200"},
    "ListHouseholds": {A: "200"},
    "ListCollectionPoints": {A: "200"},
    "ListDutyPosts": {A: "200"},
    "ListMerchants": {A: "200"},
    "ListVolunteers": {A: "200"},
    "ListRewards": {A: "200"},
    "CreateCommunity": {A: "201"},
    "CreateCompound": {A: "201"},
    "CreateHousehold": {A: "201"},
    "CreateCollectionPoint": {A: "201"},
    "CreateDutyPost": {A: "201"},
    "CreateMerchant": {A: "201"},
    "CreateVolunteer": {A: "201"},
    "CreateReward": {A: "201"},
    "ReissueCard": {A: "200"},
    # joining (issue 15): anyone may try, with a card and its code (a bad number here: 400);
    # members of the household and its compound's clerks see and remove members (a user who
    # is not a member: 404), clerks and admins reset the join code
    "JoinHousehold": {EVERYONE: "400", ANONYMOUS: "400"},
    "ListMembers": {A: "200", K: IN_COMPOUND.format(200, 200), R: OWN_ONLY.format(200)},
    "RemoveMember": {A: "404", K: IN_COMPOUND.format(404, 404), R: OWN_ONLY.format(404)},
    "ResetJoinCode": {A: "200", K: IN_COMPOUND.format(200, 200)},
    "GetRules": {A: "200"},
    "SetRules": {A: "200"},
    # ledger
    "GetAccount": {A: "200", K: IN_COMPOUND.format(200, 200), R: OWN_ONLY.format(200)},
    "ListAccountEntries": {A: "200", R: OWN_ONLY.format(200)},
    "Adjust": {A: "201"},
    "ReverseEntry": {A: "201"},
    "VerifyLedger": {A: "200"},
    # transparency log: keys and heads for anyone; a receipt for whoever sees the entry (its
    # entry is not sealed here: the app's sealer does not run in these tests)
    "ChainKeys": {EVERYONE: "200", ANONYMOUS: "200"},
    "ChainHeads": {EVERYONE: "200", ANONYMOUS: "200"},
    "EntryReceipt": {A: "409", R: OWN_ONLY.format(409)},
    # earning
    "GradeDropoff": {I: IN_COMPOUND.format(201, 201)},
    "RecordWeighin": {K: IN_COMPOUND.format(201, 201)},
    "RecordDropoff": {R: "201 201 201 403s"},  # any point of the resident's own community
    "PointQueue": {I: IN_COMPOUND.format(200, 200), C: IN_COMPOUND.format(200, 200), A: "200"},
    "CheckIn": {V: "201 201 201 403s"},
    "CheckOut": {V: "200 200 200 409"},  # after a check-in at the same post, when allowed
    "SubmitBatch": {I: "200", K: "200", V: "200", R: "200"},  # items: see the batch test
    "AppealGrade": {R: OWN_ONLY.format(201)},
    # volunteers who apply: anyone applies; coordinators of the community (any compound of it)
    "ApplyVolunteer": {EVERYONE: "201", ANONYMOUS: "201"},
    "ListVolunteerApplications": {C: "200", A: "200"},
    "DecideVolunteerApplication": {C: "200 200 200 403s", A: "200"},
    # photos: any place; reading a photo of a grade of the place's household, uploaded by an
    # inspector of every compound (the caller inspector is not its uploader)
    "UploadPhoto": {I: "201", C: "201", A: "201"},
    "GetPhoto": {A: "200", C: "200 200 200 403s", R: OWN_ONLY.format(200)},
    # coordination
    "ListShifts": {C: "200", A: "200"},
    "ApproveShift": {C: IN_COMPOUND.format(200, 200), A: "200"},
    "DeclineShift": {C: IN_COMPOUND.format(200, 200), A: "200"},
    "DecideShifts": {C: IN_COMPOUND.format(200, 200), A: "200"},
    "BackfillHours": {C: IN_COMPOUND.format(201, 201), A: "201"},
    "VolunteerHours": {V: OWN_ONLY.format(200), C: "200 200 200 403s", A: "200"},
    "VolunteerCertificate": {V: OWN_ONLY.format(200), C: "200 200 200 403s", A: "200"},
    "ListAppeals": {C: "200", A: "200"},
    "DecideAppeal": {C: IN_COMPOUND.format(200, 200), A: "200"},
    # re-inspection: a coordinator's own sample; a grade of an id never offered to the caller
    # is a 404 (offered to another coordinator: 403, tests/api/test_reinspections_api.py)
    "ReinspectionSample": {C: "200"},
    "Regrade": {C: "404"},
    # spending
    "Redeem": {K: IN_COMPOUND.format(201, 201), R: OWN_ONLY.format(201)},
    "RefundRedemption": {K: IN_COMPOUND.format(201, 201), A: "201"},
    "PayMerchant": {K: IN_COMPOUND.format(201, 201)},
    "ChangeReward": {A: "200"},
    "RestockReward": {A: "200"},
    "RetireReward": {A: "200"},
    "RewardHistory": {A: "200"},
    "SetRewardCost": {A: "201"},
    "RewardCosts": {A: "200"},
    "SetReorderThreshold": {A: "200"},
    "SettleMerchant": {A: "201"},
    "MerchantStatement": {A: "200"},
    "ListExpiringAccounts": {A: "200"},
    # boards, reports, audit, codes, health
    "Leaderboard": {EVERYONE: "200", ANONYMOUS: "200"},
    "RedBlackList": {EVERYONE: "200", ANONYMOUS: "200"},
    "CompoundReport": {A: "200"},
    "LiabilityReport": {A: "200"},
    "VolunteerHoursReport": {A: "200"},
    "DisagreementReport": {A: "200"},
    "InspectionFlags": {A: "200"},
    "ReportChart": {A: "200"},
    "AuditLog": {A: "200"},
    "GetQrImage": {A: "200"},
    "GetQrSheet": {A: "200"},
    "Health": {EVERYONE: "200", ANONYMOUS: "200"},
    "HealthLive": {EVERYONE: "200", ANONYMOUS: "200"},
    "HealthReady": {EVERYONE: "200", ANONYMOUS: "200"},
    # rotation (issue 19): coordinators plan any compound of their community; inspectors read
    # their own day
    "RotationPlan": {C: "200 200 200 403s", A: "200"},
    "AssignInspector": {C: "200 200 200 403s", A: "200"},
    "UnassignInspector": {C: "200 200 200 403s", A: "200"},
    "MyAssignment": {I: "200"},
}

# Cells where the app does not do what the table says, left out of the table test until fixed
# (each with a test of its own). Empty: the five gaps this table found are fixed.
KNOWN_GAPS: dict[tuple[str, str, str], str] = {}

# Routes outside the JSON API: the pages (cookie sign-in; tests/api/test_pages_*.py), the
# OpenAPI document, static files and piccolo-admin. Listed so that a new route is noticed.
NOT_API: dict[str, str] = {
    "GET /metrics": "Prometheus, with GREENLEDGER_METRICS_TOKEN (tests/api/test_metrics.py)",
    "GET /": "anyone: the start page",
    "GET /login": "anyone",
    "POST /login": "anyone",
    "POST /logout": "anyone",
    "GET /q/{token:str}": "anyone: what a scanned code opens",
    "GET /open": "anyone",
    "POST /scan/{token:str}/dropoff": "resident",
    "POST /scan/{token:str}/grade": "inspector",
    "POST /scan/{token:str}/check-in": "volunteer",
    "POST /scan/{token:str}/check-out": "volunteer",
    "GET /counter": "clerk",
    "GET /scan/{token:str}/redeem": "clerk",
    "POST /scan/{token:str}/redeem": "clerk",
    "GET /scan/{token:str}/pay": "clerk",
    "POST /scan/{token:str}/pay": "clerk",
    "GET /scan/{token:str}/weigh": "clerk",
    "POST /scan/{token:str}/weigh": "clerk",
    "GET /counter/refund": "clerk, admin",
    "POST /counter/refund": "clerk, admin",
    "GET /home": "resident",
    "GET /home/appeal/{inspection_id:int}": "resident",
    "GET /home/receipt/{entry_id:int}": "resident: an entry's receipt (its account's members)",
    "GET /log": "anyone: the published day heads (tests/api/test_transparency_pages.py)",
    "GET /log/check": "anyone: a receipt checked against its day head",
    "POST /home/appeal/{inspection_id:int}": "resident",
    "GET /volunteer": "volunteer",
    "POST /notices/read": "anyone signed in: marks their own notices read",
    "GET /inspector": "inspector",
    "GET /coordinator/rotation": "coordinator, admin: the rotation plan (test_rotation_pages.py)",
    "POST /coordinator/rotation": "coordinator, admin: assign or remove a week",
    "GET /app/scan": "inspector: the in-app scanner",
    "GET /app/grade": "inspector: the grading form the service worker serves offline",
    "GET /sw.js": "anyone: the inspector app's service worker",
    "GET /manifest.webmanifest": "anyone: the inspector app's manifest",
    "GET /coordinator": "coordinator, admin",
    "POST /coordinator/shifts": "coordinator, admin",
    "POST /coordinator/appeals/{appeal_id:int}": "coordinator, admin",
    "GET /coordinator/backfill": "coordinator, admin",
    "GET /coordinator/volunteers": "coordinator, admin",
    "POST /coordinator/volunteers/{application_id:int}": "coordinator, admin",
    "GET /volunteer/apply": "anyone: a volunteer's application form",
    "POST /volunteer/apply": "anyone",
    "POST /coordinator/backfill": "coordinator, admin",
    "GET /coordinator/reinspections": "coordinator: their re-inspection sample",
    "POST /coordinator/reinspections/{reinspection_id:int}": "coordinator: a re-grade",
    "GET /staff": "admin",
    "GET /staff/charts/{chart:str}": "admin",
    "GET /staff/verify": "admin",
    "GET /staff/books": "admin",
    "POST /staff/books/rewards/{reward_id:int}": "admin",
    "GET /staff/books/charts/flows.svg": "admin",
    "GET /staff/books/charts/owed.svg": "admin",
    "GET /staff/households": "admin",
    "GET /staff/accounts/{account_id:int}": "admin",
    "GET /staff/entries/{entry_id:int}/reverse": "admin",
    "POST /staff/entries/{entry_id:int}/reverse": "admin",
    "GET /staff/merchants": "admin",
    "GET /staff/merchants/{merchant_id:int}/settle": "admin",
    "POST /staff/merchants/{merchant_id:int}/settle": "admin",
    "GET /staff/households/{household_id:int}/card": "admin",
    "POST /staff/households/{household_id:int}/card": "admin",
    "GET /staff/users": "admin",
    "GET /join/{token:str}": "anyone: the join form a household card's page links to",
    "POST /join/{token:str}": "anyone (the card and its join code)",
    "POST /home/members/{user_id:int}/remove": "resident (a member of the household)",
    "GET /staff/households/{household_id:int}/join-code": "admin, clerk of its compound",
    "POST /staff/households/{household_id:int}/join-code": "admin, clerk of its compound",
    "POST /staff/households/{household_id:int}/join-code/members/{user_id:int}/remove": (
        "admin, clerk of its compound"
    ),
    "GET /staff/users/{user_id:int}/deactivate": "admin",
    "POST /staff/users/{user_id:int}/deactivate": "admin",
    "GET /static/{file_path:path}": "anyone",
    "HEAD /static/{file_path:path}": "anyone",
    "GET /swagger-ui/{file_path:path}": "anyone: Swagger UI's files for /schema/swagger",
    "HEAD /swagger-ui/{file_path:path}": "anyone",
    "* /admin": "admin (piccolo-admin, behind the sign-in cookie)",
    "GET /schema": "anyone: the OpenAPI document",
    "GET /schema/openapi.json": "anyone",
    "GET /schema/openapi.yml": "anyone",
    "GET /schema/openapi.yaml": "anyone",
    "GET /schema/swagger": "anyone",
    "GET /schema/{path:str}": "anyone",
    "GET /schema/oauth2-redirect.html": "anyone",
}


def expected(operation: str, caller: str, scope: str) -> tuple[int, str | None]:
    row = TABLE[operation]
    default = "401" if caller == ANONYMOUS else "403f"
    cell = row.get(caller, row.get(EVERYONE, default) if caller != ANONYMOUS else default)
    tokens = cell.split()
    token = tokens[SCOPES.index(scope)] if len(tokens) == len(SCOPES) else tokens[0]
    named = {
        "403f": (403, "forbidden"),
        "403s": (403, "out_of_scope"),
        "401": (401, "unauthorized"),
    }
    return named[token] if token in named else (int(token), None)


def passes_guard(operation: str, caller: str) -> bool:
    return any(expected(operation, caller, scope)[1] != "forbidden" for scope in SCOPES)


# --- the requests -----------------------------------------------------------------------------


@dataclass
class Call:
    method: str
    path: str
    json: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    after: Callable[[Response], Awaitable[None]] | None = None
    content: bytes | None = None  # a raw body (a photo) instead of JSON
    content_type: str | None = None


@dataclass
class Ask:
    """What a builder knows: the world, the caller, the place, and whether the request is
    expected past the role guard (then it gets things of its own to act on, such as a fresh
    pending shift; otherwise shared ones)."""

    estate: Estate
    role: Role | None
    scope: str
    fresh: bool
    shared: dict[tuple[str, str], int]

    @property
    def site(self) -> Site:
        return self.estate.sites[self.scope]

    @property
    def volunteer_id(self) -> int:
        return self.estate.volunteers[self.scope].volunteer_id

    async def thing(self, kind: str, make: Callable[[Site], Awaitable[int]]) -> int:
        if self.fresh:
            return await make(self.site)
        key = (kind, self.scope)
        if key not in self.shared:
            self.shared[key] = await make(self.site)
        return self.shared[key]


def write(path: str, **body: Any) -> Call:
    return Call("POST", path, json={"event_id": new_event_id(), **body})


Builder = Callable[[Ask], Awaitable[Call]]
BUILDERS: dict[str, Builder] = {}


def builds(*operations: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        for operation in operations:
            BUILDERS[operation] = builder
        return builder

    return register


def simple(operation: str, make: Callable[[Ask], Call]) -> None:
    async def builder(ask: Ask) -> Call:
        return make(ask)

    BUILDERS[operation] = builder


simple("SignIn", lambda a: Call("POST", "/api/v1/auth/token", json=_credentials(a)))
simple("WhoAmI", lambda a: Call("GET", "/api/v1/me"))
simple("MyNotices", lambda a: Call("GET", "/api/v1/me/notices"))
simple("MarkNoticesRead", lambda a: Call("POST", "/api/v1/me/notices:read", json={"up_to_id": 1}))
simple(
    "CreateUser",
    lambda a: write(
        "/api/v1/users",
        username=unique("clerk-"),
        password="user-password-2026",
        role="clerk",
        compound_ids=[a.site.compound_id],
    ),
)
for _operation, _path, _query in (
    ("ListCommunities", "communities", {}),
    ("ListCompounds", "compounds", {"community_id": "community_id"}),
    ("ListHouseholds", "households", {"compound_id": "compound_id"}),
    ("ListCollectionPoints", "points", {"compound_id": "compound_id"}),
    ("ListDutyPosts", "posts", {"compound_id": "compound_id"}),
    ("ListMerchants", "merchants", {"community_id": "community_id"}),
    ("ListVolunteers", "volunteers", {"community_id": "community_id"}),
    ("ListRewards", "rewards", {"community_id": "community_id"}),
):
    simple(
        _operation,
        lambda a, p=_path, q=_query: Call(
            "GET", f"/api/v1/{p}", params={k: getattr(a.site, v) for k, v in q.items()}
        ),
    )
simple("CreateCommunity", lambda a: write("/api/v1/communities", name=unique("社区")))
simple(
    "CreateCompound",
    lambda a: write("/api/v1/compounds", community_id=a.site.community_id, name=unique("小区")),
)
simple(
    "CreateHousehold",
    lambda a: write(
        "/api/v1/households",
        compound_id=a.site.compound_id,
        building="9",
        unit="9",
        room=unique("r")[:20],
    ),
)
simple(
    "CreateCollectionPoint",
    lambda a: write("/api/v1/points", compound_id=a.site.compound_id, name=unique("点")),
)
simple(
    "CreateDutyPost",
    lambda a: write("/api/v1/posts", compound_id=a.site.compound_id, name=unique("岗")),
)
simple(
    "CreateMerchant",
    lambda a: write("/api/v1/merchants", community_id=a.site.community_id, name=unique("店")),
)
simple(
    "CreateVolunteer",
    lambda a: write("/api/v1/volunteers", community_id=a.site.community_id, name=unique("人")),
)
simple(
    "CreateReward",
    lambda a: write(
        "/api/v1/rewards",
        community_id=a.site.community_id,
        name=unique("礼"),
        cost_points=1,
        stock=10,
    ),
)
simple("GetRules", lambda a: Call("GET", f"/api/v1/communities/{a.site.community_id}/rules"))
simple(
    "SetRules",
    lambda a: Call(
        "PUT",
        f"/api/v1/communities/{a.site.community_id}/rules",
        json={
            "event_id": new_event_id(),
            "effective_from": "2026-12-01T00:00:00+08:00",
            "rules": {},
        },
    ),
)
simple("GetAccount", lambda a: Call("GET", f"/api/v1/accounts/{a.site.account_id}"))
simple("ListAccountEntries", lambda a: Call("GET", f"/api/v1/accounts/{a.site.account_id}/entries"))
simple(
    "Adjust",
    lambda a: write(
        "/api/v1/adjustments", account_id=a.site.account_id, amount_points=1, reason="x"
    ),
)
simple("VerifyLedger", lambda a: Call("GET", "/api/v1/ledger/verify"))
simple(
    "GradeDropoff",
    lambda a: write(
        "/api/v1/inspections",
        household_token=a.site.card_token,
        point_token=a.site.point_token,
        stream="kitchen",
        grade="good",
    ),
)
simple(
    "RecordWeighin",
    lambda a: write(
        "/api/v1/weighins", household_token=a.site.card_token, material="paper", grams=1500
    ),
)
simple("RecordDropoff", lambda a: write("/api/v1/dropoffs", point_token=a.site.point_token))
simple(
    "SubmitBatch",
    lambda a: Call(
        "POST",
        "/api/v1/events:batch",
        json={
            "events": [
                {
                    "type": "inspection",
                    "event_id": new_event_id(),
                    "household_token": a.site.card_token,
                    "point_token": a.site.point_token,
                    "stream": "other",
                    "grade": "good",
                }
            ]
        },
    ),
)
simple("ListShifts", lambda a: Call("GET", "/api/v1/shifts"))
simple("ListAppeals", lambda a: Call("GET", "/api/v1/appeals"))
simple(
    "BackfillHours",
    lambda a: write(
        "/api/v1/shifts:backfill",
        volunteer_id=a.estate.community_volunteer[a.site.community_id].volunteer_id,
        compound_id=a.site.compound_id,
        day="2026-11-20",
        minutes=30,
        note="签到表",
    ),
)
simple("VolunteerHours", lambda a: Call("GET", f"/api/v1/volunteers/{a.volunteer_id}/hours"))
simple(
    "VolunteerCertificate",
    lambda a: Call("GET", f"/api/v1/volunteers/{a.volunteer_id}/certificate"),
)
simple(
    "PayMerchant",
    lambda a: write(
        "/api/v1/payments",
        household_token=a.site.card_token,
        merchant_id=a.site.merchant_id,
        amount_points=1,
    ),
)
simple(
    "ChangeReward",
    lambda a: Call(
        "PATCH",
        f"/api/v1/rewards/{a.site.reward_id}",
        json={"event_id": new_event_id(), "cost_points": 1},
    ),
)
simple("RestockReward", lambda a: write(f"/api/v1/rewards/{a.site.reward_id}/restock", quantity=1))
simple("RewardHistory", lambda a: Call("GET", f"/api/v1/rewards/{a.site.reward_id}/history"))
simple(
    "SetRewardCost",
    lambda a: write(
        f"/api/v1/rewards/{a.site.reward_id}/costs", community_id=a.site.community_id, cost_fen=250
    ),
)
simple("RewardCosts", lambda a: Call("GET", f"/api/v1/rewards/{a.site.reward_id}/costs"))
simple(
    "SetReorderThreshold",
    lambda a: write(
        f"/api/v1/rewards/{a.site.reward_id}/reorder-threshold",
        community_id=a.site.community_id,
        threshold=2,
    ),
)
simple(
    "MerchantStatement",
    lambda a: Call(
        "GET",
        f"/api/v1/merchants/{a.site.merchant_id}/statement",
        params={"from": "2026-11-01", "to": "2026-11-30"},
    ),
)
simple("ListExpiringAccounts", lambda a: Call("GET", "/api/v1/accounts:expiring"))
simple(
    "Leaderboard",
    lambda a: Call(
        "GET",
        "/api/v1/leaderboards",
        params={"board": "households", "scope_id": a.site.compound_id, "period": "all"},
    ),
)
simple(
    "RedBlackList",
    lambda a: Call(
        "GET", "/api/v1/leaderboards/redblack", params={"community_id": a.site.community_id}
    ),
)
_report = {"from": "2026-11-01", "to": "2026-11-30"}
simple(
    "CompoundReport",
    lambda a: Call(
        "GET",
        "/api/v1/reports/compounds",
        params={"community_id": a.site.community_id, **_report},
    ),
)
simple(
    "LiabilityReport",
    lambda a: Call(
        "GET",
        "/api/v1/reports/liability",
        params={"community_id": a.site.community_id, **_report},
    ),
)
simple(
    "ReportChart",
    lambda a: Call(
        "GET",
        "/api/v1/reports/charts/trends.svg",
        params={"community_id": a.site.community_id, **_report},
    ),
)
simple("AuditLog", lambda a: Call("GET", "/api/v1/audit"))
simple("ReinspectionSample", lambda a: Call("GET", "/api/v1/reinspections"))
simple("Regrade", lambda a: write("/api/v1/reinspections/999999/grade", grade="good"))
for _operation, _path in (
    ("DisagreementReport", "/api/v1/reports/reinspections"),
    ("InspectionFlags", "/api/v1/reports/inspection-flags"),
):
    simple(
        _operation,
        lambda a, path=_path: Call(
            "GET", path, params={"community_id": a.site.community_id, **_report}
        ),
    )
simple(
    "JoinHousehold",
    lambda a: Call(
        "POST",
        "/api/v1/households/join",
        json={
            "card_token": a.site.card_token,
            "join_code": "482916",
            "phone": "12345",
            "pin": "284913",
        },
    ),
)
simple("ListMembers", lambda a: Call("GET", f"/api/v1/households/{a.site.household_id}/members"))
simple(
    "RemoveMember",
    lambda a: Call("DELETE", f"/api/v1/households/{a.site.household_id}/members/{2**40}"),
)
simple(
    "ResetJoinCode", lambda a: write(f"/api/v1/households/{a.site.household_id}/join-code:reset")
)
simple("GetQrImage", lambda a: Call("GET", f"/api/v1/qr/household/{a.site.household_id}.svg"))
simple(
    "GetQrSheet",
    lambda a: Call(
        "GET", "/api/v1/qr/sheet", params={"compound_id": a.site.compound_id, "kind": "point"}
    ),
)
simple("Health", lambda a: Call("GET", "/health"))
simple("HealthLive", lambda a: Call("GET", "/health/live"))
simple("HealthReady", lambda a: Call("GET", "/health/ready"))
_phones = itertools.count(1)


def _application(site: Site) -> dict[str, Any]:
    return {
        "community_id": site.community_id,
        "name": unique("人")[:50],
        "phone": f"139{next(_phones):08d}",
        "pin": "582039",
    }


simple("ApplyVolunteer", lambda a: write("/api/v1/volunteers/applications", **_application(a.site)))
simple("ListVolunteerApplications", lambda a: Call("GET", "/api/v1/volunteers/applications"))
simple(
    "VolunteerHoursReport",
    lambda a: Call(
        "GET",
        "/api/v1/reports/volunteers",
        params={"community_id": a.site.community_id, "by": "branch", **_report},
    ),
)


@builds("DecideVolunteerApplication")
async def _decide_application(ask: Ask) -> Call:
    async def application(site: Site) -> int:
        body = {"event_id": new_event_id(), **_application(site)}
        reply = await ask.estate.client.post("/api/v1/volunteers/applications", json=body)
        assert reply.status_code == 201, reply.text
        return int(reply.json()["id"])

    application_id = await ask.thing("application", application)
    return write(f"/api/v1/volunteers/applications/{application_id}:approve")


def _credentials(ask: Ask) -> dict[str, str]:
    role = ask.role or Role.RESIDENT
    password = "admin-password-2026" if role is Role.ADMIN else "user-password-2026"
    return {"username": ask.estate.usernames[role], "password": password}


async def _target_user(ask: Ask) -> int:
    """A clerk of the site's own, so that no caller's token is the one revoked."""

    async def user(site: Site) -> int:
        body = {
            "username": unique("target-"),
            "password": "user-password-2026",
            "role": "clerk",
            "compound_ids": [site.compound_id],
        }
        return int(
            (await created(ask.estate.client, ask.estate.admin, "/api/v1/users", body))["id"]
        )

    return await ask.thing("user", user)


@builds("ChangeUser")
async def _change_user(ask: Ask) -> Call:
    user_id = await _target_user(ask)
    body = {"event_id": new_event_id(), "role": "inspector"}
    return Call("PATCH", f"/api/v1/users/{user_id}", json=body)


@builds("UserAction")
async def _deactivate_user(ask: Ask) -> Call:
    return write(f"/api/v1/users/{await _target_user(ask)}:deactivate")


@builds("ReissueCard")
async def _reissue(ask: Ask) -> Call:
    """A household of its own: a re-issued card voids the one the other cells use."""

    async def household(site: Site) -> int:
        body = {"compound_id": site.compound_id, "building": "8", "unit": "8", "room": unique("")}
        return int(
            (await created(ask.estate.client, ask.estate.admin, "/api/v1/households", body))["id"]
        )

    household_id = await ask.thing("household", household)
    return write(f"/api/v1/households/{household_id}/card:reissue")


@builds("ReverseEntry")
async def _reverse(ask: Ask) -> Call:
    entry_id = await ask.thing("entry", ask.estate.entry)
    return write(f"/api/v1/entries/{entry_id}/reverse", reason="录错了")


@builds("EntryReceipt")
async def _receipt(ask: Ask) -> Call:
    entry_id = await ask.thing("receipt-entry", ask.estate.entry)
    return Call("GET", f"/api/v1/entries/{entry_id}/receipt")


simple("ChainKeys", lambda a: Call("GET", "/api/v1/chain/key"))
simple("ChainHeads", lambda a: Call("GET", "/api/v1/chain/heads"))


@builds("AppealGrade")
async def _appeal(ask: Ask) -> Call:
    inspection_id = await ask.thing("inspection", ask.estate.inspection)
    return write(f"/api/v1/inspections/{inspection_id}/appeal", reason="评错了")


def _photo_bytes() -> bytes:
    """A PNG no other cell has sent (a unique text chunk), so each upload is a new photo."""
    info = PngInfo()
    info.add_text("cell", unique("cell"))
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), (20, 120, 60)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


_PHOTO_REFS: dict[int, str] = {}  # household id → the ref of the photo of its latest grade


@builds("UploadPhoto")
async def _upload_photo(ask: Ask) -> Call:
    return Call("POST", "/api/v1/photos", content=_photo_bytes(), content_type="image/png")


@builds("GetPhoto")
async def _get_photo(ask: Ask) -> Call:
    async def graded_photo(site: Site) -> int:
        client, inspector = ask.estate.client, ask.estate.inspector_everywhere
        uploaded = await client.post(
            "/api/v1/photos",
            content=_photo_bytes(),
            headers={**inspector, "content-type": "image/png"},
        )
        assert uploaded.status_code == 201, uploaded.text
        ref = uploaded.json()["photo_ref"]
        body = {
            "household_token": site.card_token,
            "point_token": site.point_token,
            "stream": "kitchen",
            "grade": "fair",
            "photo_ref": ref,
        }
        await created(client, inspector, "/api/v1/inspections", body)
        _PHOTO_REFS[site.household_id] = ref
        return site.household_id

    household_id = await ask.thing("photo", graded_photo)
    return Call("GET", f"/api/v1/photos/{_PHOTO_REFS[household_id]}")


@builds("DecideAppeal")
async def _decide_appeal(ask: Ask) -> Call:
    appeal_id = await ask.thing("appeal", ask.estate.open_appeal)
    return write(f"/api/v1/appeals/{appeal_id}/decide", outcome="rejected")


def _decide_shift(verb: str) -> Builder:
    async def builder(ask: Ask) -> Call:
        shift_id = await ask.thing("shift", ask.estate.pending_shift)
        return write(f"/api/v1/shifts/{shift_id}/{verb}")

    return builder


BUILDERS["ApproveShift"] = _decide_shift("approve")
BUILDERS["DeclineShift"] = _decide_shift("decline")


@builds("DecideShifts")
async def _decide_shifts(ask: Ask) -> Call:
    shift_id = await ask.thing("shift", ask.estate.pending_shift)
    return write("/api/v1/shifts:decide", shift_ids=[shift_id], outcome="approve")


@builds("Redeem")
async def _redeem(ask: Ask) -> Call:
    own = {"household_id": ask.site.household_id} if ask.role is Role.RESIDENT else {}
    holder = own or {"household_token": ask.site.card_token}
    return write("/api/v1/redemptions", reward_id=ask.site.reward_id, quantity=1, **holder)


@builds("RefundRedemption")
async def _refund(ask: Ask) -> Call:
    redemption_id = await ask.thing("redemption", ask.estate.redemption)
    return write(f"/api/v1/redemptions/{redemption_id}/refund", reason="退货")


@builds("RetireReward")
async def _retire(ask: Ask) -> Call:
    async def reward(site: Site) -> int:
        body = {
            "community_id": site.community_id,
            "name": unique("礼"),
            "cost_points": 1,
            "stock": 1,
        }
        return int(
            (await created(ask.estate.client, ask.estate.admin, "/api/v1/rewards", body))["id"]
        )

    reward_id = await ask.thing("reward", reward)
    return write(f"/api/v1/rewards/{reward_id}/retire")


@builds("PointQueue")
async def _point_queue(ask: Ask) -> Call:
    async def point_of(site: Site) -> int:
        client, admin = ask.estate.client, ask.estate.admin
        points = await client.get(
            "/api/v1/points", params={"compound_id": site.compound_id}, headers=admin
        )
        return int(points.json()["items"][0]["id"])

    point_id = await ask.thing("point", point_of)
    return Call("GET", f"/api/v1/points/{point_id}/queue")


@builds("SettleMerchant")
async def _settle(ask: Ask) -> Call:
    async def merchant_with_points(site: Site) -> int:
        client, admin = ask.estate.client, ask.estate.admin
        body = {"community_id": site.community_id, "name": unique("店")}
        merchant = await created(client, admin, "/api/v1/merchants", body)
        credit = {"account_id": merchant["account_id"], "amount_points": 5, "reason": "货款"}
        await created(client, admin, "/api/v1/adjustments", credit)
        return int(merchant["id"])

    merchant_id = await ask.thing("merchant", merchant_with_points)
    return write(f"/api/v1/merchants/{merchant_id}/settlements")


@builds("CheckIn")
async def _check_in(ask: Ask) -> Call:
    post = ask.site.post_token
    call = write("/api/v1/shifts/check-in", post_token=post)

    async def check_out(response: Response) -> None:
        if response.status_code == 201:
            ask.estate.clock.advance(minutes=15)
            headers = ask.estate.caller(ask.role)
            done = await ask.estate.client.post(
                "/api/v1/shifts/check-out",
                json={"event_id": new_event_id(), "post_token": post},
                headers=headers,
            )
            assert done.status_code == 200, done.text

    call.after = check_out
    return call


@builds("CheckOut")
async def _check_out(ask: Ask) -> Call:
    post = ask.site.post_token
    if ask.role is Role.VOLUNTEER:
        await ask.estate.client.post(
            "/api/v1/shifts/check-in",
            json={"event_id": new_event_id(), "post_token": post},
            headers=ask.estate.caller(ask.role),
        )
        ask.estate.clock.advance(minutes=15)
    return write("/api/v1/shifts/check-out", post_token=post)


# --- the app's routes -------------------------------------------------------------------------


def routes(app: Litestar) -> dict[str, str | None]:
    """`METHOD path` → operationId (None for routes outside the OpenAPI document)."""
    found: dict[str, str | None] = {}
    for route in app.routes:
        if isinstance(route, ASGIRoute):
            found[f"* {route.path}"] = None
            continue
        assert isinstance(route, HTTPRoute), route
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                if method == "OPTIONS":
                    continue
                documented = handler.resolve_include_in_schema()
                operation = handler.operation_id if documented else None
                assert operation is None or isinstance(operation, str), handler
                found[f"{method} {route.path}"] = operation
    return found


def test_every_route_has_a_row(settings: Settings) -> None:
    found = routes(create_app(settings))
    operations = {operation for operation in found.values() if operation is not None}
    unlisted = sorted(
        key for key, operation in found.items() if operation is None and key not in NOT_API
    )
    api_outside_document = sorted(
        key for key, operation in found.items() if operation is None and " /api/" in key
    )
    assert api_outside_document == [], "every /api/ route belongs in the OpenAPI document"
    assert sorted(operations - set(TABLE)) == [], "endpoints without a row in TABLE"
    assert sorted(set(TABLE) - operations) == [], "rows for endpoints that are gone"
    assert sorted(operations - set(BUILDERS)) == [], "endpoints without a request builder"
    assert unlisted == [], "routes outside the API: list them in NOT_API"
    assert sorted(set(NOT_API) - set(found)) == [], "NOT_API lists routes that are gone"


# --- the world --------------------------------------------------------------------------------


@pytest.fixture
async def estate(admin_user: None, settings: Settings) -> AsyncIterator[Estate]:
    clock = frozen_app_clock()
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        yield await build_estate(client, clock)


CALLERS: tuple[Role | None, ...] = (None, *Role)


def who(role: Role | None) -> str:
    return ANONYMOUS if role is None else role.value


async def send(estate: Estate, call: Call, headers: Headers) -> Response:
    if call.content is not None:
        raw = {**headers, "content-type": call.content_type or "application/octet-stream"}
        return await estate.client.request(
            call.method, call.path, content=call.content, params=call.params, headers=raw
        )
    return await estate.client.request(
        call.method, call.path, json=call.json, params=call.params, headers=headers
    )


# --- the table test ---------------------------------------------------------------------------


async def test_every_endpoint_role_and_place_gets_the_status_in_the_table(
    estate: Estate,
) -> None:
    shared: dict[tuple[str, str], int] = {}
    wrong: list[str] = []
    cells = 0
    for operation in TABLE:
        for role in CALLERS:
            for scope in SCOPES:
                if (operation, who(role), scope) in KNOWN_GAPS:
                    continue
                status, code = expected(operation, who(role), scope)
                fresh = passes_guard(operation, who(role))
                ask = Ask(estate, role, scope, fresh, shared)
                call = await BUILDERS[operation](ask)
                response = await send(estate, call, estate.caller(role))
                cells += 1
                got_code = _code(response)
                if response.status_code != status or (code is not None and got_code != code):
                    wrong.append(
                        f"{operation} as {who(role)} on {scope}: expected {status} {code or ''}, "
                        f"got {response.status_code} {got_code or ''} "
                        f"({call.method} {call.path} {response.text[:160]})"
                    )
                if call.after is not None:
                    await call.after(response)
    print(f"\naccess table: {cells} cells, {len(KNOWN_GAPS)} known gaps left out")
    assert wrong == [], "\n".join(wrong)


def _code(response: Response) -> str | None:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return None
    body = response.json()
    return body.get("code") if isinstance(body, dict) else None


# --- the gaps: what the table says, and the app does not do yet ----------------------------


async def _status(estate: Estate, operation: str, role: Role, scope: str) -> tuple[int, str]:
    ask = Ask(estate, role, scope, fresh=True, shared={})
    call = await BUILDERS[operation](ask)
    response = await send(estate, call, estate.caller(role))
    if call.after is not None:
        await call.after(response)
    return response.status_code, _code(response) or ""


async def test_a_clerk_reads_balances_only_in_the_compounds_they_serve(estate: Estate) -> None:
    for scope in ("other_compound", "other_community"):
        assert await _status(estate, "GetAccount", Role.CLERK, scope) == (403, "out_of_scope")


async def test_a_volunteer_checks_in_only_at_posts_of_their_community(estate: Estate) -> None:
    assert await _status(estate, "CheckIn", Role.VOLUNTEER, "other_community") == (
        403,
        "out_of_scope",
    )


async def test_a_coordinator_reads_hours_only_of_volunteers_of_their_community(
    estate: Estate,
) -> None:
    for operation in ("VolunteerHours", "VolunteerCertificate"):
        status = await _status(estate, operation, Role.COORDINATOR, "other_community")
        assert status == (403, "out_of_scope"), operation


async def test_a_coordinator_backfills_hours_only_for_volunteers_of_their_community(
    estate: Estate,
) -> None:
    body = {
        "volunteer_id": estate.volunteers["other_community"].volunteer_id,
        "compound_id": estate.sites["own"].compound_id,  # one the coordinator serves
        "day": "2026-11-20",
        "minutes": 60,
        "note": "签到表",
    }
    response = await estate.client.post(
        "/api/v1/shifts:backfill",
        json={"event_id": new_event_id(), **body},
        headers=estate.callers[Role.COORDINATOR],
    )
    assert_error(response, 403, "out_of_scope")


# --- sweeps: a resident reads only their household; an inspector grades only their compounds --


async def test_a_resident_reads_no_account_but_their_own(estate: Estate) -> None:
    resident = estate.callers[Role.RESIDENT]
    own = estate.sites["own"].account_id
    verify = await estate.client.get("/api/v1/ledger/verify", headers=estate.admin)
    last = max(own, *(site.account_id for site in estate.sites.values())) + 20
    assert verify.status_code == 200
    readable = []
    for account_id in range(1, last):
        for suffix in ("", "/entries"):
            path = f"/api/v1/accounts/{account_id}{suffix}"
            response = await estate.client.get(path, headers=resident)
            if response.status_code == 200:
                readable.append(path)
            else:
                assert_error(response, 403, "forbidden")
    assert readable == [f"/api/v1/accounts/{own}", f"/api/v1/accounts/{own}/entries"]


async def test_an_inspector_grades_only_households_and_points_of_their_compounds(
    estate: Estate,
) -> None:
    inspector = estate.callers[Role.INSPECTOR]
    home = estate.sites["own"].compound_id
    graded = 0
    for household in estate.sites.values():
        for point in estate.sites.values():
            body = {
                "event_id": new_event_id(),
                "household_token": household.card_token,
                "point_token": point.point_token,
                "stream": "other",
                "grade": "poor",
                "reasons": ["wrong_bin"],
            }
            response = await estate.client.post("/api/v1/inspections", json=body, headers=inspector)
            if household.compound_id == home and point.compound_id == home:
                assert response.status_code == 201, response.text
                graded += 1
            else:
                assert_error(response, 403, "out_of_scope")
            batch = {"events": [{"type": "inspection", **body, "event_id": new_event_id()}]}
            reply = await estate.client.post("/api/v1/events:batch", json=batch, headers=inspector)
            assert reply.status_code == 200, reply.text
            (item,) = reply.json()["results"]
            assert item["status"] == response.status_code, item
    assert graded == 4


async def test_an_inspector_never_grades_their_own_building(estate: Estate) -> None:
    neighbour = estate.sites["other_household"]  # same compound, same building as "own"
    _, inspector = await add_user(
        estate.client,
        estate.admin,
        Role.INSPECTOR,
        household_id=neighbour.household_id,
        compound_ids=[neighbour.compound_id],
    )
    body = {
        "event_id": new_event_id(),
        "household_token": estate.sites["own"].card_token,
        "point_token": neighbour.point_token,
        "stream": "kitchen",
        "grade": "good",
    }
    response = await estate.client.post("/api/v1/inspections", json=body, headers=inspector)
    assert_error(response, 403, "out_of_scope")


@pytest.mark.parametrize(
    ("role", "event", "scope", "status", "code"),
    [
        (Role.CLERK, "weighin", "other_compound", 403, "out_of_scope"),
        (Role.CLERK, "weighin", "other_household", 201, None),
        (Role.RESIDENT, "dropoff", "other_community", 403, "out_of_scope"),
        (Role.RESIDENT, "inspection", "own", 403, "forbidden"),
        (Role.CLERK, "inspection", "own", 403, "forbidden"),
        (Role.VOLUNTEER, "weighin", "own", 403, "forbidden"),
        (Role.INSPECTOR, "dropoff", "own", 403, "forbidden"),
    ],
)
async def test_a_batched_event_is_held_to_the_same_role_and_scope(
    estate: Estate, role: Role, event: str, scope: str, status: int, code: str | None
) -> None:
    site = estate.sites[scope]
    fields = {
        "weighin": {"household_token": site.card_token, "material": "metal", "grams": 2000},
        "dropoff": {"point_token": site.point_token},
        "inspection": {
            "household_token": site.card_token,
            "point_token": site.point_token,
            "stream": "kitchen",
            "grade": "good",
        },
    }[event]
    batch = {"events": [{"type": event, "event_id": new_event_id(), **fields}]}
    reply = await estate.client.post(
        "/api/v1/events:batch", json=batch, headers=estate.callers[role]
    )
    assert reply.status_code == 200, reply.text
    (item,) = reply.json()["results"]
    assert item["status"] == status, item
    assert code is None or item["body"]["code"] == code, item


async def test_a_coordinator_lists_only_shifts_and_appeals_of_their_compounds(
    estate: Estate,
) -> None:
    for site in estate.sites.values():
        await estate.pending_shift(site)
        await estate.open_appeal(site)
    home = estate.sites["own"].compound_id
    for path in ("/api/v1/shifts?status=pending", "/api/v1/appeals?status=open"):
        mine = await estate.client.get(path, headers=estate.callers[Role.COORDINATOR])
        everyone = await estate.client.get(path, headers=estate.admin)
        assert mine.status_code == everyone.status_code == 200, mine.text
        assert {item["compound"] for item in mine.json()["items"]} == {home}, path
        assert len(everyone.json()["items"]) == 4, path


# --- tokens: tampered, expired, wrong key → 401 on every endpoint that needs one ---------------


def _token(headers: Headers) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _bad_tokens(estate: Estate, settings: Settings) -> dict[str, str]:
    admin = _token(estate.admin)
    resident = _token(estate.callers[Role.RESIDENT])
    key = settings.derived_key("jwt").hex()
    claims = jwt.decode(admin, options={"verify_signature": False})
    now = int(time.time())
    other = dataclasses.replace(settings, secret_key="another-secret-key-" * 3)
    header, payload, signature = resident.split(".")
    promoted = jwt.decode(resident, options={"verify_signature": False})
    promoted["extras"] = {**promoted["extras"], "role": "admin"}
    promoted_payload = jwt.encode(promoted, "x" * 32, algorithm="HS256").split(".")[1]
    return {
        "tampered signature": f"{header}.{payload}.{signature[:-4]}{signature[-4:][::-1]}x",
        "tampered claims (resident made admin)": f"{header}.{promoted_payload}.{signature}",
        "expired": jwt.encode(claims | {"iat": now - 7200, "exp": now - 3600}, key, "HS256"),
        "signed with another key": jwt.encode(claims, other.derived_key("jwt").hex(), "HS256"),
        "unsigned (alg none)": jwt.encode(claims, None, algorithm="none"),
        "our key, a role that does not exist": jwt.encode(
            claims | {"extras": {**claims["extras"], "role": "root"}}, key, "HS256"
        ),
        "not a token": "not-a-token",
    }


async def test_a_bad_token_is_refused_with_401_on_every_endpoint_that_needs_one(
    estate: Estate, settings: Settings
) -> None:
    bad = _bad_tokens(estate, settings)
    shared: dict[tuple[str, str], int] = {}
    accepted = []
    checked = 0
    for operation in TABLE:
        if expected(operation, ANONYMOUS, "own") != (401, "unauthorized"):
            continue
        call = await BUILDERS[operation](Ask(estate, Role.ADMIN, "own", False, shared))
        for kind, token in bad.items():
            response = await send(estate, call, bearer(token))
            checked += 1
            if response.status_code != 401 or _code(response) != "unauthorized":
                accepted.append(f"{operation} with {kind}: {response.status_code}")
            if call.method == "GET":  # the pages' cookie carries the same token
                estate.client.cookies.set("gl_token", token)
                response = await send(estate, call, {})
                estate.client.cookies.clear()
                checked += 1
                if response.status_code != 401:
                    accepted.append(
                        f"{operation} with {kind} in the cookie: {response.status_code}"
                    )
    assert accepted == [], "\n".join(accepted)
    assert checked > 50 * len(bad)


# --- QR codes: a retired signing key ----------------------------------------------------------


async def test_a_code_signed_with_a_key_retired_after_rotation_is_refused(
    admin_user: None, settings: Settings
) -> None:
    old, new = ("a", "old-qr-signing-secret-" * 2), ("b", "new-qr-signing-secret-" * 2)
    clock = frozen_app_clock()
    stages = {
        "before": dataclasses.replace(settings, qr_keys=(old,)),
        "rotating": dataclasses.replace(settings, qr_keys=(new, old)),
        "after": dataclasses.replace(settings, qr_keys=(new,)),
    }
    codes: dict[str, str] = {}

    async def grade(client: Client, inspector: Headers, card: str, point: str) -> Response:
        body = {"household_token": card, "point_token": point, "stream": "kitchen"}
        body |= {"event_id": new_event_id(), "grade": "good"}
        return await client.post("/api/v1/inspections", json=body, headers=inspector)

    async with AsyncTestClient(app=create_app(stages["before"], clock=clock)) as client:
        admin = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
        world = await make_world(client, admin)
        point = await created(
            client, admin, "/api/v1/points", {"compound_id": world.compound_id, "name": "旧点"}
        )
        codes |= {"old card": world.card_token, "old point": point["token"]}
        _, inspector = await add_user(
            client, admin, Role.INSPECTOR, compound_ids=[world.compound_id]
        )
        _, clerk = await add_user(client, admin, Role.CLERK, compound_ids=[world.compound_id])
    assert codes["old card"].split(".")[3] == "a"

    async with AsyncTestClient(app=create_app(stages["rotating"], clock=clock)) as client:
        point = await created(
            client, admin, "/api/v1/points", {"compound_id": world.compound_id, "name": "新点"}
        )
        household = await created(
            client,
            admin,
            "/api/v1/households",
            {"compound_id": world.compound_id, "building": "4", "unit": "1", "room": "101"},
        )
        codes |= {"new point": point["token"], "new card": household["card_token"]}
        assert codes["new point"].split(".")[3] == "b"
        response = await grade(client, inspector, codes["old card"], codes["old point"])
        assert response.status_code == 201, "old codes still work while both keys verify"

    async with AsyncTestClient(app=create_app(stages["after"], clock=clock)) as client:
        refused = await grade(client, inspector, codes["old card"], codes["new point"])
        assert_error(refused, 422, "code_forged")
        refused = await grade(client, inspector, codes["new card"], codes["old point"])
        assert_error(refused, 422, "code_forged")
        weighin = {"household_token": codes["old card"], "material": "paper", "grams": 1000}
        refused = await client.post(
            "/api/v1/weighins", json={"event_id": new_event_id(), **weighin}, headers=clerk
        )
        assert_error(refused, 422, "code_forged")
        batch = {"events": [{"type": "weighin", "event_id": new_event_id(), **weighin}]}
        reply = await client.post("/api/v1/events:batch", json=batch, headers=clerk)
        (item,) = reply.json()["results"]
        assert (item["status"], item["body"]["code"]) == (422, "code_forged")
        accepted = await grade(client, inspector, codes["new card"], codes["new point"])
        assert accepted.status_code == 201, accepted.text
        history = await client.get(f"/api/v1/accounts/{world.account_id}", headers=admin)
        assert history.json()["balance_points"] == 10, "only the grade made while rotating"


async def test_a_resident_never_spends_another_households_points(estate: Estate) -> None:
    own, neighbour = estate.sites["own"], estate.sites["other_household"]
    scoped = await estate.client.post(
        "/api/v1/users",
        json={
            "event_id": new_event_id(),
            "username": "resident-with-scope",
            "password": "password-123",
            "role": "resident",
            "household_id": own.household_id,
            "compound_ids": [own.compound_id],
        },
        headers=estate.admin,
    )
    assert_error(scoped, 400, "validation_error")
    assert scoped.json()["field"] == "compound_ids"
    _, resident = await add_user(
        estate.client, estate.admin, Role.RESIDENT, household_id=own.household_id
    )
    body = {"household_token": neighbour.card_token, "reward_id": own.reward_id, "quantity": 1}
    response = await estate.client.post(
        "/api/v1/redemptions", json={"event_id": new_event_id(), **body}, headers=resident
    )
    assert response.status_code in (400, 403), response.text


# --- rotation (issue 19) ------------------------------------------------------------------


async def _plannable_inspector(ask: Ask) -> int:
    """An inspector serving no compound yet, so any community may plan them; a fresh one for
    each request past the guard (an assignment revokes its inspector's tokens)."""

    async def make(_: Site) -> int:
        body = {"username": unique("rota-"), "password": "rota-password-2026", "role": "inspector"}
        reply = await created(ask.estate.client, ask.estate.admin, "/api/v1/users", body)
        return int(reply["id"])

    return await ask.thing("rotation_inspector", make)


def _assignment(method: str) -> Builder:
    async def builder(ask: Ask) -> Call:
        inspector = await _plannable_inspector(ask)
        path = f"/api/v1/rotation/2026-W50/inspectors/{inspector}/compounds/{ask.site.compound_id}"
        return Call(method, path)

    return builder


BUILDERS["AssignInspector"] = _assignment("PUT")
BUILDERS["UnassignInspector"] = _assignment("DELETE")
simple("RotationPlan", lambda a: Call("GET", f"/api/v1/communities/{a.site.community_id}/rotation"))
simple("MyAssignment", lambda a: Call("GET", "/api/v1/inspectors/me/assignment"))

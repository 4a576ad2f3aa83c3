"""Hostile bodies, page forms and days are refused with a 4xx naming the problem, never a
5xx, and nothing is written."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.params import ParameterKwarg
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from litestar.typing import FieldDefinition

from api.app import create_app
from api.pages.i18n import speaking
from api.pages.messages import field_label
from api.settings import Settings
from ledger.domain.access import Role
from tests.api.conftest import (
    Headers,
    assert_error,
    created,
    make_user,
    make_world,
    new_event_id,
)
from tests.api.pages_helpers import csrf_from, seed, sign_in_page

Api = tuple[AsyncTestClient[Any], Headers]

HOSTILE_BODIES = {
    "oversized": (b'{"event_id":"a1","name":"' + b"x" * 3_000_000 + b'"}', 413, "body_too_large"),
    "deeply nested": (
        b'{"event_id":"a2","name":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        400,
        "validation_error",
    ),
    "bad utf-8": (b'{"event_id":"a3","name":"\xff\xfe"}', 400, "validation_error"),
    "truncated": (b'{"event_id":', 400, "validation_error"),
    "not an object": (b"[1, 2]", 400, "validation_error"),
    "nul in a name": (b'{"event_id":"a4","name":"x\\u0000y"}', 400, "validation_error"),
    "control character": (b'{"event_id":"a5","name":"x\\u0007"}', 400, "validation_error"),
    "unknown field": (b'{"event_id":"a6","name":"x","is_admin":true}', 400, "validation_error"),
}


async def _communities(client: AsyncTestClient[Any], admin: Headers) -> int:
    return len((await client.get("/api/v1/communities", headers=admin)).json()["items"])


@pytest.mark.parametrize("case", list(HOSTILE_BODIES))
async def test_a_hostile_body_is_refused_and_writes_nothing(api: Api, case: str) -> None:
    client, admin = api
    body, status, code = HOSTILE_BODIES[case]
    headers = admin | {"content-type": "application/json"}
    refused = await client.post("/api/v1/communities", content=body, headers=headers)
    assert_error(refused, status, code)
    assert await _communities(client, admin) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("community_id", 10**400),
        ("community_id", -1),
        ("community_id", 0),
        ("community_id", 1.5),
        ("community_id", "1x"),
        ("name", "x" * 101),
    ],
)
async def test_huge_negative_zero_and_wrong_numbers_are_refused(
    api: Api, field: str, value: object
) -> None:
    client, admin = api
    await created(client, admin, "/api/v1/communities", {"name": "卖鱼桥社区"})
    body = {"event_id": new_event_id(), "community_id": 1, "name": "信义坊", field: value}
    refused = await client.post("/api/v1/compounds", json=body, headers=admin)
    assert_error(refused, 400, "validation_error")
    compounds = await client.get("/api/v1/compounds", headers=admin)
    assert compounds.json()["items"] == []


@pytest.mark.parametrize("amount", [0, -(10**10), 10**10, 10**30])
async def test_zero_and_absurd_amounts_are_refused(api: Api, amount: int) -> None:
    client, admin = api
    community = await created(client, admin, "/api/v1/communities", {"name": "卖鱼桥社区"})
    merchant = await created(
        client, admin, "/api/v1/merchants", {"community_id": community["id"], "name": "菜场"}
    )
    body = {
        "event_id": new_event_id(),
        "account_id": merchant["account_id"],
        "amount_points": amount,
        "reason": "test",
    }
    assert_error(
        await client.post("/api/v1/adjustments", json=body, headers=admin), 400, "validation_error"
    )
    account = await client.get(f"/api/v1/accounts/{merchant['account_id']}", headers=admin)
    assert account.json()["balance_points"] == 0


@pytest.mark.parametrize(
    "effective_from",
    ["9999-12-31T00:00:00+08:00", "0001-01-01T00:00:00+08:00", "2026-12-01T00:00:00", "soon"],
)
async def test_far_future_far_past_and_naive_times_are_refused(
    api: Api, effective_from: str
) -> None:
    client, admin = api
    community = await created(client, admin, "/api/v1/communities", {"name": "卖鱼桥社区"})
    body = {"event_id": new_event_id(), "effective_from": effective_from, "rules": {}}
    refused = await client.put(
        f"/api/v1/communities/{community['id']}/rules", json=body, headers=admin
    )
    assert 400 <= refused.status_code < 500
    rules = await client.get(f"/api/v1/communities/{community['id']}/rules", headers=admin)
    assert rules.json()["version"] == 1


# -- page forms and day parameters: never a 500 (issue 12, item 10) ---------------------------

# Digits `str.isdigit` takes and `int` does not (or takes, from another script), the days at
# Python's limits, and text no form should store.
HOSTILE_DIGITS = ["²", "①", "1²", "٣", "１"]
HOSTILE_FORM_VALUES = [
    *HOSTILE_DIGITS,
    "-1",
    "1e3",
    "9999-12-31",
    " ",
    "x\x00y",
    "x\x07",
    "x" * 600,
]
FAR_DAYS = ["9999-12-31", "0001-01-01", "3000-01-01"]
# The patterns of day parameters: a valid value, and the far ones.
DAY_PATTERNS = {
    r"^\d{4}-\d{2}-\d{2}$": ("2026-11-01", FAR_DAYS),
    r"^\d{4}-\d{2}-[12]$": ("2026-11-1", ["9999-12-2", "0001-01-1"]),  # a half-month
}

# Every page form: who may send it, the code its path carries, and a valid value for each
# field it reads (each field is made hostile in turn, the others valid, so that it is reached).
PAGE_FORMS: dict[str, tuple[str, str, dict[str, str]]] = {
    "/login": ("anonymous", "", {"username": "nobody", "password": "x", "next": "/"}),
    "/logout": ("anonymous", "", {}),
    "/scan/{token:str}/redeem": ("clerk", "card", {"reward_id": "1", "quantity": "1"}),
    "/scan/{token:str}/pay": ("clerk", "card", {"merchant_id": "1", "amount": "1"}),
    "/home/appeal/{inspection_id:int}": ("resident", "", {"reason": "看错了"}),
    "/scan/{token:str}/dropoff": ("resident", "point", {"household_id": ""}),
    "/join/{token:str}": (
        "anonymous",
        "card",
        {
            "join_code": "482916",
            "phone": "13812345678",
            "pin": "284913",
            "pin_again": "284913",
            "display_name": "王阿姨",
            "as_helper": "1",
        },
    ),
    "/home/members/{user_id:int}/remove": ("resident", "", {"household_id": "1"}),
    "/staff/households/{household_id:int}/join-code": ("admin", "", {}),
    "/staff/households/{household_id:int}/join-code/members/{user_id:int}/remove": (
        "admin",
        "",
        {},
    ),
    "/scan/{token:str}/grade": (
        "inspector",
        "card",
        {"point_token": "", "stream": "kitchen", "grade": "poor", "reasons": "mixed"},
    ),
    "/scan/{token:str}/check-in": ("volunteer", "post", {}),
    "/scan/{token:str}/check-out": ("volunteer", "post", {}),
    "/coordinator/shifts": ("coordinator", "", {"shift_ids": "1", "outcome": "approve"}),
    "/coordinator/rotation": (
        "coordinator",
        "",
        {
            "inspector_id": "1",
            "compound_id": "1",
            "week": "2027-W01",
            "outcome": "assign",
            "community_id": "1",
        },
    ),
    "/coordinator/appeals/{appeal_id:int}": (
        "coordinator",
        "",
        {"outcome": "upheld", "new_grade": "good"},
    ),
    "/scan/{token:str}/weigh": ("clerk", "card", {"material": "paper", "kilograms": "1"}),
    "/counter/refund": ("clerk", "", {"redemption_id": "1", "reason": "退错了"}),
    "/coordinator/backfill": (
        "coordinator",
        "",
        {
            "volunteer_id": "1",
            "compound_id": "1",
            "day": "2026-11-01",
            "hours": "1",
            "note": "纸质签到表",
        },
    ),
    "/staff/entries/{entry_id:int}/reverse": ("admin", "", {"reason": "录错了"}),
    "/staff/merchants/{merchant_id:int}/settle": ("admin", "", {}),
    "/staff/households/{household_id:int}/card": ("admin", "", {}),
    "/staff/users/{user_id:int}/deactivate": ("admin", "", {}),
    "/volunteer/apply": (
        "anonymous",
        "",
        {
            "community_id": "1",
            "name": "朱秀娟",
            "phone": "13812345678",
            "pin": "582039",
            "affiliation": "party_member",
            "party_branch": "第一党支部",
        },
    ),
    "/coordinator/volunteers/{application_id:int}": ("coordinator", "", {"outcome": "approve"}),
    "/coordinator/reinspections/{reinspection_id:int}": ("coordinator", "", {"grade": "good"}),
    "/notices/read": ("resident", "", {"up_to_id": "1"}),
    "/staff/books/rewards/{reward_id:int}": (
        "admin",
        "",
        {
            "community_id": "1",
            "cost_yuan": "2.5",
            "threshold": "1",
            "from": "2026-11-01",
            "to": "2026-11-30",
        },
    ),
}
_FIELD_READ = re.compile(r'form(?:s\.\w+\(form,|\.get\()\s*"(\w+)"')


def page_form_routes(app: Litestar) -> dict[str, HTTPRouteHandler]:
    return {
        route.path: handler
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if "POST" in handler.http_methods and not handler.include_in_schema
    }


def fields_read(handler: HTTPRouteHandler) -> set[str]:
    """The form fields a page reads, from its source: `forms.<reader>(form, "<name>"` and
    `form.get("<name>"`."""
    return set(_FIELD_READ.findall(inspect.getsource(handler.fn)))


def test_the_page_form_table_names_every_form_and_field(settings: Settings) -> None:
    handlers = page_form_routes(create_app(settings))
    assert set(handlers) == set(PAGE_FORMS)
    for path, handler in handlers.items():
        valid = set(PAGE_FORMS[path][2]) | {"event_id", "photo"}
        assert fields_read(handler) <= valid, path


async def test_no_page_form_field_is_a_500_and_bad_numbers_name_their_field(
    fresh_db: None, settings: Settings
) -> None:
    demo = await seed(settings)
    codes = {"card": demo.card_token, "point": demo.point_token, "post": demo.post_token, "": ""}
    async with AsyncTestClient(app=create_app(settings)) as client:
        handlers = page_form_routes(client.app)
        for path, (user, code, valid) in sorted(PAGE_FORMS.items(), key=lambda item: item[1][0]):
            if user != "anonymous":
                await sign_in_page(client, user)
            url = re.sub(r"\{\w+:int\}", "1", path.replace("{token:str}", codes[code]))
            valid = valid | ({"point_token": demo.point_token} if "point_token" in valid else {})
            for field in sorted(fields_read(handlers[path]) - {"photo"}):
                for value in HOSTILE_FORM_VALUES:
                    data = valid | {"event_id": new_event_id(), field: value}
                    data["_csrf_token"] = csrf_from((await client.get("/login")).text)
                    reply = await client.post(url, data=data, follow_redirects=False)
                    assert reply.status_code < 500, (path, field, value, reply.text[:300])
                    if value in HOSTILE_DIGITS and field in NUMBER_FIELDS:
                        assert reply.status_code == 400, (path, field, value, reply.text[:800])
                        assert _names(reply.text, field), (path, field, reply.text[:500])


NUMBER_FIELDS = {
    "reward_id",
    "quantity",
    "merchant_id",
    "amount",
    "shift_ids",
    "kilograms",
    "redemption_id",
    "volunteer_id",
    "inspector_id",
    "compound_id",
    "hours",
    "community_id",
    "household_id",
    "up_to_id",
}


def _names(page: str, field: str) -> bool:
    """The error page names the field: by the label its form shows it under ("请检查这一项：
    数量。", the page being Chinese), or by its name where no form shows it ("…有误：amount。")."""
    with speaking("zh_CN"):
        label = field_label(field)
    names = [re.escape(field)] + ([re.escape(label)] if label else [])
    return re.search(rf"[:：]\s*(?:{'|'.join(names)})\s*[.。]", page) is not None


@dataclass(frozen=True)
class DayParameter:
    path: str
    name: str
    valid: dict[str, str]
    far: list[str]


def day_parameters(app: Litestar) -> list[DayParameter]:
    """Every query parameter of every GET route, API and pages, that takes a day, with valid
    values for the route's other required query parameters."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if "GET" not in handler.http_methods:
                continue
            days, valid = {}, {}
            for field in _query_fields(handler):
                kwarg = field.kwarg_definition
                name = getattr(kwarg, "name", None) or field.name
                pattern = kwarg.pattern if isinstance(kwarg, ParameterKwarg) else None
                if pattern in DAY_PATTERNS:
                    valid[name], days[name] = DAY_PATTERNS[pattern]
                elif field.name in route.path_parameters or field.is_optional:
                    continue
                elif field.annotation is int:
                    valid[name] = "1"
                elif isinstance(field.annotation, type) and issubclass(field.annotation, Enum):
                    valid[name] = next(iter(field.annotation)).value
            path = route.path_format.format(
                **{
                    n: "1" if p.type is int else "trends.svg"
                    for n, p in route.path_parameters.items()
                }
            )
            found += [DayParameter(path, day, valid, far) for day, far in days.items()]
    return found


def _query_fields(handler: HTTPRouteHandler) -> list[FieldDefinition]:
    """The handler's parameters and, for each dependency it takes, that provider's (a report's
    `?community_id=&from=&to=` come from one)."""
    providers = handler.resolve_dependencies()
    fields, signatures = [], [handler.parsed_fn_signature]
    while signatures:
        for name, field in signatures.pop().parameters.items():
            if name in providers:
                signatures.append(providers[name].parsed_fn_signature)
            else:
                fields.append(field)
    return fields


# Routes with a day parameter that only a coordinator calls (their own re-inspection sample).
COORDINATORS_ONLY = ("/api/v1/reinspections", "/coordinator/reinspections")


async def test_a_far_day_in_any_day_parameter_is_a_400_naming_it(api: Api) -> None:
    client, admin = api
    world = await make_world(client, admin)
    assert world.community_id == 1
    parameters = day_parameters(client.app)
    coordinator = await make_user(client, admin, Role.COORDINATOR, compound_ids=[1])
    callers = {path: coordinator for path in COORDINATORS_ONLY}
    assert {p.path for p in parameters} >= {
        "/api/v1/merchants/1/statement",
        "/api/v1/reports/compounds",
        "/api/v1/reports/charts/trends.svg",
        "/api/v1/leaderboards",
        "/api/v1/leaderboards/redblack",
        "/staff",
        "/staff/charts/trends.svg",
    }
    for parameter in parameters:
        for day in parameter.far:
            params = parameter.valid | {parameter.name: day}
            headers = callers.get(parameter.path, admin)
            reply = await client.get(parameter.path, params=params, headers=headers)
            where = (parameter.path, parameter.name, day, reply.text[:300])
            assert reply.status_code == 400, where
            if reply.headers["content-type"].startswith("application/json"):
                assert reply.json()["field"] == parameter.name, where
            else:
                assert _names(reply.text, parameter.name), where


@pytest.mark.parametrize("day", FAR_DAYS)
async def test_a_far_day_in_a_body_is_a_400_naming_it(api: Api, day: str) -> None:
    client, admin = api
    world = await make_world(client, admin)
    body = {
        "event_id": new_event_id(),
        "community_id": world.community_id,
        "name": "洗洁精",
        "cost_points": 30,
        "stock": 10,
        "active_until": day,
    }
    refused = await client.post("/api/v1/rewards", json=body, headers=admin)
    assert assert_error(refused, 400, "validation_error")["field"] == "active_until"
    rewards = await client.get("/api/v1/rewards", headers=admin)
    assert rewards.json()["items"] == []

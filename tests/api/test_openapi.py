"""The OpenAPI document describes every route, and the app reports its health."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from api import schemas
from api.app import create_app
from api.settings import Settings
from tests.api.conftest import Headers

Api = tuple[AsyncTestClient[Any], Headers]
# The reply parts that are a service's own dataclass (docs/decisions/2026-12-06-wire-types.md),
# by their name in api/schemas.py, with their fields in reply order: a field the service adds,
# renames or drops changes the API, so it must change here too.
SERVICE_REPLY_PARTS = {
    "UserAdded": ("id", "username", "role"),
    "UserDetails": ("id", "username", "role", "active", "compound_ids"),
    "CommunityCreated": ("id", "name"),
    "JoinCodeReset": ("household_id", "join_code"),
    "AccountHolderCreated": ("id", "community_id", "name", "account_id"),
    "RewardView": (
        *("id", "community_id", "name", "cost_points", "stock", "monthly_limit_per_household"),
        *("active", "active_from", "active_until", "exchange_weekdays"),
    ),
    "Adjusted": ("entry_id", "balance_points"),
    "Reversed": ("entry_id", "reverses_entry_id"),
    "Expiring": ("points", "expires_on"),
    "AccountView": ("id", "kind", "community_id", "balance_points", "expiring"),
    "Lag": ("pending", "seconds"),
    "Graded": (
        *("inspection_id", "entry_id", "points_awarded", "balance_points", "scored", "capped"),
        "message",
    ),
    "DropoffRecorded": ("dropoff_id", "points_awarded", "balance_points", "repeat"),
    "WeighinRecorded": (
        "weighin_id",
        "entry_id",
        "points_awarded",
        "balance_points",
        "capped",
        "message",
    ),
    "ShiftStarted": ("shift_id", "started_at"),
    "ShiftDecided": ("shift_id", "status", "entry_id", "points_awarded"),
    "HoursBackfilled": ("shift_id", "minutes", "points_awarded", "entry_id"),
    "VolunteerHours": (
        *("volunteer_id", "name", "approved_minutes", "backfilled_minutes", "pending_minutes"),
        *("total_hours", "star_level", "next_star_hours"),
    ),
    "AppealOpened": ("appeal_id", "status"),
    "AppealDecided": (
        *("appeal_id", "status", "decided_by", "decided_at", "new_grade", "points_awarded"),
        *("credit_entry_id", "reversal_entry_id"),
    ),
    "Settled": ("merchant_id", "entry_id", "settled_points", "settled_at"),
    "StatementLine": ("entry_id", "at", "kind", "points", "memo", "actor"),
    "CompoundReportRow": (
        *("compound_id", "compound", "kind", "households", "participating_households"),
        *("participation_rate", "grades", "good_grades", "accuracy_rate", "points_issued"),
        *("points_redeemed", "points_reversed", "points_paid_to_merchants", "points_expired"),
        *("points_outstanding", "volunteer_minutes"),
    ),
    "ApplicationReceived": ("id", "status"),
    "ApplicationDecided": ("id", "status", "volunteer_id", "user_id"),
    "VolunteerHoursRow": ("group", "volunteers", "minutes", "hours"),
    "Marked": ("marked", "unread"),
    "RewardCostView": (
        "id",
        "reward_id",
        "cost_fen",
        "cost_yuan",
        "effective_from",
        "set_by",
        "set_at",
    ),
    "ReorderThreshold": ("reward_id", "threshold", "stock", "reorder"),
    "LiabilityMonth": (
        *("month", "first_day", "last_day", "issued_gradings", "issued_weighins"),
        *("issued_dropoffs", "issued_hours", "issued_adjustments", "issued_total", "redeemed"),
        *("paid_to_merchants", "expired", "settled", "outstanding", "merchants_unsettled"),
        *("redeemed_units", "redeemed_value_fen", "redeemed_value_yuan", "unpriced_units"),
        *("yuan_per_point", "outstanding_estimate_fen", "outstanding_estimate_yuan"),
    ),
    "MerchantBalance": ("merchant_id", "merchant", "unsettled_points"),
    "LiabilityStock": (
        *("reward_id", "reward", "stock", "cost_points", "cost_fen", "cost_yuan"),
        *("reorder_threshold", "reorder"),
    ),
    "AssignmentChanged": ("inspector_id", "compound_id", "week", "assigned", "changed"),
    "AssignmentView": (
        "inspector_id",
        "inspector",
        "compound_id",
        "compound",
        "week",
        "week_start",
    ),
    "ReinspectionItem": (
        *("reinspection_id", "inspection_id", "inspector_id", "inspector", "compound_id"),
        *("household_id", "stream", "original_grade", "photo_ref", "offered_at", "regraded_grade"),
        "decided_at",
    ),
    "ReinspectionSample": ("day", "coordinator_id", "items"),
    "ReinspectionDecided": (
        *("reinspection_id", "inspection_id", "original_grade", "regraded_grade", "corrected"),
        *("decided_by", "decided_at", "points_awarded", "credit_entry_id", "reversal_entry_id"),
    ),
}
NOT_DOCUMENTED = {"OPTIONS", "HEAD"}


def api_operations(app: Litestar) -> set[tuple[str, str]]:
    """(path, method) of every handler the app registers under /api/v1."""
    operations = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path_format.startswith("/api/v1/"):
            for method in route.route_handler_map:
                if method not in NOT_DOCUMENTED:
                    operations.add((route.path_format, method.lower()))
    return operations


async def openapi(client: AsyncTestClient[Any]) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def has_example(
    schema: Any, components: dict[str, Any], seen: frozenset[str] = frozenset()
) -> bool:
    if isinstance(schema, list):
        return any(has_example(item, components, seen) for item in schema)
    if not isinstance(schema, dict):
        return False
    if "examples" in schema or "example" in schema:
        return True
    if "$ref" in schema:
        name = schema["$ref"].rpartition("/")[2]
        return name not in seen and has_example(components[name], components, seen | {name})
    return any(has_example(value, components, seen) for value in schema.values())


async def test_the_document_is_public_and_lists_every_api_route(api: Api) -> None:
    client, _ = api
    document = await openapi(client)
    documented = {
        (path, method)
        for path, operations in document["paths"].items()
        for method in operations
        if path.startswith("/api/v1/")
    }
    registered = api_operations(client.app)
    assert len(registered) >= 20
    assert registered - documented == set()
    assert documented - registered == set()


async def test_the_contracts_routes_are_registered(api: Api) -> None:
    client, _ = api
    registered = api_operations(client.app)
    for path, method in [
        ("/api/v1/auth/token", "post"),
        ("/api/v1/me", "get"),
        ("/api/v1/users", "post"),
        ("/api/v1/communities", "post"),
        ("/api/v1/compounds", "post"),
        ("/api/v1/households", "post"),
        ("/api/v1/households/{household_id}/card:reissue", "post"),
        ("/api/v1/points", "post"),
        ("/api/v1/posts", "post"),
        ("/api/v1/merchants", "post"),
        ("/api/v1/rewards", "post"),
        ("/api/v1/accounts/{account_id}", "get"),
        ("/api/v1/accounts/{account_id}/entries", "get"),
        ("/api/v1/adjustments", "post"),
        ("/api/v1/entries/{entry_id}/reverse", "post"),
        ("/api/v1/ledger/verify", "get"),
        ("/api/v1/qr/sheet", "get"),
        *[
            (f"/api/v1/{name}", "get")
            for name in (
                "communities",
                "compounds",
                "households",
                "points",
                "posts",
                "merchants",
                "rewards",
            )
        ],
    ]:
        assert (path, method) in registered, (path, method)


async def test_every_operation_has_a_unique_operation_id(api: Api) -> None:
    client, _ = api
    document = await openapi(client)
    operation_ids = [
        operation.get("operationId")
        for operations in document["paths"].values()
        for operation in operations.values()
    ]
    assert None not in operation_ids
    assert all(isinstance(name, str) and name for name in operation_ids)
    assert len(operation_ids) == len(set(operation_ids))


async def test_the_document_declares_bearer_authentication(api: Api) -> None:
    client, _ = api
    document = await openapi(client)
    schemes = document["components"]["securitySchemes"]
    assert any(scheme.get("scheme", "").lower() == "bearer" for scheme in schemes.values())


async def test_every_json_request_body_has_an_example(api: Api) -> None:
    client, _ = api
    document = await openapi(client)
    components = document["components"]["schemas"]
    missing = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation and not has_example(operation["requestBody"], components)
    ]
    assert missing == []


async def test_the_documented_400_body_is_the_one_the_api_sends(api: Api) -> None:
    client, _ = api
    document = await openapi(client)
    operation = document["paths"]["/api/v1/adjustments"]["post"]
    schema = operation["responses"]["400"]["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rpartition("/")[2]]
    assert {"code", "detail"} <= set(schema.get("required", []))


async def test_health_reports_the_database_and_no_redis(api: Api) -> None:
    client, _ = api
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "absent"}


def test_building_the_app_raises_no_deprecation_warnings(settings: Settings) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        create_app(settings)


async def test_reply_parts_taken_from_the_services_keep_their_fields_and_names(api: Api) -> None:
    """A documented one keeps its component's name (the dataclass's own name); the others
    (rows of replies the document does not describe) may be named otherwise in the service."""
    client, _ = api
    components = (await openapi(client))["components"]["schemas"]
    taken = {
        name: tuple(field.name for field in dataclasses.fields(value))
        for name, value in vars(schemas).items()
        if isinstance(value, type) and dataclasses.is_dataclass(value)
    }
    assert taken == SERVICE_REPLY_PARTS
    for name, fields in taken.items():
        own_name = getattr(schemas, name).__name__
        if own_name in components or name in components:
            assert own_name == name
            assert tuple(components[name]["properties"]) == fields

"""Registry maintenance through piccolo-admin: names and windows editable, the ledger read-only.

The one module outside ledger/store that imports Piccolo and the tables: piccolo-admin is
configured with the table classes themselves (tests/unit/test_architecture.py allows it). It
is imported when /admin is first used (it brings FastAPI); its sessions are opened by the
pages' sign-in through ledger/store/sessions.py.

Anything that opens accounts or prints cards (a new household, point, post, merchant,
volunteer, reward) goes through the API or `greenledger load`, so here rows can only be
edited, never added or deleted, and the columns that tie a row to its account, its card or its
compound stay as they are. Every ledger table is read-only (piccolo-admin has no read-only
option per table: READ_ONLY's validators refuse every write). The login is the staff member's
own: the pages' sign-in opens a piccolo-admin session for an admin.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from piccolo.table import Table
from piccolo_admin.endpoints import TableConfig, create_admin
from piccolo_api.crud.hooks import Hook, HookType
from piccolo_api.crud.validators import Validators
from starlette.exceptions import HTTPException
from starlette.requests import Request

from ledger.domain.errors import InvalidInput
from ledger.domain.registry import HouseholdKind, check_name, check_unit, parse_windows
from ledger.store import registry as store
from ledger.store.tables import (
    REGISTRY_TABLES,
    TABLES,
    AppUser,
    CollectionPoint,
    Compound,
    DutyPost,
    Household,
    Photo,
    Reward,
    ShortCode,
    VolunteerApplication,
)

SITE_NAME = "绿账 · 基础数据"
EDITABLE = REGISTRY_TABLES
# Shown in the form, never changed here: what ties a row to its account, card or parent, and
# what changes only through its own operation, which keeps history (stock: restock; active:
# retire). The form sends them back with every save; unchanged, they are accepted and ignored.
FIXED_COLUMNS = frozenset(
    {
        "id",
        "account",
        "card_serial",
        "community",
        "compound",
        "created_at",
        "stock",
        "active",
        # A compound's kind decides which units it holds, a unit's kind its grading values.
        "kind",
        # Drawn anew by its own operation (join-code:reset, card:reissue), audited there.
        "join_code",
    }
)
# Added to piccolo-admin's page: piccolo-admin has no read-only column, so this script shows
# the fixed ones disabled in the edit form (api/static/admin-fixed.js); the icon, as on every
# page, spares the browser a /favicon.ico that does not exist.
ADMIN_HEAD = (
    '<link rel="icon" href="data:,">'
    '<script src="/static/admin-fixed.js" data-fixed="'
    + ",".join(sorted(FIXED_COLUMNS))
    + '"></script>'
)
UNIT_PARTS = ("building", "unit", "room", "name")
# The admin form shows times to the second (its default time resolution).
FORM_TIME_RESOLUTION = timedelta(seconds=1)
# Where the mount puts the signed-in admin's way to change a reward through the catalogue.
REWARD_CHANGE_KEY = "greenledger.change_reward"
RewardChange = Callable[[int, dict[str, Any]], Awaitable[object]]
# What must be unique inside which parent, as the API's create checks it.
UNIQUE_WITHIN: dict[type[Table], tuple[str, tuple[str, ...]]] = {
    Compound: ("community", ("name",)),
    CollectionPoint: ("compound", ("name",)),
    DutyPost: ("compound", ("name",)),
    # A household's name is "" and a shop's or office's address parts are "".
    Household: ("compound", ("building", "unit", "room", "name")),
}
# AppUser: password hashes, and users are managed by the API. Photo: image bytes, which the
# admin's grid cannot show (they are read through GET /api/v1/photos/{ref}). Volunteer
# applications: PIN hashes and mobile numbers; coordinators decide them at /coordinator/volunteers.
HIDDEN: tuple[type[Table], ...] = (AppUser, Photo, ShortCode, VolunteerApplication)


def _refuse(piccolo_crud: Any, request: Request) -> None:
    raise HTTPException(status_code=405, detail="This table is read-only here.")


def form_refusal(field: str, message: str) -> HTTPException:
    """A 422 in the shape piccolo-admin's form shows ("<field> field - <message>"); a plain
    string detail on a 422 breaks the form (nothing shown, the save button stays disabled)."""
    refusal = HTTPException(status_code=422)
    refusal.detail = [{"loc": ["body", field], "msg": message}]  # type: ignore[assignment]
    return refusal


def edit_hook(table: type[Table]) -> Hook:
    """Every save from the admin form goes through the domain's checks before it is written."""
    return Hook(hook_type=HookType.pre_patch, callable=partial(_checked_edit, table))


async def _checked_edit(
    table: type[Table], row_id: int, values: dict[Any, Any], request: Request
) -> dict[Any, Any]:
    current = await store.get(table, row_id)
    if current is None:
        raise HTTPException(status_code=404, detail="The row does not exist.")
    submitted = {column._meta.name: value for column, value in values.items()}
    try:
        changes = checked_changes(table, submitted, current)
        if changes and table is Reward:
            await _change_reward(request, row_id, changes)
            changes = {}  # written by the catalogue, with its history
        elif changes:
            await _check_unique(table, changes, current)
    except InvalidInput as refusal:
        field = str(refusal.extra.get("field", "body"))
        raise form_refusal(field, refusal.detail.removeprefix(f"{field}: ")) from refusal
    primary_key = table._meta.primary_key
    # Nothing left to write still needs one value: Piccolo refuses an empty UPDATE.
    return {table._meta.get_column_by_name(k): v for k, v in changes.items()} or {
        primary_key: row_id
    }


def checked_changes(
    table: type[Table], submitted: dict[str, Any], current: dict[str, Any]
) -> dict[str, Any]:
    """The editable fields that differ from the row, checked as the API checks them; a fixed
    column is accepted only unchanged (InvalidInput names the first that is not)."""
    for name in sorted(FIXED_COLUMNS & set(submitted)):
        if not _same(submitted[name], current[name]):
            raise InvalidInput(name, "cannot be changed here")
    changes = {}
    for name, value in submitted.items():
        if name in FIXED_COLUMNS:
            continue
        checked = _check_value(table, name, value, current)
        if checked != current[name]:
            changes[name] = checked
    return changes


def _same(submitted: Any, stored: Any) -> bool:
    if isinstance(submitted, datetime) and isinstance(stored, datetime):
        return abs(submitted - stored) < FORM_TIME_RESOLUTION
    return bool(submitted == stored)


def _check_value(table: type[Table], name: str, value: Any, current: dict[str, Any]) -> Any:
    if table is Household and name in UNIT_PARTS:
        return _unit_part(name, value, current)
    if name == "name":
        return check_name(_text(name, value))
    if table is CollectionPoint and name == "windows":
        texts = [part for part in _text(name, value).split(",") if part.strip()]
        return ",".join(str(window) for window in parse_windows(texts))
    if table is Reward:
        return value  # the catalogue checks every term of a reward
    raise InvalidInput(name, "cannot be changed here")


def _unit_part(name: str, value: Any, current: dict[str, Any]) -> str:
    """A household's address part, or a shop's or office's name, checked as the API checks a
    new one: a household keeps its name empty, a shop or an office its address."""
    parts = {part: current[part] for part in UNIT_PARTS} | {name: value or ""}
    if not isinstance(parts[name], str):
        raise InvalidInput(name, "must be text")
    return check_unit(HouseholdKind(current["kind"]), **parts)[name]


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput(name, "is required")
    return value


async def _check_unique(
    table: type[Table], changes: dict[str, Any], current: dict[str, Any]
) -> None:
    parent, fields = UNIQUE_WITHIN.get(table, ("", ()))
    changed = [field for field in fields if field in changes]
    if not changed:
        return
    wanted = {field: changes.get(field, current[field]) for field in fields}
    if await store.exists(table, **{parent: current[parent]}, **wanted):
        raise InvalidInput(changed[0], "is already used in this " + parent)


async def _change_reward(request: Request, reward_id: int, changes: dict[str, Any]) -> None:
    """Through the same catalogue as PATCH /api/v1/rewards/{id}: checked, kept in history."""
    change: RewardChange | None = request.scope.get(REWARD_CHANGE_KEY)
    if change is None:
        raise HTTPException(status_code=403, detail="Sign in through the staff pages.")
    fields = dict(changes)
    if "exchange_weekdays" in fields:
        fields["exchange_weekdays"] = _weekdays(fields["exchange_weekdays"])
    await change(reward_id, fields)


def _weekdays(text: Any) -> list[int]:
    parts = [part.strip() for part in str(text or "").split(",") if part.strip()]
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise InvalidInput("exchange_weekdays", "ISO weekdays 1-7, separated by commas")
    return [int(part) for part in parts]


READ_ONLY = Validators(
    post_single=[_refuse],
    put_single=[_refuse],
    patch_single=[_refuse],
    delete_single=[_refuse],
    delete_all=[_refuse],
)
EDIT_ONLY = Validators(
    post_single=[_refuse],
    put_single=[_refuse],
    delete_single=[_refuse],
    delete_all=[_refuse],
)


def table_names() -> list[str]:
    """Every table piccolo-admin lists, by its database name (its sidebar and its URLs)."""
    return [table._meta.tablename for table in TABLES]


def admin_app(production: bool, allowed_hosts: list[str]) -> Any:
    """The piccolo-admin ASGI app, in Simplified Chinese."""
    configs = [
        TableConfig(table, validators=EDIT_ONLY, hooks=[edit_hook(table)], menu_group="基础数据")
        if table in EDITABLE
        else TableConfig(table, validators=READ_ONLY, menu_group="账本（只读）")
        for table in TABLES
        if table not in HIDDEN
    ]
    admin = create_admin(
        tables=configs,
        site_name=SITE_NAME,
        default_language_code="zh-cn",
        production=production,
        allowed_hosts=allowed_hosts,
        auto_include_related=False,
    )
    admin.template = admin.template.replace("</head>", ADMIN_HEAD + "</head>")
    return admin

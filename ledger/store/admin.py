"""Registry maintenance through piccolo-admin: names and windows editable, the ledger read-only.

Anything that opens accounts or prints cards (a new household, point, post, merchant,
volunteer, reward) goes through the API or `greenledger load`, so here rows can only be
edited, never added or deleted, and the columns that tie a row to its account, its card or its
compound stay as they are. Every ledger table is read-only (notes/PAGES.md §1). The login is
the staff member's own: the pages' sign-in opens a piccolo-admin session for an admin.
"""

from __future__ import annotations

import secrets
from typing import Any

from piccolo.apps.user.tables import BaseUser
from piccolo.table import Table
from piccolo_admin.endpoints import TableConfig, create_admin
from piccolo_api.crud.validators import Validators
from piccolo_api.session_auth.tables import SessionsBase
from starlette.exceptions import HTTPException
from starlette.requests import Request

from ledger.store.tables import (
    TABLES,
    AppUser,
    CollectionPoint,
    Community,
    Compound,
    DutyPost,
    Household,
    Merchant,
    Photo,
    Reward,
    Volunteer,
)

SITE_NAME = "绿账 · 基础数据"
SESSION_COOKIE = "id"  # piccolo-admin's own session cookie
EDITABLE: tuple[type[Table], ...] = (
    Community,
    Compound,
    Household,
    CollectionPoint,
    DutyPost,
    Merchant,
    Volunteer,
    Reward,
)
# Columns that tie a row to its account, card or parent; changing them would break the ledger.
FIXED_COLUMNS = frozenset(
    {"id", "account", "card_serial", "community", "compound", "created_at", "stock", "active"}
)
# AppUser: password hashes, and users are managed by the API. Photo: image bytes, which the
# admin's grid cannot show (they are read through GET /api/v1/photos/{ref}).
HIDDEN: tuple[type[Table], ...] = (AppUser, Photo)


def _refuse(piccolo_crud: Any, request: Request) -> None:
    raise HTTPException(status_code=405, detail="This table is read-only here.")


async def _fixed_columns_untouched(piccolo_crud: Any, request: Request) -> None:
    body = await request.json()
    changed = sorted(FIXED_COLUMNS & set(body if isinstance(body, dict) else {}))
    if changed:
        raise HTTPException(status_code=422, detail=f"{', '.join(changed)} cannot be changed here")


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
    patch_single=[_fixed_columns_untouched],
    delete_single=[_refuse],
    delete_all=[_refuse],
)


def admin_app(production: bool, allowed_hosts: list[str]) -> Any:
    """The piccolo-admin ASGI app, in Simplified Chinese."""
    configs = [
        TableConfig(table, validators=EDIT_ONLY, menu_group="基础数据")
        if table in EDITABLE
        else TableConfig(table, validators=READ_ONLY, menu_group="账本（只读）")
        for table in TABLES
        if table not in HIDDEN
    ]
    return create_admin(
        tables=configs,
        site_name=SITE_NAME,
        default_language_code="zh-cn",
        production=production,
        allowed_hosts=allowed_hosts,
        auto_include_related=False,
    )


async def open_session(username: str) -> str:
    """A piccolo-admin session for a staff member who just signed in to the pages.

    Its user row has a random password nobody knows: the only way in is through the pages'
    sign-in, so there is one password per person and deactivating the user locks both.
    """
    user = await BaseUser.objects().where(BaseUser.username == username).first()
    if user is None:
        user = await BaseUser.create_user(
            username=username,
            password=secrets.token_urlsafe(24),
            email=f"{username}@admin.greenledger.invalid",
            admin=True,
            active=True,
            superuser=False,
        )
    elif not (user.admin and user.active):
        await BaseUser.update({BaseUser.admin: True, BaseUser.active: True}).where(
            BaseUser.id == user.id
        )
    session = await SessionsBase.create_session(user_id=user.id)
    return str(session.token)


async def close_session(token: str) -> None:
    await SessionsBase.delete().where(SessionsBase.token == token)

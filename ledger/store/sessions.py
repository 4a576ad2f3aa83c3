"""Token versions and signed-out sessions (ledger/services/sessions.py keeps them current),
and the piccolo-admin sessions the pages' sign-in opens for an admin (api/pages/auth.py)."""

from __future__ import annotations

import secrets
from datetime import datetime

from piccolo.apps.user.tables import BaseUser
from piccolo_api.session_auth.tables import SessionsBase

from ledger.store.tables import AppUser, SignedOutSession


async def token_state(user_id: int, now: datetime) -> tuple[int, dict[str, datetime]]:
    """The version a user's tokens must carry (-1 for no such user) and the sessions signed out
    whose tokens have not expired yet, with their expiry. Deactivation bumps the version (and
    sign-in refuses an inactive user), so `active` need not be read here."""
    row = await AppUser.select(AppUser.token_version).where(AppUser.id == user_id).first()
    version = row["token_version"] if row is not None else -1
    rows = await SignedOutSession.select(SignedOutSession.sid, SignedOutSession.expires_at).where(
        (SignedOutSession.user_id == user_id) & (SignedOutSession.expires_at > now)
    )
    return version, {r["sid"]: r["expires_at"] for r in rows}


async def revoke_all(user_id: int) -> None:
    """In the caller's transaction: every token issued so far stops counting, and so does
    every registry-UI session the pages' sign-in opened for this user (open_admin_session)."""
    await AppUser.update({AppUser.token_version: AppUser.token_version + 1}).where(
        AppUser.id == user_id
    )
    user = await AppUser.select(AppUser.username).where(AppUser.id == user_id).first()
    if user is None:
        return
    admin_ids = await BaseUser.select(BaseUser.id).where(BaseUser.username == user["username"])
    if admin_ids:
        await SessionsBase.delete().where(
            SessionsBase.user_id.is_in([row["id"] for row in admin_ids])
        )


async def sign_out(user_id: int, sid: str, expires_at: datetime, now: datetime) -> None:
    """In the caller's transaction; idempotent. Rows past their expiry go at the same time."""
    await SignedOutSession.delete().where(
        (SignedOutSession.user_id == user_id) & (SignedOutSession.expires_at <= now)
    )
    if not await SignedOutSession.exists().where(SignedOutSession.sid == sid):
        await SignedOutSession.insert(
            SignedOutSession(sid=sid, user_id=user_id, expires_at=expires_at)
        )


async def open_admin_session(username: str) -> str:
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


async def close_admin_session(token: str) -> None:
    await SessionsBase.delete().where(SessionsBase.token == token)

"""Token versions and signed-out sessions (ledger/services/sessions.py keeps them current)."""

from __future__ import annotations

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
    every registry-UI session the pages' sign-in opened for this user (ledger/store/admin.py)."""
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

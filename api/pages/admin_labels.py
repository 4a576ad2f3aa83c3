"""piccolo-admin in the page's language: column titles and table names.

piccolo-admin 1.14 titles a column from its attribute name ("Created At") and shows a table by
its database name; neither can be configured. Its schema reply (`GET /api/tables/<table>/
schema/`), which the grid's headers and the edit forms read, is relabelled on the way out: each
column gets its title here, and the table its name as the tooltip beside the table's heading.
The sidebar keeps the database names, which are also the admin's URLs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, cast

from litestar.types import Message, Scope, Send

from api.pages.i18n import _, pgettext

SCHEMA_PATH = re.compile(r"^/api/tables/([a-z_]+)/schema/?$")


def table_label(table: str) -> str | None:
    labels: dict[str, Callable[[], str]] = {
        "community": lambda: pgettext("admin table", "Communities"),
        "account": lambda: pgettext("admin table", "Accounts"),
        "compound": lambda: pgettext("admin table", "Compounds"),
        "household": lambda: pgettext("admin table", "Households"),
        "collection_point": lambda: pgettext("admin table", "Collection points"),
        "duty_post": lambda: pgettext("admin table", "Volunteer posts"),
        "merchant": lambda: pgettext("admin table", "Shops"),
        "volunteer": lambda: pgettext("admin table", "Volunteers"),
        "reward": lambda: pgettext("admin table", "Rewards"),
        "user_compound": lambda: pgettext("admin table", "Staff compounds"),
        "entry": lambda: pgettext("admin table", "Ledger entries"),
        "entry_seal": lambda: pgettext("admin table", "Entry seals"),
        "entry_reversal": lambda: pgettext("admin table", "Corrections"),
        "entry_unsealed": lambda: pgettext("admin table", "Entries waiting for the sealer"),
        "idempotency_record": lambda: pgettext("admin table", "Sent forms and requests"),
        "earning_rule": lambda: pgettext("admin table", "Earning rules"),
        "inspection": lambda: pgettext("admin table", "Sorting grades"),
        "dropoff": lambda: pgettext("admin table", "Drop-offs"),
        "weighin": lambda: pgettext("admin table", "Recyclables weighed"),
        "shift": lambda: pgettext("admin table", "Volunteer shifts"),
        "appeal": lambda: pgettext("admin table", "Appeals"),
        "lot": lambda: pgettext("admin table", "Point lots"),
        "lot_total": lambda: pgettext("admin table", "Lot totals"),
        "lot_use": lambda: pgettext("admin table", "Lot uses"),
        "reward_change": lambda: pgettext("admin table", "Reward changes"),
        "redemption": lambda: pgettext("admin table", "Rewards redeemed"),
        "payment": lambda: pgettext("admin table", "Payments to shops"),
        "board_fact": lambda: pgettext("admin table", "Leaderboard facts"),
        "signed_out_session": lambda: pgettext("admin table", "Signed-out sessions"),
        "household_member": lambda: pgettext("admin table", "Household members"),
        "notice_fact": lambda: pgettext("admin table", "Notice facts"),
        "notice": lambda: pgettext("admin table", "Notices"),
        "notice_read": lambda: pgettext("admin table", "Notices read"),
        "notice_delivery": lambda: pgettext("admin table", "Notice deliveries (webhook)"),
        "reward_cost": lambda: pgettext("admin table", "Reward unit costs"),
        "reward_reorder": lambda: pgettext("admin table", "Reorder thresholds"),
        "inspector_assignment": lambda: pgettext("admin table", "Inspector rotation"),
        "reinspection": lambda: pgettext("admin table", "Re-inspections"),
        "chain_head": lambda: pgettext("admin table", "Published day heads"),
    }
    label = labels.get(table)
    return label() if label else None


def table_labels(tables: list[str]) -> dict[str, str]:
    """The sidebar's names (`GET /admin/api/table-labels/`, read by static/admin-fixed.js):
    piccolo-admin titles its links from the table's database name, which is also its URL."""
    return {table: label for table in tables if (label := table_label(table)) is not None}


def column_label(column: str) -> str | None:
    label = _COLUMNS.get(column)
    return label() if label else None


_COLUMNS: dict[str, Callable[[], str]] = {
    "id": lambda: _("Number"),
    "name": lambda: _("Name"),
    "community": lambda: _("Community"),
    "community_id": lambda: _("Community"),
    "compound": lambda: _("Compound"),
    "household": lambda: _("Household"),
    "account": lambda: _("Account"),
    "account_id": lambda: _("Account"),
    "created_at": lambda: _("Created at"),
    "building": lambda: _("Building"),
    "unit": lambda: _("Unit"),
    "room": lambda: _("Room"),
    "card_serial": lambda: _("Card number"),
    "windows": lambda: _("Opening hours"),
    "kind": lambda: _("Kind"),
    "stripe": lambda: _("Stripe"),
    "balance_points": lambda: _("Balance (points)"),
    "cost_points": lambda: _("Cost (points)"),
    "cost_fen": lambda: _("Unit cost (fen)"),
    "day": lambda: _("Day"),
    "tree_size": lambda: _("Entries in the tree"),
    "root": lambda: _("Merkle root"),
    "key_id": lambda: _("Signing key"),
    "signature": lambda: _("Signature"),
    "published_at": lambda: _("Published at"),
    "inspection_id": lambda: _("Grading"),
    "inspector_id": lambda: _("Inspector"),
    "coordinator_id": lambda: _("Coordinator"),
    "original_grade": lambda: _("Inspector's grade"),
    "regraded_grade": lambda: _("Coordinator's grade"),
    "offered_at": lambda: _("Offered at"),
    "threshold": lambda: _("Reorder threshold"),
    "set_by": lambda: _("Set by"),
    "set_at": lambda: _("Set at"),
    "stock": lambda: _("Stock"),
    "monthly_limit_per_household": lambda: _("Monthly limit per household"),
    "active": lambda: _("Active"),
    "active_from": lambda: _("Active from"),
    "active_until": lambda: _("Active until"),
    "exchange_weekdays": lambda: _("Exchange weekdays"),
    "username": lambda: _("Username"),
    "role": lambda: _("Role"),
    "user": lambda: _("User"),
    "user_id": lambda: _("User"),
    "sid": lambda: _("Session"),
    "expires_at": lambda: _("Expires at"),
    "token_version": lambda: _("Token version"),
    "credential": lambda: _("Signs in with"),
    "phone": lambda: _("Mobile number"),
    "display_name": lambda: _("Display name"),
    "helper": lambda: _("Helper"),
    "affiliation": lambda: _("Serves with"),
    "party_branch": lambda: _("Party branch"),
    "join_code": lambda: _("Join code"),
    "pin_reset_at": lambda: _("PIN reset at"),
    "captured_at": lambda: _("Captured at"),
    "volunteer": lambda: _("Volunteer"),
    "merchant": lambda: _("Shop"),
    "reward": lambda: _("Reward"),
    "point": lambda: _("Collection point"),
    "post": lambda: _("Volunteer post"),
    "inspector": lambda: _("Inspector"),
    "resident": lambda: _("Resident"),
    "clerk": lambda: _("Exchange clerk"),
    "actor": lambda: _("Done by"),
    "memo": lambda: _("Memo"),
    "note": lambda: _("Note"),
    "reason": lambda: _("Reason"),
    "reasons": lambda: _("Reasons"),
    "event_id": lambda: _("Event id"),
    "entry_id": lambda: _("Entry"),
    "credit_account_id": lambda: _("Credited account"),
    "debit_account_id": lambda: _("Debited account"),
    "credit_balance_after": lambda: _("Credited balance after"),
    "debit_balance_after": lambda: _("Debited balance after"),
    "credit_entry_id": lambda: _("Credit entry"),
    "refund_entry_id": lambda: _("Refund entry"),
    "reversal_entry_id": lambda: _("Correction entry"),
    "reverses_entry_id": lambda: _("Corrected entry"),
    "points": lambda: _("Points"),
    "amount_points": lambda: _("Amount (points)"),
    "points_awarded": lambda: _("Points awarded"),
    "remaining_points": lambda: _("Points left"),
    "rule_version": lambda: _("Rule version"),
    "version": lambda: _("Version"),
    "rules": lambda: _("Rules"),
    "effective_from": lambda: _("In force from"),
    "local_day": lambda: _("Day"),
    "local_month": lambda: _("Month"),
    "expires_on": lambda: _("Expires on"),
    "week": lambda: _("Week"),
    "assigned_by": lambda: _("Assigned by"),
    "assigned_at": lambda: _("Assigned at"),
    "stream": lambda: _("Waste stream"),
    "grade": lambda: _("Grade"),
    "final_grade": lambda: _("Final grade"),
    "new_grade": lambda: _("New grade"),
    "photo_ref": lambda: _("Photo"),
    "dropoff_id": lambda: _("Drop-off"),
    "scored": lambda: _("Scored"),
    "flagged": lambda: _("Flagged"),
    "material": lambda: _("Material"),
    "grams": lambda: _("Weight (grams)"),
    "quantity": lambda: _("Quantity"),
    "minutes": lambda: _("Minutes"),
    "started_at": lambda: _("Started at"),
    "ended_at": lambda: _("Ended at"),
    "window_start_minute": lambda: _("Window start (minute of the day)"),
    "status": lambda: _("Status"),
    "outcome": lambda: _("Outcome"),
    "decided_at": lambda: _("Decided at"),
    "decided_by": lambda: _("Decided by"),
    "opened_by": lambda: _("Opened by"),
    "inspection": lambda: _("Sorting grade"),
    "lot_id": lambda: _("Lot"),
    "change": lambda: _("Change"),
    "details": lambda: _("Details"),
    "payload": lambda: _("Contents"),
    "seq": lambda: _("Sequence"),
    "source": lambda: _("Source event"),
    "household_id": lambda: _("Household"),
    "volunteer_id": lambda: _("Volunteer"),
    "subject_user_id": lambda: _("About member"),
    "notice_id": lambda: _("Notice"),
    "read_at": lambda: _("Read at"),
    "attempts": lambda: _("Delivery attempts"),
    "next_attempt_at": lambda: _("Next attempt at"),
    "delivered_at": lambda: _("Delivered at"),
    "last_error": lambda: _("Last error"),
    "seal_no": lambda: _("Seal number"),
    "sealed_at": lambda: _("Sealed at"),
    "hash": lambda: _("Hash"),
    "operation": lambda: _("Operation"),
    "fingerprint": lambda: _("Fingerprint"),
    "result": lambda: _("Result"),
    "inputs": lambda: _("Inputs"),
}


def relabel(body: bytes, table: str) -> bytes:
    schema: dict[str, Any] = json.loads(body)
    for column, field in schema.get("properties", {}).items():
        label = column_label(column.removesuffix("_readable"))
        if label is not None and isinstance(field, dict):
            field["title"] = label
    name = table_label(table)
    if name is not None and isinstance(schema.get("extra"), dict):
        schema["extra"]["help_text"] = name
    return json.dumps(schema, ensure_ascii=False).encode()


def relabelling(scope: Scope, send: Send) -> Send:
    """`send` for the admin app, relabelling a schema reply; any other reply passes as it is."""
    fields = cast("dict[str, Any]", scope)
    path = fields.get("path", "") if fields["type"] == "http" and fields["method"] == "GET" else ""
    if (match := SCHEMA_PATH.match(path)) is None:
        return send
    table = match.group(1)
    held: list[dict[str, Any]] = []  # the reply's start and body messages, as sent

    async def send_relabelled(sent: Message) -> None:
        message = cast("dict[str, Any]", sent)
        if message["type"] == "http.response.start":
            held.append(message)
            return
        if message["type"] != "http.response.body":
            await send(sent)
            return
        held.append(message)
        if message.get("more_body"):
            return
        start, *parts = held
        body = b"".join(part.get("body", b"") for part in parts)
        if start["status"] == 200:
            body = relabel(body, table)
        headers = [
            (key, value) for key, value in start["headers"] if key.lower() != b"content-length"
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        await send(cast("Message", {**start, "headers": headers}))
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return send_relabelled

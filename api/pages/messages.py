"""Words the pages show for the ledger's codes: refusals, grades, streams, entry kinds.

Every string is an English msgid translated through the catalogs (api/locales); the
services' own `detail` texts are English and stay in the API.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from api.pages.i18n import _, pgettext
from ledger.domain.errors import LedgerError, refusal_from_record
from ledger.domain.registry import HouseholdKind
from ledger.domain.rules import Grade, Stream
from ledger.domain.scan_codes import CodeKind
from ledger.store.earning import ScannedHousehold
from ledger.store.views import GradedUnit, HouseholdView

if TYPE_CHECKING:
    from ledger.services.codes import Label
    from ledger.services.members import HouseholdOfMine

# Reason chips on the grading page: short codes the API accepts (`^[a-z0-9_]+$`).
REASON_CODES = ("mixed", "wrong_bin", "not_bagged", "liquid", "overfilled", "dirty")


def refusal_text(error: LedgerError) -> str:
    """One sentence a person can act on, in the page's language; a field that was not valid
    is named."""
    field = error.extra.get("field")
    label = field_label(field) if isinstance(field, str) else None
    if error.code == "validation_error" and label is not None:
        return _("Check this field: %(field)s.", field=label)
    texts = {
        "validation_error": _("Something in the form was not valid."),
        "not_found": _("That record does not exist."),
        "idempotency_conflict": _("This form was already sent with different content."),
        "insufficient_points": _("Not enough points for this."),
        "already_reversed": _("This was already undone."),
        "invalid_credentials": _("Wrong username or password."),
        "sign_in_locked": _("Too many wrong passwords. Wait a few minutes and try again."),
        "rate_limited": _("Too many requests. Wait a minute and try again."),
        "forbidden": _("Your role may not do this."),
        "out_of_scope": _("This household or place is outside your area."),
        "code_malformed": _("This QR code cannot be read."),
        "code_forged": _("The QR code failed its check: it was not issued by this system."),
        "code_revoked": _("This card was re-issued; the old card is void. Use the new card."),
        "code_wrong_kind": _("This is a different kind of code."),
        "invalid_code": _("That code has a typo: check the digits under the QR code again."),
        "scan_required": _("Scan the QR code with the camera: only staff may type the code."),
        "outside_window": _("Drop-offs count only during the point's opening hours."),
        "shift_open": _("You are already checked in. Check out first."),
        "no_open_shift": _("You are not checked in here."),
        "already_decided": _("This has already been decided."),
        "duplicate": _("This has already been registered."),
        "own_record": _("Nobody approves or enters their own volunteer hours."),
        "too_many_minutes": _("This would pass the day's maximum of volunteer hours."),
        "appeal_not_allowed": _("This grade can no longer be appealed."),
        "reward_inactive": _("This reward cannot be redeemed today."),
        "out_of_stock": _("This reward is out of stock."),
        "limit_reached": _("This household has reached this month's limit for this reward."),
        "nothing_to_settle": _("This shop holds no points to settle."),
        "join_refused": _(
            "This join code does not go with this card. Check the 6 digits on the card sheet."
        ),
        "phone_taken": _(
            "This mobile number is already registered. Sign in with it, or join with its PIN."
        ),
        "household_full": _(
            "This household already has 6 members. A member or staff must remove one first."
        ),
        "household_ambiguous": _("You belong to several households: choose the one you act for."),
        "body_too_large": _("The photo is too large: at most 2 MiB. Choose a smaller one."),
        "unsupported_media_type": _("The photo must be a JPEG, PNG or WebP image."),
        "not_assigned": _(
            "This week you are assigned to other compounds: your page lists this week's."
        ),
        "rotation_exceeded": _(
            "This inspector would grade the same compound too many weeks running. "
            "Assign someone else, or leave a week's break."
        ),
    }
    field = error.extra.get("field")
    if error.code == "validation_error" and field:
        return _("Something in the form was not valid: %(field)s.", field=field)
    return texts.get(error.code, _("This cannot be done."))


def field_label(field: str) -> str | None:
    """A form's or the API's field, as the page calls it (None: a field no page shows)."""
    return {
        "kilograms": _("Weight (kg)"),
        "grams": _("Weight (kg)"),
        "material": _("Material"),
        "reason": _("Reason"),
        "redemption_id": _("Redemption no."),
        "entry_id": _("Entry number"),
        "volunteer_id": _("Volunteer"),
        "compound_id": _("Compound"),
        "week": _("Week"),
        "inspector_id": _("Inspector"),
        "day": _("Day"),
        "hours": _("Hours"),
        "minutes": _("Hours"),
        "note": _("Where the hours come from"),
        "from": _("From"),
        "to": _("To"),
        "event_id": _("Form"),
        "id": _("User"),
        "quantity": _("Qty"),
        "amount": _("Points"),
        "name": _("Name"),
        "phone": _("Mobile number"),
        "pin": _("PIN (6 digits)"),
        "community_id": _("Community"),
        "party.kind": _("Serves with"),
        "party.branch": _("Party branch (party members only)"),
        "household_id": _("Household"),
        "join_code": _("Join code"),
        "pin_again": _("PIN again"),
        "display_name": _("Your name"),
        "as_helper": _("Helper"),
        "card_token": _("Household card"),
    }.get(field)


def household_choices(mine: list[HouseholdOfMine]) -> list[dict[str, Any]]:
    """A person's households (`Members.households_of`) for a page's switch or choice, each
    labelled in the page's language."""
    return [
        dataclasses.asdict(h) | {"label": f"{h.compound_name} {address(*h.address)}"} for h in mine
    ]


def refusal_texts(error: LedgerError) -> list[str]:
    """Every refusal that applied (the error and its `also_refused`), each with its numbers."""
    records = [error.to_record(), *error.extra.get("also_refused", [])]
    return [_refusal_with_numbers(record) for record in records if isinstance(record, dict)]


def _refusal_with_numbers(record: dict[str, object]) -> str:
    code = record.get("code")
    if code == "limit_reached" and {"limit", "redeemed"} <= record.keys():
        return _(
            "Over the monthly limit: at most %(limit)s per household a month, "
            "%(redeemed)s already redeemed this month, %(quantity)s asked.",
            limit=record["limit"],
            redeemed=record["redeemed"],
            quantity=record.get("quantity", ""),
        )
    if code == "insufficient_points" and {"balance_points", "short_points"} <= record.keys():
        return _(
            "Not enough points: %(short)s points short (balance %(balance)s, %(needed)s needed).",
            short=record["short_points"],
            balance=record["balance_points"],
            needed=record.get("needed_points", ""),
        )
    if code == "out_of_stock" and "stock" in record:
        return _("Not enough in stock: %(stock)s left.", stock=record["stock"])
    return refusal_text(refusal_from_record({"detail": "", **record}))


def code_refusal_text(error: LedgerError) -> str:
    """A scanned code that cannot be used."""
    if error.code == "not_found":
        return _("The QR code's household, point or post does not exist.")
    return refusal_text(error)


def grade_name(grade: str) -> str:
    return {
        Grade.GOOD: _("Good"),
        Grade.FAIR: _("Fair"),
        Grade.POOR: _("Poor"),
    }.get(Grade(grade), grade)


def stream_name(stream: str) -> str:
    return {
        Stream.KITCHEN: _("Kitchen waste"),
        Stream.RECYCLABLE: _("Recyclables"),
        Stream.HAZARDOUS: _("Hazardous waste"),
        Stream.OTHER: _("Other waste"),
    }.get(Stream(stream), stream)


def material_name(material: str) -> str:
    return {
        "paper": _("Paper"),
        "plastic": _("Plastic"),
        "metal": _("Metal"),
        "glass": _("Glass"),
        "textile": _("Textiles"),
    }.get(material, material)


def reason_name(code: str) -> str:
    return {
        "mixed": _("Mixed waste"),
        "wrong_bin": _("Wrong bin"),
        "not_bagged": _("Not bagged"),
        "liquid": _("Liquid left in"),
        "overfilled": _("Bin overfilled"),
        "dirty": _("Dirty packaging"),
    }.get(code, code)


def entry_kind_name(kind: str) -> str:
    return {
        "adjustment": _("Adjustment"),
        "reversal": _("Correction"),
        "inspection": _("Sorting grade"),
        "dropoff": _("Drop-off"),
        "weighin": _("Recyclables weighed"),
        "shift": _("Volunteer shift"),
        "redemption": _("Reward"),
        "payment": _("Payment to a shop"),
        "settlement": _("Settlement"),
        "expiry": _("Points expired"),
    }.get(kind, kind)


def status_name(status: str, of: str = "appeal") -> str:
    """An appeal's or a shift's status (`of`): an open appeal waits for a decision (待处理),
    an open shift is still going on (进行中); neither is the verb "open" (打开)."""
    return {
        "open": pgettext("shift status", "Open")
        if of == "shift"
        else pgettext("appeal status", "Open"),
        "pending": _("Waiting for approval"),
        "approved": _("Approved"),
        "declined": _("Declined"),
        "upheld": _("Upheld"),
        "rejected": _("Rejected"),
    }.get(status, status)


def check_name(name: str) -> str:
    """The checks of `greenledger verify` (ledger/services/verify.py)."""
    return {
        "conservation": _("Points are conserved"),
        "balances_match_entries": _("Balances match their entries"),
        "no_forbidden_negative": _("No forbidden negative balance"),
        "lots_match_balances": _("Point lots match the balances"),
        "lot_totals_match_lots": _("Lot totals match the lots"),
        "reversal_links": _("Each correction undoes one entry"),
        "hash_chain": _("The hash chain of sealed entries is intact"),
        "books_match_ledger": _("The books match the ledger"),
        "day_heads": _("Published day heads match their entries"),
    }.get(name, name)


def check_passed(name: str) -> str:
    """What a passed check proves; a failed one shows its own detail (ids and numbers)."""
    return {
        "conservation": _("All balances sum to 0."),
        "balances_match_entries": _("Every balance equals the sum of its entries."),
        "no_forbidden_negative": _("No household, volunteer or merchant is below 0."),
        "lots_match_balances": _("Every account's lots sum to its balance."),
        "lot_totals_match_lots": _("Every lot total equals the lots it sums."),
        "reversal_links": _("Every correction undoes exactly one entry."),
        "hash_chain": _("Every seal checks against the one before it."),
        "books_match_ledger": _(
            "In every community, points issued less redeemed, paid and expired equal what "
            "households and volunteers hold."
        ),
        "day_heads": _("Every published day's signed root is the tree of that day's entries."),
    }.get(name, "")


def role_name(role: str) -> str:
    return {
        "admin": _("Subdistrict staff"),
        "coordinator": _("Coordinator"),
        "inspector": _("Inspector"),
        "clerk": _("Exchange clerk"),
        "volunteer": _("Volunteer"),
        "resident": _("Resident"),
    }.get(role, role)


def address(building: str, unit: str, room: str) -> str:
    return _("Building %(building)s, unit %(unit)s, room %(room)s",
             building=building, unit=unit, room=room)  # fmt: skip


def unit_name(row: Mapping[str, Any] | HouseholdView | GradedUnit | ScannedHousehold) -> str:
    """What a page calls a household: its address; a shop or an office: its name."""
    if isinstance(row, HouseholdView | GradedUnit | ScannedHousehold):
        if row.kind != HouseholdKind.HOUSEHOLD:
            return row.name
        return address(row.building, row.unit, row.room)
    if row.get("kind", HouseholdKind.HOUSEHOLD) != HouseholdKind.HOUSEHOLD:
        return str(row["name"])
    return address(row["building"], row["unit"], row["room"])


def sticker_subtitle(kind: CodeKind, label: Label) -> str:
    """The line under a sticker's code: a household's address, a shop's or office's name, or
    a point's or post's name."""
    if label.address is not None:
        return address(*label.address)
    if kind is CodeKind.HOUSEHOLD:
        return label.name
    return f"{label.name} · {kind_name(kind.value)}"


def kind_name(kind: str) -> str:
    return {
        "household": _("Household card"),
        "point": _("Collection point"),
        "post": _("Volunteer post"),
    }.get(kind, kind)


def affiliation_name(affiliation: str) -> str:
    """The party a volunteer serves with (ledger/domain/volunteering.py)."""
    return {
        "none": _("No party"),
        "party_member": _("Party member"),
        "owners_committee": _("Owners' committee"),
        "property_company": _("Property company"),
    }.get(affiliation, affiliation)


def compound_kind_name(kind: str) -> str:
    return {
        "residential": _("Residential compound"),
        "shop_street": _("Shop street"),
        "office_building": _("Office building"),
    }.get(kind, kind)


JINJA_FILTERS = {
    "compound_kind_name": compound_kind_name,
    "unit_name": unit_name,
    "grade_name": grade_name,
    "stream_name": stream_name,
    "reason_name": reason_name,
    "material_name": material_name,
    "entry_kind_name": entry_kind_name,
    "status_name": status_name,
    "role_name": role_name,
    "check_name": check_name,
    "check_passed": check_passed,
    "kind_name": kind_name,
    "affiliation_name": affiliation_name,
}

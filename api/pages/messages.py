"""Words the pages show for the ledger's codes: refusals, grades, streams, entry kinds.

Every string is an English msgid translated through the catalogs (api/locales); the
services' own `detail` texts are English and stay in the API.
"""

from __future__ import annotations

from api.pages.i18n import _
from ledger.domain.errors import LedgerError
from ledger.domain.rules import Grade, Stream

# Reason chips on the grading page: short codes the API accepts (`^[a-z0-9_]+$`).
REASON_CODES = ("mixed", "wrong_bin", "not_bagged", "liquid", "overfilled", "dirty")


def refusal_text(error: LedgerError) -> str:
    """One sentence a person can act on, in the page's language."""
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
        "outside_window": _("Drop-offs count only during the point's opening hours."),
        "shift_open": _("You are already checked in. Check out first."),
        "no_open_shift": _("You are not checked in here."),
        "already_decided": _("This has already been decided."),
        "appeal_not_allowed": _("This grade can no longer be appealed."),
        "reward_inactive": _("This reward cannot be redeemed today."),
        "out_of_stock": _("This reward is out of stock."),
        "limit_reached": _("This household has reached this month's limit for this reward."),
        "body_too_large": _("The photo is too large: at most 2 MiB. Choose a smaller one."),
        "unsupported_media_type": _("The photo must be a JPEG, PNG or WebP image."),
    }
    field = error.extra.get("field")
    if error.code == "validation_error" and field:
        return _("Something in the form was not valid: %(field)s.", field=field)
    return texts.get(error.code, _("This cannot be done."))


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


def status_name(status: str) -> str:
    return {
        "open": _("Open"),
        "pending": _("Waiting for approval"),
        "approved": _("Approved"),
        "declined": _("Declined"),
        "upheld": _("Upheld"),
        "rejected": _("Rejected"),
    }.get(status, status)


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


def kind_name(kind: str) -> str:
    return {
        "household": _("Household card"),
        "point": _("Collection point"),
        "post": _("Volunteer post"),
    }.get(kind, kind)


JINJA_FILTERS = {
    "grade_name": grade_name,
    "stream_name": stream_name,
    "reason_name": reason_name,
    "entry_kind_name": entry_kind_name,
    "status_name": status_name,
    "role_name": role_name,
    "kind_name": kind_name,
}

"""Expected rejections. Each has a stable `code` that is part of the public API."""

from __future__ import annotations

from typing import Any, ClassVar


class LedgerError(Exception):
    """An expected rejection the client can act on; `code` is part of the public API."""

    code: ClassVar[str] = "ledger_error"
    # Whether the refusal is stored against its event_id. It is when something that can
    # change decided it (stored rows, the clock), so that a resend stays refused after the
    # change; it is not when the request's content alone decided it: the same request is
    # refused the same way whenever it comes back, and nothing was decided
    # (docs/decisions/2026-12-06-which-refusals-are-stored.md).
    stored: bool = True

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def to_record(self) -> dict[str, Any]:
        """What is stored so that a retried refusal is refused the same way."""
        return {"code": self.code, "detail": self.detail, **self.extra}


class InvalidInput(LedgerError):
    """A field's value breaks a rule the type system cannot express."""

    code = "validation_error"

    def __init__(self, field: str, detail: str, *, by_clock: bool = False) -> None:
        """`by_clock`: the value is refused for when it comes (a day in the future), so it is
        stored like a business refusal."""
        super().__init__(f"{field}: {detail}", field=field)
        self.stored = by_clock


class NotFound(LedgerError):
    """The thing named by an id does not exist."""

    code = "not_found"

    def __init__(self, what: str, identifier: object) -> None:
        super().__init__(f"{what} {identifier} not found", what=what)


class IdempotencyConflict(LedgerError):
    """An event_id is reused with different content: reject, never guess."""

    code = "idempotency_conflict"


class InsufficientPoints(LedgerError):
    """A household, volunteer or merchant account never goes below zero."""

    code = "insufficient_points"


class AlreadyReversed(LedgerError):
    """An entry is reversed at most once."""

    code = "already_reversed"


class NotReversible(LedgerError):
    """A reversal is itself final; correct it with an adjustment."""

    code = "not_reversible"


class UsernameTaken(LedgerError):
    code = "username_taken"


class Duplicate(LedgerError):
    """Registry names and addresses are unique where people would confuse them."""

    code = "duplicate"


class InvalidCredentials(LedgerError):
    code = "invalid_credentials"


class Forbidden(LedgerError):
    """The caller's role may not do this."""

    code = "forbidden"


class HouseholdAmbiguous(LedgerError):
    """A person of several households did not say which one they act for (`choices`)."""

    code = "household_ambiguous"
    stored = False

    def __init__(self, detail: str, choices: list[int]) -> None:
        super().__init__(detail, field="household_id", choices=choices)


class JoinRefused(LedgerError):
    """A household card and join code that do not go together (wrong or old code)."""

    code = "join_refused"
    stored = False


class PhoneTaken(LedgerError):
    """The mobile number is another account's username or sign-in number."""

    code = "phone_taken"
    stored = False


class HouseholdFull(LedgerError):
    """A household has as many members (helpers counted) as it may have."""

    code = "household_full"


class OutOfScope(LedgerError):
    """The caller's role allows this, but not for that compound or household."""

    code = "out_of_scope"


class OwnRecord(LedgerError):
    """Staff never approve or back-fill their own volunteer hours."""

    code = "own_record"


class TooManyMinutes(LedgerError):
    """A volunteer's approved and back-filled minutes of one local day stay within the rules'
    daily maximum."""

    code = "too_many_minutes"


class CodeMalformed(LedgerError):
    """The scanned text is not a code this system printed."""

    code = "code_malformed"
    stored = False


class CodeForged(LedgerError):
    """The code's signature does not match any of our keys."""

    code = "code_forged"
    stored = False


class CodeRevoked(LedgerError):
    """The code was valid but its card has been re-issued since."""

    code = "code_revoked"


class CodeWrongKind(LedgerError):
    """A genuine code of another kind (a household card where a point was expected)."""

    code = "code_wrong_kind"
    stored = False


class InvalidShortCode(LedgerError):
    """A typed short code whose check digit fails (or that has the wrong number of digits)."""

    code = "invalid_code"


class ScanRequired(LedgerError):
    """Typed short codes are guessable: only staff may type them; everyone else scans."""

    code = "scan_required"


class OutsideWindow(LedgerError):
    """Drop-offs count only inside a collection point's opening windows."""

    code = "outside_window"


class ShiftOpen(LedgerError):
    """A volunteer has one open shift at a time."""

    code = "shift_open"


class NoOpenShift(LedgerError):
    code = "no_open_shift"


class AlreadyDecided(LedgerError):
    """A shift or an appeal is decided once."""

    code = "already_decided"


class AppealClosed(LedgerError):
    """A grade may be appealed once, within the rule's number of days."""

    code = "appeal_not_allowed"


class CapturedAtOutOfRange(LedgerError):
    """A scan's capture time is older, or further ahead, than the rules accept."""

    code = "captured_at_out_of_range"


class DropoffExpired(LedgerError):
    """A resident's drop-off waits for its grade 30 minutes (ledger/domain/dropoffs.py)."""

    code = "dropoff_expired"


class DropoffElsewhere(LedgerError):
    """A drop-off is graded at the collection point where it was recorded."""

    code = "wrong_point"


class AlreadyGraded(LedgerError):
    """A drop-off is graded once per waste stream, whoever grades it."""

    code = "already_graded"


class RuleNotAllowed(LedgerError):
    """Rules change going forward only: the past keeps the rules it was earned under."""

    code = "rule_not_allowed"


def first_of(refusals: list[LedgerError]) -> LedgerError:
    """Several refusals at once: the first keeps its `code` (the API's contract) and names the
    others in `also_refused`, each as `{"code", "detail", ...its numbers}`."""
    first, *others = refusals
    if others:
        first.extra["also_refused"] = [other.to_record() for other in others]
    return first


def refusal_from_record(record: dict[str, Any]) -> LedgerError:
    """Rebuild a stored refusal so that a retried request is refused exactly as before."""
    extra = {key: value for key, value in record.items() if key not in ("code", "detail")}
    code = record["code"]
    cls = _error_classes().get(code)
    if cls is None:  # a code retired since: keep it as it was sent the first time
        cls = type("StoredRefusal", (LedgerError,), {"code": code})
    error = cls.__new__(cls)
    LedgerError.__init__(error, record["detail"], **extra)
    return error


def _error_classes() -> dict[str, type[LedgerError]]:
    found: dict[str, type[LedgerError]] = {}
    pending: list[type[LedgerError]] = [LedgerError]
    while pending:
        cls = pending.pop()
        found[cls.code] = cls
        pending.extend(cls.__subclasses__())
    return found


class NotYetSealed(LedgerError):
    """A receipt is asked for an entry the sealer has not chained yet (seconds, normally)."""

    code = "not_yet_sealed"


class DayNotPublished(LedgerError):
    """A receipt is asked for an entry whose local day's head is not published yet (after the
    sealer passes local midnight)."""

    code = "day_not_published"

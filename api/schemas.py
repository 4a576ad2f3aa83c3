"""Request and response bodies. Field names are the domain's words."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from ledger.domain import chain
from ledger.domain.access import Role
from ledger.domain.entries import AMOUNT_POINTS_MAX
from ledger.domain.idempotency import EVENT_ID_PATTERN
from ledger.domain.registry import CompoundKind, HouseholdKind
from ledger.services import (
    accounts,
    appeals,
    boards,
    books,
    catalog,
    grading,
    lag,
    members,
    notices,
    registry,
    reinspections,
    reports,
    rotation,
    scans,
    shifts,
    spending,
    users,
    volunteers,
)

ID_MAX = 2**53


def struct_of(
    source: type, name: str, wire: Callable[[Any], Any] = lambda hint: hint, **config: Any
) -> type[msgspec.Struct]:
    """A reply Struct with the fields of the service's or the domain's dataclass `source`, in
    its order and with its defaults, each type as `wire` sends it: for a reply that differs from
    that value only in how it is sent (decisions/2026-12-06-wire-types.md)."""
    hints = typing.get_type_hints(source)
    fields = [
        (field.name, wire(hints[field.name]))
        if field.default is dataclasses.MISSING
        else (field.name, wire(hints[field.name]), field.default)
        for field in dataclasses.fields(source)
    ]
    namespace = {"__doc__": source.__doc__}
    return msgspec.defstruct(name, fields, namespace=namespace, module=__name__, **config)


EventId = Annotated[
    str,
    Meta(
        pattern=EVENT_ID_PATTERN,
        min_length=1,
        max_length=64,
        description="Client-made id of this write; the same id and body replays the first reply.",
        examples=["7f1c9a52-3a44-4bcb-9d0e-2f1b0c6f9a11"],
    ),
]
Id = Annotated[int, Meta(ge=1, le=ID_MAX)]
# Free text never carries control characters (PostgreSQL cannot even store NUL).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Name = Annotated[str, Meta(min_length=1, max_length=100, pattern=PRINTABLE, examples=["信义坊"])]
AddressPart = Annotated[str, Meta(min_length=1, max_length=20, pattern=PRINTABLE)]
Points = Annotated[int, Meta(ge=1, le=AMOUNT_POINTS_MAX)]
SignedPoints = Annotated[int, Meta(ge=-AMOUNT_POINTS_MAX, le=AMOUNT_POINTS_MAX, examples=[20, -5])]
Reason = Annotated[
    str, Meta(min_length=1, max_length=500, pattern=PRINTABLE, examples=["补录纸质积分本 2026-11"])
]
Window = Annotated[str, Meta(pattern=r"^\d\d:\d\d-\d\d:\d\d$", examples=["07:00-09:00"])]


class Body(msgspec.Struct, forbid_unknown_fields=True):
    """Unknown fields are refused, so a typo never silently drops a value."""


class TokenRequest(Body):
    username: Annotated[
        str, Meta(min_length=1, max_length=64, pattern=PRINTABLE, examples=["admin"])
    ]
    password: Annotated[str, Meta(min_length=1, max_length=128)]


class TokenReply(msgspec.Struct):
    access_token: str
    token_type: str
    role: str
    expires_in: int


class MyHousehold(msgspec.Struct):
    household_id: int
    helper: bool
    label: str  # the compound and building-unit-room


class Me(msgspec.Struct):
    user_id: int
    username: str
    role: str
    household_id: int | None
    volunteer_id: int | None
    household_account_id: int | None
    volunteer_account_id: int | None
    compound_ids: list[int]
    households: list[MyHousehold] = msgspec.field(default_factory=list)


class NewUser(Body):
    event_id: EventId
    username: Annotated[str, Meta(min_length=1, max_length=64, pattern=PRINTABLE)]
    password: Annotated[str, Meta(min_length=8, max_length=128)]
    role: Role
    household_id: Id | None = None
    volunteer_id: Id | None = None
    compound_ids: Annotated[list[Id], Meta(max_length=100)] = msgspec.field(default_factory=list)


UserAdded = users.UserAdded  # the service's own


class UserChange(Body):
    """Only what is given changes; compound_ids replaces the whole scope."""

    event_id: EventId
    role: Role | None = None
    compound_ids: Annotated[list[Id], Meta(max_length=100)] | None = None


UserDetails = users.UserDetails  # the service's own


class NewCommunity(Body):
    event_id: EventId
    name: Name


CommunityCreated = registry.CommunityCreated  # the service's own


class NewCompound(Body):
    event_id: EventId
    community_id: Id
    name: Name
    # What the compound is; each kind holds one kind of unit (households, shops, offices).
    kind: CompoundKind = CompoundKind.RESIDENTIAL


class CompoundReply(msgspec.Struct):
    id: int
    community_id: int
    name: str
    kind: str = CompoundKind.RESIDENTIAL.value


class NewHousehold(Body):
    """A household gives building, unit and room; a shop or an office gives its name instead,
    in a compound of the matching kind (shop_street, office_building)."""

    event_id: EventId
    compound_id: Id
    building: AddressPart | None = None
    unit: AddressPart | None = None
    room: AddressPart | None = None
    kind: HouseholdKind = HouseholdKind.HOUSEHOLD
    name: Name | None = None


class HouseholdReply(msgspec.Struct):
    id: int
    account_id: int
    card_token: str
    short_code: str = ""  # digits only; "" only in a replay stored before short codes existed
    join_code: str = ""  # 6 digits; "" only in a replay stored before join codes existed


class EventOnly(Body):
    event_id: EventId


class CardReply(msgspec.Struct):
    card_token: str
    short_code: str = ""  # the re-issued card's new typed code
    join_code: str = ""  # the new card's join code (the old card's stops working)


class JoinRequest(Body):
    """Join the household of a scanned card with its join code (issue 15)."""

    card_token: Annotated[str, Meta(min_length=1, max_length=100, pattern=PRINTABLE)]
    join_code: Annotated[str, Meta(min_length=1, max_length=20, examples=["482916"])]
    phone: Annotated[str, Meta(min_length=1, max_length=20, examples=["13812345678"])]
    pin: Annotated[str, Meta(min_length=1, max_length=20, examples=["284913"])]
    display_name: Annotated[str, Meta(max_length=50, pattern=PRINTABLE)] | None = None
    as_helper: bool = False


class JoinReply(msgspec.Struct):
    user_id: int
    household_id: int
    access_token: str


class Member(msgspec.Struct):
    user_id: int
    display_name: str
    phone: str | None  # 138****5678 except to admins and the member themself
    helper: bool
    joined_at: str
    pin_reset_at: str | None = None  # the last fresh join with the card, which set a new PIN


class MemberList(msgspec.Struct):
    items: list[Member]


JoinCodeReset = members.JoinCodeReset  # the service's own


class NewPoint(Body):
    event_id: EventId
    compound_id: Id
    name: Name
    windows: Annotated[list[Window], Meta(max_length=12)] = msgspec.field(default_factory=list)


class NewPost(Body):
    event_id: EventId
    compound_id: Id
    name: Name


class CodeReply(msgspec.Struct):
    id: int
    token: str
    short_code: str = ""


class NewMerchant(Body):
    event_id: EventId
    community_id: Id
    name: Name


class NewVolunteer(Body):
    event_id: EventId
    community_id: Id
    name: Name


AccountHolderCreated = registry.AccountHolderCreated  # the service's own


Weekday = Annotated[int, Meta(ge=1, le=7)]
Day = Annotated[str, Meta(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2026-12-01"])]


class NewReward(Body):
    event_id: EventId
    community_id: Id
    name: Name
    cost_points: Points
    stock: Annotated[int, Meta(ge=0, le=10_000_000)]
    monthly_limit_per_household: Annotated[int, Meta(ge=1, le=1_000)] | None = None
    active_from: Day | None = None
    active_until: Day | None = None
    exchange_weekdays: Annotated[list[Weekday], Meta(max_length=7)] | None = None


RewardView = catalog.RewardView  # the service's own


class Page(msgspec.Struct):
    items: list[dict[str, object]]
    next_cursor: str | None


class Adjustment(Body):
    event_id: EventId
    account_id: Id
    amount_points: SignedPoints
    reason: Reason


Adjusted = accounts.Adjusted  # the service's own


class Reversal(Body):
    event_id: EventId
    reason: Reason


Reversed = accounts.Reversed  # the service's own


# A reply part that is the service's own dataclass, field for field, is that dataclass
# (docs/decisions/2026-12-06-wire-types.md).
Expiring = accounts.Expiring


AccountView = accounts.AccountView  # the service's own


class AccountEntry(msgspec.Struct):
    id: int
    kind: str
    amount_points: int
    direction: Literal["credit", "debit"]
    balance_after_points: int
    counter_account_id: int
    created_at: str
    actor: str
    event_id: str | None
    reverses_entry_id: int | None
    rule_version: int | None
    memo: str
    # When the scan behind it was captured, if its device said so (created_at: the server's).
    captured_at: str | None = None


class EntryPage(msgspec.Struct):
    items: list[AccountEntry]
    next_cursor: str | None


class CheckResult(msgspec.Struct):
    name: str
    ok: bool
    detail: str


class VerifyReply(msgspec.Struct):
    ok: bool
    entries: int
    sealed_through: int
    pending_seal: int
    checks: list[CheckResult]


class Health(msgspec.Struct):
    database: Literal["ok", "down"]
    redis: Literal["ok", "absent", "down"]


class Liveness(msgspec.Struct):
    status: Literal["live"]


Lag = lag.Lag  # the service's own


class Readiness(msgspec.Struct):
    ready: bool
    reasons: list[str]  # why not: database_down, migrations_pending, redis_down; [] when ready
    database: Literal["ok", "down"]
    migrations: Literal["current", "pending", "unknown"]
    pending_migrations: list[str]
    redis: Literal["ok", "absent", "down"]
    sealer: Lag | None  # None when the database did not answer
    projector: Lag | None  # None without Redis (or when it did not answer)


# --- earning -------------------------------------------------------------------------------

CapturedAt = Annotated[
    str,
    Meta(
        max_length=64,
        description="When the scan was captured, ISO 8601 with offset. Counts (day, windows, "
        "caps, boards) within the rules' bounds (422 `captured_at_out_of_range`); without it, "
        "the server's time.",
        examples=["2026-12-05T23:58:00+08:00"],
    ),
]
Token = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=100,
        examples=["1h.7ps.1.a.h_Pt9TBBZ0MxpUIA", "2031 4417 06"],
        description="The scanned QR token, or the short code printed under the QR code "
        "(digits; spaces and dashes ignored), which only staff may type in their compounds",
    ),
]
ReasonCode = Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")]


class RulesIn(Body):
    event_id: EventId
    effective_from: Annotated[str, Meta(examples=["2026-12-01T00:00:00+08:00"])]
    rules: dict[str, object]


class RulesReply(msgspec.Struct):
    community_id: int
    version: int
    effective_from: str
    rules: dict[str, object]


class InspectionIn(Body, kw_only=True):
    """The household is named by its card (`household_token`) or by a resident's drop-off at
    this point in the last 30 minutes (`dropoff_id`, from the point's queue): exactly one."""

    event_id: EventId
    household_token: Token | None = None
    dropoff_id: (
        Annotated[
            int,
            Meta(
                ge=1,
                le=ID_MAX,
                description="A drop-off from GET /api/v1/points/{id}/queue, in place of "
                "household_token; graded at its own point (`point_token`), once per stream, "
                "within 30 minutes.",
            ),
        ]
        | None
    ) = None
    point_token: Token
    stream: Literal["kitchen", "recyclable", "hazardous", "other"]
    grade: Literal["good", "fair", "poor"]
    reasons: Annotated[list[ReasonCode], Meta(max_length=10)] = msgspec.field(default_factory=list)
    photo_ref: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=200,
                pattern=PRINTABLE,
                description="A stored photo's ref (`sha256:…`, from POST /api/v1/photos), which "
                "must exist; any other text is kept as given.",
            ),
        ]
        | None
    ) = None
    captured_at: CapturedAt | None = None


Graded = grading.Graded  # the service's own


class QueueItem(msgspec.Struct):
    dropoff_id: Annotated[int, Meta(examples=[4182])]
    household_id: int
    label: Annotated[str, Meta(examples=["3幢2单元301室"], description="As on the card")]
    building: str
    unit: str
    room: str
    dropped_at: Annotated[str, Meta(examples=["2026-12-06T07:41:12+00:00"])]
    graded: bool
    graded_streams: Annotated[list[str], Meta(examples=[["kitchen"]])]
    name: Annotated[str | None, Meta(description="A shop's or office's name, if it has one")] = None


class QueueReply(msgspec.Struct):
    point_id: int
    items: list[QueueItem]
    next_cursor: str | None


class DropoffIn(Body):
    event_id: EventId
    point_token: Token
    captured_at: CapturedAt | None = None
    # Needed only by someone of several households (a helper): the one they act for.
    household_id: Id | None = None


DropoffRecorded = scans.DropoffRecorded  # the service's own


class WeighinIn(Body):
    event_id: EventId
    household_token: Token
    material: Literal["paper", "plastic", "metal", "glass", "textile"]
    grams: Annotated[int, Meta(ge=1, le=10_000_000)]
    captured_at: CapturedAt | None = None


WeighinRecorded = scans.WeighinRecorded  # the service's own


class ShiftScanIn(Body):
    event_id: EventId
    post_token: Token
    captured_at: CapturedAt | None = None


ShiftStarted = shifts.ShiftStarted  # the service's own


class CheckOutReply(msgspec.Struct):
    shift_id: int
    minutes: int
    status: str
    flagged: bool = False  # left open too long: closed automatically, no minutes counted


ShiftDecided = shifts.ShiftDecided  # the service's own


class BulkDecisionIn(Body):
    event_id: EventId
    shift_ids: Annotated[list[Id], Meta(min_length=1, max_length=500)]
    outcome: Literal["approve", "decline"]


class BulkDecisionReply(msgspec.Struct):
    results: list[ShiftDecided]


class BackfillIn(Body):
    event_id: EventId
    volunteer_id: Id
    compound_id: Id
    day: Annotated[str, Meta(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2026-11-20"])]
    minutes: Annotated[int, Meta(ge=1, le=1440)]
    note: Annotated[str, Meta(min_length=1, max_length=500, pattern=PRINTABLE)]


HoursBackfilled = shifts.HoursBackfilled  # the service's own


VolunteerHours = shifts.VolunteerHours  # the service's own


class AppealIn(Body):
    event_id: EventId
    reason: Reason


AppealOpened = appeals.AppealOpened  # the service's own


class AppealDecisionIn(Body):
    event_id: EventId
    outcome: Literal["upheld", "rejected"]
    new_grade: Literal["good", "fair", "poor"] | None = None


AppealDecided = appeals.AppealDecided  # the service's own


class BatchIn(Body):
    # Items are checked one by one (an item that is not an object fails on its own).
    events: Annotated[
        list[object],
        Meta(
            min_length=1,
            max_length=1000,
            examples=[
                [
                    {
                        "type": "inspection",
                        "event_id": "d3b0-0001",
                        "household_token": "1h.1.1.a.x",
                        "point_token": "1p.1.1.a.y",
                        "stream": "kitchen",
                        "grade": "good",
                        "captured_at": "2026-12-05T23:58:00+08:00",
                    },
                    {
                        "type": "weighin",
                        "event_id": "d3b0-0002",
                        "household_token": "1h.1.1.a.x",
                        "material": "paper",
                        "grams": 2500,
                    },
                ]
            ],
        ),
    ]


class BatchResult(msgspec.Struct):
    event_id: str | None
    status: int
    body: dict[str, object]


class BatchReply(msgspec.Struct):
    results: list[BatchResult]


# --- spending ------------------------------------------------------------------------------


class RewardChangeIn(Body):
    event_id: EventId
    name: Name | None = None
    cost_points: Points | None = None
    monthly_limit_per_household: Annotated[int, Meta(ge=1, le=1_000)] | None = None
    active_from: Day | None = None
    active_until: Day | None = None
    exchange_weekdays: Annotated[list[Weekday], Meta(max_length=7)] | None = None


class RestockIn(Body):
    event_id: EventId
    quantity: Annotated[int, Meta(ge=1, le=10_000_000)]


class RewardHistoryItem(msgspec.Struct):
    change: str
    details: dict[str, object]
    actor: str
    at: str


class RedemptionIn(Body):
    event_id: EventId
    reward_id: Id
    quantity: Annotated[int, Meta(ge=1, le=100)] = 1
    household_token: Token | None = None
    household_id: Id | None = None


class RedemptionReply(msgspec.Struct):
    redemption_id: int
    entry_id: int
    points: int
    balance_points: int


class RefundIn(Body):
    event_id: EventId
    reason: Reason


class PaymentIn(Body):
    event_id: EventId
    household_token: Token
    merchant_id: Id
    amount_points: Points


class PaymentReply(msgspec.Struct):
    payment_id: int
    entry_id: int
    balance_points: int


Settled = spending.Settled  # the service's own


StatementLine = spending.StatementLine  # the service's own, as Expiring


class Statement(msgspec.Struct):
    merchant_id: int
    merchant: str
    from_: str = msgspec.field(name="from")
    to: str = ""
    opening_balance_points: int = 0
    received_points: int = 0
    settled_points: int = 0
    closing_balance_points: int = 0
    lines: list[StatementLine] = msgspec.field(default_factory=list)


class ExpiringAccount(msgspec.Struct):
    account_id: int
    kind: str
    community_id: int
    household_id: int | None
    points: int
    first_expires_on: str


class ExpiringPage(msgspec.Struct):
    items: list[ExpiringAccount]
    next_cursor: str | None


# --- boards --------------------------------------------------------------------------------


# The service's line, without the counts a plain number does not have.
BoardItem = struct_of(boards.BoardItem, "BoardItem", omit_defaults=True)


class BoardReply(msgspec.Struct):
    board: str
    period: str
    bucket: str
    scope_id: int
    source: str
    items: list[BoardItem]  # type: ignore[valid-type]  # made by struct_of


class RedBlackReply(msgspec.Struct):
    community_id: int
    half_month: str
    min_graded: int
    source: str
    red: list[BoardItem]  # type: ignore[valid-type]  # made by struct_of
    black: list[BoardItem]  # type: ignore[valid-type]  # made by struct_of


# --- reports -------------------------------------------------------------------------------


# The service's own, as Expiring. Under another name, which only an OpenAPI component would
# show: the report's reply is a Response that the document does not describe.
CompoundReportRow = reports.CompoundRow


class RewardStock(msgspec.Struct):
    id: int
    name: str
    stock: int
    cost_points: int


class CompoundReport(msgspec.Struct):
    community_id: int
    from_: str = msgspec.field(name="from")
    to: str = ""
    rows: list[CompoundReportRow] = msgspec.field(default_factory=list)
    reward_stock: list[RewardStock] = msgspec.field(default_factory=list)


class AuditItem(msgspec.Struct):
    event_id: str
    at: str
    actor: str
    role: str
    operation: str
    inputs: dict[str, object]
    outcome: str
    result: dict[str, object]


class AuditPage(msgspec.Struct):
    items: list[AuditItem]
    next_cursor: str | None


class PhotoReply(msgspec.Struct):
    """A stored photo: its ref is the SHA-256 of its bytes, so the same photo has one ref."""

    photo_ref: Annotated[
        str,
        Meta(
            pattern=r"^sha256:[0-9a-f]{64}$",
            examples=["sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
        ),
    ]
    size_bytes: int
    content_type: Literal["image/jpeg", "image/png", "image/webp"]


# --- volunteers who apply (issue 15, item 3) -----------------------------------------------


class PartyIn(Body):
    """The party a volunteer serves with; only a party member names a branch (党支部)."""

    kind: Literal["party_member", "owners_committee", "property_company"]
    branch: (
        Annotated[str, Meta(max_length=100, pattern=PRINTABLE, examples=["信义坊社区第一党支部"])]
        | None
    ) = None


class VolunteerApplicationIn(Body):
    event_id: EventId
    community_id: Id
    name: Annotated[str, Meta(min_length=1, max_length=50, pattern=PRINTABLE, examples=["朱秀娟"])]
    phone: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=20,
            description="A mainland mobile number; spaces, dashes and +86 are ignored.",
            examples=["13812345678"],
        ),
    ]
    pin: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=32,
            description="6 digits, not a run or repeat (123456, 000000); hashed at once.",
            examples=["582039"],
        ),
    ]
    party: PartyIn | None = None


ApplicationReceived = volunteers.ApplicationReceived  # the service's own


ApplicationDecided = volunteers.ApplicationDecided  # the service's own


VolunteerHoursRow = volunteers.PartyHours  # as CompoundReportRow


class VolunteerHoursReport(msgspec.Struct):
    community_id: int
    community: str
    from_: str = msgspec.field(name="from")
    to: str = ""
    by: str = "affiliation"
    rows: list[VolunteerHoursRow] = msgspec.field(default_factory=list)


class NoticeItem(msgspec.Struct, omit_defaults=True):
    """A notice: `text` in the reader's language; the other fields depend on `kind`."""

    id: int
    kind: Literal[
        "appeal_decided",
        "shift_decided",
        "points_expiring",
        "member_joined",
        "spent",
        "card_reissued",
    ]
    created_at: str
    read: bool
    text: str
    household_id: int | None = None
    volunteer_id: int | None = None
    outcome: str | None = None  # appeal: upheld | rejected; shift: approved | declined
    appeal_id: int | None = None
    inspection_id: int | None = None
    stream: str | None = None
    graded_on: str | None = None
    new_grade: str | None = None
    points_awarded: int | None = None
    shift_id: int | None = None
    minutes: int | None = None
    day: str | None = None
    points: int | None = None
    expires_on: str | None = None
    within_days: int | None = None
    user_id: int | None = None
    display_name: str | None = None
    helper: bool | None = None
    spent_on: Literal["redemption", "payment"] | None = None
    redemption_id: int | None = None
    reward: str | None = None
    quantity: int | None = None
    payment_id: int | None = None
    merchant: str | None = None
    balance_points: int | None = None


class NoticePage(msgspec.Struct):
    items: list[NoticeItem]
    next_cursor: str | None
    unread: int


class NoticesRead(Body):
    """Either `ids` (these notices) or `up_to_id` (every notice up to this id)."""

    ids: Annotated[list[Id], Meta(min_length=1, max_length=500, examples=[[17, 18]])] | None = None
    up_to_id: Annotated[int, Meta(ge=1, le=ID_MAX, examples=[18])] | None = None


Marked = notices.Marked  # the service's own


# --- The books (issue 19 part 1) ----------------------------------------------------------


class RewardCostIn(Body):
    """A reward's unit cost in fen (1 yuan = 100 fen) from `effective_from` (a local day;
    default: now). `community_id` names the reward's community: a reward of another one is a
    404, as at the counter."""

    event_id: EventId
    community_id: Id
    cost_fen: Annotated[int, Meta(ge=0, le=100_000_000, examples=[1250])]
    effective_from: Day | None = None


RewardCostView = books.RewardCostView  # the service's own


class ReorderThresholdIn(Body):
    """Stock at or below `threshold` raises a reorder alert on the books."""

    event_id: EventId
    community_id: Id
    threshold: Annotated[int, Meta(ge=0, le=10_000_000, examples=[5])]


ReorderThreshold = books.ReorderThreshold  # the service's own


# The service's own, as Expiring; LiabilityStock as CompoundReportRow.
LiabilityMonth = books.LiabilityMonth
MerchantBalance = books.MerchantBalance
LiabilityStock = books.StockLine


class LiabilityReport(msgspec.Struct):
    community_id: int
    from_: str = msgspec.field(name="from")
    to: str = ""
    estimate_method: str = ""
    months: list[LiabilityMonth] = msgspec.field(default_factory=list)
    merchants: list[MerchantBalance] = msgspec.field(default_factory=list)
    reward_stock: list[LiabilityStock] = msgspec.field(default_factory=list)


# --- Transparency log (issue 19 part 3) ---------------------------------------------------


class ChainKey(msgspec.Struct):
    key_id: str  # first 16 hex digits of SHA-256 of the raw public key
    public_key: str  # the raw 32-byte Ed25519 public key, hex
    algorithm: str  # "Ed25519"
    signing: bool  # whether it signs new heads (the others are retired: they verify old ones)


class ChainKeysReply(msgspec.Struct):
    keys: list[ChainKey]
    head_format: str  # what is signed: "greenledger-day-head/v1\n{day}\n{tree_size}\n{root}"


class ChainHeadItem(msgspec.Struct):
    day: str
    tree_size: int
    root: str
    key_id: str
    signature: str


class ChainHeadsReply(msgspec.Struct):
    items: list[ChainHeadItem]


def _time_as_text(hint: Any) -> Any:
    """A time as a receipt sends it: ISO 8601 text (ledger/domain/receipts.py `entry_fields`)."""
    return {datetime: str, datetime | None: str | None}.get(hint, hint)


# Made from the chain's own fields, in their order, so a field the chain adds is sent too.
ReceiptEntry = struct_of(chain.SealableEntry, "ReceiptEntry", _time_as_text)


class ReceiptReply(msgspec.Struct):
    entry_id: int
    day: str
    seal_no: int
    previous_hash: str
    entry: ReceiptEntry  # type: ignore[valid-type]  # made by struct_of
    entry_hash: str
    leaf_index: int
    tree_size: int
    audit_path: list[str]
    root: str


# --- Inspector rotation (issue 19, 2(a)) -------------------------------------------------


AssignmentChanged = rotation.AssignmentChanged  # the service's own


AssignmentView = rotation.AssignmentView  # the service's own


class PlanInspector(msgspec.Struct):
    id: int
    username: str
    display_name: str


class PlanCompound(msgspec.Struct):
    id: int
    name: str


class RotationPlanReply(msgspec.Struct):
    community_id: int
    weeks: list[str]
    weeks_max: int
    inspectors: list[PlanInspector]
    compounds: list[PlanCompound]
    items: list[AssignmentView]


class TodaysAssignmentReply(msgspec.Struct):
    """`planned`: the compounds are the rotation plan's for this week; otherwise the compounds
    the inspector serves (no assignment this week)."""

    day: date
    week: str
    planned: bool
    compounds: list[PlanCompound]


# --- Fair inspections (issue 19, 2(b), 2(c)): re-inspection samples and inspection flags ----


ReinspectionItem = reinspections.ReinspectionItem
ReinspectionSample = reinspections.ReinspectionSample


class ReinspectionGradeIn(Body):
    event_id: EventId
    grade: Literal["good", "fair", "poor"]


ReinspectionDecided = reinspections.ReinspectionDecided  # the service's own


class DisagreementRow(msgspec.Struct):
    inspector_id: int
    inspector: str
    regraded: int
    disagreed: int
    disagreement_rate: float | None  # disagreed / regraded; null before any re-grade


class DisagreementReport(msgspec.Struct):
    community_id: int
    from_: str = msgspec.field(name="from")
    to: str = ""
    rows: list[DisagreementRow] = msgspec.field(default_factory=list)


class InspectionFlagItem(msgspec.Struct):
    kind: Literal["good_share", "volume", "pace", "sole_inspector"]
    inspector_id: int
    inspector: str
    statistic: str  # what `value` is: "two-proportion z", "z-score vs peers", …
    value: float
    threshold: float
    detail: str
    household_id: int | None = None
    month: str | None = None


class InspectionFlagsReport(msgspec.Struct):
    community_id: int
    from_: str = msgspec.field(name="from")
    to: str = ""
    flags: list[InspectionFlagItem] = msgspec.field(default_factory=list)

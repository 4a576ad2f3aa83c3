"""Persistence only: no behaviour lives on these classes (`get_readable` only names a row for
piccolo-admin, which shows a foreign key by it instead of a bare id)."""

from __future__ import annotations

from piccolo.columns import (
    BigInt,
    BigSerial,
    Boolean,
    Bytea,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    SmallInt,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.readable import Readable
from piccolo.table import Table


class Community(Table, tablename="community"):
    id = BigSerial(primary_key=True)
    name = Varchar(length=100, unique=True)
    created_at = Timestamptz()

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.name])


class Account(Table, tablename="account"):
    """Balance kept in the same transaction as each entry; `verify` re-folds it."""

    id = BigSerial(primary_key=True)
    community = ForeignKey(Community, on_delete=OnDelete.restrict, index=True)
    kind = Varchar(length=16)
    stripe = SmallInt(default=0)
    balance_points = BigInt(default=0)
    created_at = Timestamptz()


class Compound(Table, tablename="compound"):
    id = BigSerial(primary_key=True)
    community = ForeignKey(Community, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=100)
    created_at = Timestamptz()
    # residential | shop_street | office_building (CompoundKind); fixed once created.
    kind = Varchar(length=16, default="residential")

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.name])


class Household(Table, tablename="household"):
    """A unit holding a green account: a household (building, unit, room; no name), or a shop
    or an office (a name; the address columns empty)."""

    id = BigSerial(primary_key=True)
    compound = ForeignKey(Compound, on_delete=OnDelete.restrict, index=True)
    building = Varchar(length=20)
    unit = Varchar(length=20)
    room = Varchar(length=20)
    account = ForeignKey(Account, on_delete=OnDelete.restrict, unique=True)
    card_serial = Integer(default=1)
    created_at = Timestamptz()
    kind = Varchar(length=16, default="household")  # household | shop | office (HouseholdKind)
    name = Varchar(length=100, default="")  # a shop's or office's name; "" for a household
    # Six digits printed on the card sheet apart from the QR: the card and this code together
    # let a resident join the household (issue 15). Kept as printed, not hashed: see
    # docs/decisions/2026-12-06-joining-by-card.md. A new card or a staff reset draws a new one.
    join_code = Varchar(length=6, default="")

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s%s-%s-%s", columns=[cls.name, cls.building, cls.unit, cls.room])


class CollectionPoint(Table, tablename="collection_point"):
    id = BigSerial(primary_key=True)
    compound = ForeignKey(Compound, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=100)
    windows = Text(default="")
    card_serial = Integer(default=1)
    created_at = Timestamptz()

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.name])


class DutyPost(Table, tablename="duty_post"):
    id = BigSerial(primary_key=True)
    compound = ForeignKey(Compound, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=100)
    card_serial = Integer(default=1)
    created_at = Timestamptz()

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.name])


class Merchant(Table, tablename="merchant"):
    id = BigSerial(primary_key=True)
    community = ForeignKey(Community, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=100)
    account = ForeignKey(Account, on_delete=OnDelete.restrict, unique=True)
    created_at = Timestamptz()

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.name])


class Volunteer(Table, tablename="volunteer"):
    id = BigSerial(primary_key=True)
    community = ForeignKey(Community, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=100)
    account = ForeignKey(Account, on_delete=OnDelete.restrict, unique=True)
    created_at = Timestamptz()
    # The party the volunteer serves with (ledger/domain/volunteering.py): none, party_member,
    # owners_committee or property_company; a party member's branch (党支部), else "".
    affiliation = Varchar(length=20, default="none")
    party_branch = Varchar(length=100, default="")

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.name])


class Reward(Table, tablename="reward"):
    id = BigSerial(primary_key=True)
    community = ForeignKey(Community, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=100)
    cost_points = BigInt()
    stock = BigInt(default=0)
    monthly_limit_per_household = Integer(null=True, default=None)
    active = Boolean(default=True)
    created_at = Timestamptz()
    active_from = Date(null=True, default=None)
    active_until = Date(null=True, default=None)
    exchange_weekdays = Varchar(length=20, default="")

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.name])


class AppUser(Table, tablename="app_user"):
    id = BigSerial(primary_key=True)
    username = Varchar(length=64, unique=True)
    password_hash = Varchar(length=200)
    role = Varchar(length=16)
    household = ForeignKey(Household, on_delete=OnDelete.restrict, null=True, default=None)
    volunteer = ForeignKey(Volunteer, on_delete=OnDelete.restrict, null=True, default=None)
    active = Boolean(default=True)
    created_at = Timestamptz()
    # Every token carries the version it was issued under; bumping it revokes them all
    # (deactivation, a new role or compounds). See ledger/services/sessions.py.
    token_version = Integer(default=0)
    # How this person signs in: "password" (made by staff) or "pin" (joined by themselves with
    # a mobile number as username and a 6-digit PIN; ledger/domain/phones.py).
    credential = Varchar(length=8, default="password")
    phone = Varchar(length=11, null=True, default=None)  # unique: the guard migration
    display_name = Varchar(length=50, default="")

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.username])


class VolunteerApplication(Table, tablename="volunteer_application"):
    """Someone who asked to volunteer, signed out, at a duty post's code or a community link;
    a coordinator of the community approves (the volunteer, its account and the PIN login are
    made then) or declines. The PIN is kept only as its argon2 hash, until approval copies it
    to the login."""

    id = BigSerial(primary_key=True)
    community = ForeignKey(Community, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=50)
    phone = Varchar(length=11, index=True)
    pin_hash = Varchar(length=200, secret=True)
    affiliation = Varchar(length=20, default="none")
    party_branch = Varchar(length=100, default="")
    status = Varchar(length=16, default="pending")
    created_at = Timestamptz()
    decided_by = ForeignKey(AppUser, on_delete=OnDelete.restrict, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    volunteer = ForeignKey(Volunteer, on_delete=OnDelete.restrict, null=True, default=None)


class HouseholdMember(Table, tablename="household_member"):
    """Every household a person belongs to: the one they live in (`helper` false, also kept as
    app_user.household) and those they help (an elderly neighbour's, a parent's). At most one
    row per (household, user): a unique index made by the guard migration."""

    id = BigSerial(primary_key=True)
    household = ForeignKey(Household, on_delete=OnDelete.restrict, index=True)
    user = ForeignKey(AppUser, on_delete=OnDelete.restrict, index=True)
    helper = Boolean(default=False)
    created_at = Timestamptz()
    # The last time someone joined again with the card and this member's number, which set a
    # new PIN (shown in the members list: a stranger with the card cannot do it unseen).
    pin_reset_at = Timestamptz(null=True, default=None)


class SignedOutSession(Table, tablename="signed_out_session"):
    """A token's session id after its sign-out, kept until the token would have expired."""

    sid = Varchar(length=32, primary_key=True)
    user_id = BigInt(index=True)
    expires_at = Timestamptz()


class UserCompound(Table, tablename="user_compound"):
    """A user's compound scope (inspectors, clerks, coordinators)."""

    id = BigSerial(primary_key=True)
    user = ForeignKey(AppUser, on_delete=OnDelete.restrict, index=True)
    compound = ForeignKey(Compound, on_delete=OnDelete.restrict)


class Entry(Table, tablename="entry"):
    """Append-only: triggers refuse UPDATE and DELETE (see the migrations)."""

    id = BigSerial(primary_key=True)
    community_id = BigInt()
    debit_account_id = BigInt()
    credit_account_id = BigInt()
    amount_points = BigInt()
    kind = Varchar(length=16)
    debit_balance_after = BigInt()
    credit_balance_after = BigInt()
    event_id = Varchar(length=64, null=True, default=None)
    reverses_entry_id = BigInt(null=True, default=None, unique=True)
    rule_version = Integer(null=True, default=None)
    actor = Varchar(length=64)
    memo = Text(default="")
    created_at = Timestamptz()
    # When the scan behind it was captured, if the device said so (issue 14).
    captured_at = Timestamptz(null=True, default=None)


class EntryReversal(Table, tablename="entry_reversal"):
    """One row per reversed entry: the guard that an entry is reversed at most once, kept in
    its own small table so that it still holds when `entry` is partitioned by month (a unique
    index on a partitioned table must contain the partition key)."""

    reverses_entry_id = BigInt(primary_key=True)
    entry_id = BigInt()


class EntrySeal(Table, tablename="entry_seal"):
    """The sealer's gap-free order over committed entries, with the hash chain."""

    seal_no = BigInt(primary_key=True)
    entry_id = BigInt(unique=True)
    hash = Varchar(length=64)
    sealed_at = Timestamptz()


class UnsealedEntry(Table, tablename="entry_unsealed"):
    """Entries committed but not yet sealed; written with the entry, removed by the sealer."""

    entry_id = BigInt(primary_key=True)


class IdempotencyRecord(Table, tablename="idempotency_record"):
    """The first outcome of each event_id, stored in the transaction that produced it."""

    event_id = Varchar(length=64, primary_key=True)
    operation = Varchar(length=40)
    fingerprint = Varchar(length=64)
    outcome = Varchar(length=40)
    result = Text()
    created_at = Timestamptz()
    actor = Varchar(length=64, default="")
    role = Varchar(length=16, default="")
    inputs = Text(default="{}")


class EarningRule(Table, tablename="earning_rule"):
    """A community's earning rules from `effective_from` on; versions only ever grow."""

    id = BigSerial(primary_key=True)
    community = ForeignKey(Community, on_delete=OnDelete.restrict, index=True)
    version = Integer()
    effective_from = Timestamptz()
    rules = Text()
    actor = Varchar(length=64)
    created_at = Timestamptz()


class Inspection(Table, tablename="inspection"):
    """Every grade is kept (accuracy counts them all); only scored ones can earn."""

    id = BigSerial(primary_key=True)
    community_id = BigInt()
    compound = ForeignKey(Compound, on_delete=OnDelete.restrict, index=True)
    household = ForeignKey(Household, on_delete=OnDelete.restrict)
    point = ForeignKey(CollectionPoint, on_delete=OnDelete.restrict)
    inspector = ForeignKey(AppUser, on_delete=OnDelete.restrict)
    stream = Varchar(length=16)
    grade = Varchar(length=8)
    final_grade = Varchar(length=8)
    reasons = Text(default="")
    photo_ref = Varchar(length=200, default="")
    local_day = Date()
    scored = Boolean(default=False)
    points_awarded = BigInt(default=0)
    entry_id = BigInt(null=True, default=None)
    rule_version = Integer()
    created_at = Timestamptz()
    # Graded from the point's queue: the resident's drop-off (one grade per stream, a unique
    # index); null for a card's grade.
    dropoff_id = BigInt(null=True, default=None)


class Dropoff(Table, tablename="dropoff"):
    """A resident's self-reported participation, once per window and day."""

    id = BigSerial(primary_key=True)
    community_id = BigInt()
    compound = ForeignKey(Compound, on_delete=OnDelete.restrict, index=True)
    household = ForeignKey(Household, on_delete=OnDelete.restrict)
    point = ForeignKey(CollectionPoint, on_delete=OnDelete.restrict)
    resident = ForeignKey(AppUser, on_delete=OnDelete.restrict)
    local_day = Date()
    window_start_minute = SmallInt()
    points_awarded = BigInt(default=0)
    entry_id = BigInt(null=True, default=None)
    rule_version = Integer()
    created_at = Timestamptz()


class Weighin(Table, tablename="weighin"):
    id = BigSerial(primary_key=True)
    community_id = BigInt()
    compound = ForeignKey(Compound, on_delete=OnDelete.restrict, index=True)
    household = ForeignKey(Household, on_delete=OnDelete.restrict, index=True)
    clerk = ForeignKey(AppUser, on_delete=OnDelete.restrict)
    material = Varchar(length=16)
    grams = BigInt()
    points_awarded = BigInt(default=0)
    entry_id = BigInt(null=True, default=None)
    rule_version = Integer()
    created_at = Timestamptz()


class Shift(Table, tablename="shift"):
    """Volunteer time, kept forever; `kind` is regular (scanned) or backfill (entered)."""

    id = BigSerial(primary_key=True)
    community_id = BigInt()
    compound = ForeignKey(Compound, on_delete=OnDelete.restrict, index=True)
    post = ForeignKey(DutyPost, on_delete=OnDelete.restrict, null=True, default=None)
    volunteer = ForeignKey(Volunteer, on_delete=OnDelete.restrict, index=True)
    kind = Varchar(length=16, default="regular")
    status = Varchar(length=16)
    started_at = Timestamptz()
    ended_at = Timestamptz(null=True, default=None)
    local_day = Date()
    minutes = Integer(default=0)
    flagged = Boolean(default=False)
    note = Text(default="")
    decided_by = ForeignKey(AppUser, on_delete=OnDelete.restrict, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    points_awarded = BigInt(default=0)
    entry_id = BigInt(null=True, default=None)
    rule_version = Integer(null=True, default=None)
    created_at = Timestamptz()


class Appeal(Table, tablename="appeal"):
    id = BigSerial(primary_key=True)
    inspection = ForeignKey(Inspection, on_delete=OnDelete.restrict, unique=True)
    household = ForeignKey(Household, on_delete=OnDelete.restrict, index=True)
    compound = ForeignKey(Compound, on_delete=OnDelete.restrict, index=True)
    reason = Text()
    status = Varchar(length=16)
    new_grade = Varchar(length=8, null=True, default=None)
    opened_by = ForeignKey(AppUser, on_delete=OnDelete.restrict)
    decided_by = ForeignKey(AppUser, on_delete=OnDelete.restrict, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    reversal_entry_id = BigInt(null=True, default=None)
    credit_entry_id = BigInt(null=True, default=None)
    created_at = Timestamptz()


class Lot(Table, tablename="lot"):
    """Points of one credit and what is left of them; spending takes the oldest first."""

    id = BigSerial(primary_key=True)
    account_id = BigInt()
    entry_id = BigInt()
    points = BigInt()
    remaining_points = BigInt()
    expires_on = Date()
    created_at = Timestamptz()


class LotTotal(Table, tablename="lot_total"):
    """What is left of one account's lots with one expiry date: the sum of their
    `remaining_points`, kept in the same transaction as every change to them (one row per
    account and expiry date: the unique index `lot_total_account_expiry`)."""

    id = BigSerial(primary_key=True)
    account_id = BigInt()
    expires_on = Date()
    points = BigInt()


class LotUse(Table, tablename="lot_use"):
    """Which lots a debit took from (positive), or a reversed debit gave back (negative)."""

    id = BigSerial(primary_key=True)
    entry_id = BigInt(index=True)
    lot_id = BigInt()
    points = BigInt()


class RewardChange(Table, tablename="reward_change"):
    """The catalogue's history: every create, change, restock and retirement, with who."""

    id = BigSerial(primary_key=True)
    reward = ForeignKey(Reward, on_delete=OnDelete.restrict, index=True)
    change = Varchar(length=16)
    details = Text()
    actor = Varchar(length=64)
    created_at = Timestamptz()


class Redemption(Table, tablename="redemption"):
    id = BigSerial(primary_key=True)
    community_id = BigInt()
    household = ForeignKey(Household, on_delete=OnDelete.restrict)
    reward = ForeignKey(Reward, on_delete=OnDelete.restrict)
    quantity = Integer()
    points = BigInt()
    local_month = Varchar(length=7)
    status = Varchar(length=16, default="done")
    entry_id = BigInt()
    refund_entry_id = BigInt(null=True, default=None)
    actor = Varchar(length=64)
    created_at = Timestamptz()


class Payment(Table, tablename="payment"):
    id = BigSerial(primary_key=True)
    community_id = BigInt()
    household = ForeignKey(Household, on_delete=OnDelete.restrict)
    merchant = ForeignKey(Merchant, on_delete=OnDelete.restrict, index=True)
    points = BigInt()
    entry_id = BigInt()
    actor = Varchar(length=64)
    created_at = Timestamptz()


class BoardFact(Table, tablename="board_fact"):
    """What a board counts, written with the change; `seq` is set by the sequencer (the sealer)
    in commit order, gap-free, and the projector follows it."""

    id = BigSerial(primary_key=True)
    seq = BigInt(null=True, default=None, unique=True)
    community_id = BigInt()
    kind = Varchar(length=16)
    payload = Text()
    local_day = Date()
    created_at = Timestamptz()


class NoticeFact(Table, tablename="notice_fact"):
    """What someone hears back, written with the event it comes from (the runner's audited
    writes, the expiry job's warning); `seq` is set by the sealer like a board fact's, and the
    notice projection follows it. `source` is unique: one event makes each notice once."""

    id = BigSerial(primary_key=True)
    seq = BigInt(null=True, default=None, unique=True)
    source = Varchar(length=120, unique=True)
    kind = Varchar(length=24)
    household_id = BigInt(null=True, default=None)
    volunteer_id = BigInt(null=True, default=None)
    subject_user_id = BigInt(null=True, default=None)
    payload = Text()
    created_at = Timestamptz()


class Notice(Table, tablename="notice"):
    """The inbox, projected from notice facts: `id` is the fact's `seq` (so a rebuild gives
    every notice its old id back and re-applying one changes nothing)."""

    id = BigInt(primary_key=True)
    kind = Varchar(length=24)
    household_id = BigInt(null=True, default=None, index=True)
    volunteer_id = BigInt(null=True, default=None, index=True)
    subject_user_id = BigInt(null=True, default=None)
    source = Varchar(length=120)
    payload = Text()
    created_at = Timestamptz()


class NoticeRead(Table, tablename="notice_read"):
    """Who has read which notice (one row per notice and reader: a unique index); kept when
    the notices are rebuilt, since notice ids do not change."""

    id = BigSerial(primary_key=True)
    notice_id = BigInt()
    user_id = BigInt(index=True)
    read_at = Timestamptz()


class NoticeDelivery(Table, tablename="notice_delivery"):
    """The outbound webhook's state per notice: made with the notice, kept across rebuilds, so
    a restart or a rebuild neither loses nor repeats a delivery (beyond at-least-once)."""

    notice_id = BigInt(primary_key=True)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz()
    delivered_at = Timestamptz(null=True, default=None)
    last_error = Text(default="")


# The registry's tables, in the order piccolo-admin lists them; its admins edit these
# (api/pages/admin_wiring.py `EDITABLE`).
REGISTRY_TABLES: tuple[type[Table], ...] = (
    Community,
    Compound,
    Household,
    CollectionPoint,
    DutyPost,
    Merchant,
    Volunteer,
    Reward,
)
# Every table, in the order piccolo-admin lists them (each community's accounts second).
TABLES: list[type[Table]] = [
    Community,
    Account,
    *REGISTRY_TABLES[1:],
    AppUser,
    SignedOutSession,
    UserCompound,
    HouseholdMember,
    VolunteerApplication,
    Entry,
    EntrySeal,
    EntryReversal,
    UnsealedEntry,
    IdempotencyRecord,
    EarningRule,
    Inspection,
    Dropoff,
    Weighin,
    Shift,
    Appeal,
    Lot,
    LotTotal,
    LotUse,
    RewardChange,
    Redemption,
    Payment,
    BoardFact,
    NoticeFact,
    Notice,
    NoticeRead,
    NoticeDelivery,
]


class Photo(Table, tablename="photo"):
    """An inspection photo, named by the SHA-256 of its bytes; append-only (see the migration).

    Kept in the database so that every API worker reads it and backups cover it."""

    id = BigSerial(primary_key=True)
    photo_ref = Varchar(length=80, unique=True)  # `ref` would shadow Piccolo's Table.ref()
    content_type = Varchar(length=32)
    size_bytes = BigInt()
    data = Bytea()
    community_id = BigInt(null=True, default=None)
    uploaded_by = Varchar(length=64)
    uploaded_at = Timestamptz()


TABLES.append(Photo)


class ShortCode(Table, tablename="short_code"):
    """The typed code printed under a household card's, point's or post's QR code.

    One table for all three kinds, so `code` is unique across the subdistrict; a re-issued
    card gets a new row and the old row stays, naming the old card serial, so that the old
    code is refused like the old token (docs/decisions/2026-12-06-short-codes.md)."""

    id = BigSerial(primary_key=True)
    code = Varchar(length=10, unique=True)  # ten digits, no spaces: nine random + Damm check
    kind = Varchar(length=10)  # household | point | post (CodeKind)
    subject_id = BigInt(index=True)
    card_serial = Integer(default=1)


TABLES.append(ShortCode)


# --- The books (issue 19 part 1): rewards' unit costs and reorder thresholds ---------------


class RewardCost(Table, tablename="reward_cost"):
    """What one unit of a reward costs the scheme, in fen, from `effective_from` on. Append-only
    (a database guard): a new cost is a new row, so a past month's yuan figures never move."""

    id = BigSerial(primary_key=True)
    reward = ForeignKey(Reward, on_delete=OnDelete.restrict, index=True)
    cost_fen = BigInt()
    effective_from = Timestamptz()
    set_by = Varchar(length=64)
    set_at = Timestamptz()


class RewardReorder(Table, tablename="reward_reorder"):
    """A reward's reorder threshold: stock at or below it raises a reorder alert. One row per
    reward (a unique index), overwritten by the next setting; the change is in reward_change."""

    id = BigSerial(primary_key=True)
    reward = ForeignKey(Reward, on_delete=OnDelete.restrict)
    threshold = BigInt()
    set_by = Varchar(length=64)
    set_at = Timestamptz()


TABLES.extend([RewardCost, RewardReorder])
# --- Transparency log (issue 19 part 3): published day heads -------------------------------


class ChainHead(Table, tablename="chain_head"):
    """A local day's Merkle root over the entries sealed that day, signed (Ed25519) and
    published; append-only and one per day (migration 2026-12-06T10:00:04)."""

    day = Date(primary_key=True)
    tree_size = BigInt()
    root = Varchar(length=64)  # hex
    key_id = Varchar(length=32)
    signature = Varchar(length=128)  # hex of the 64-byte Ed25519 signature
    published_at = Timestamptz()


TABLES.append(ChainHead)
# --- Inspector rotation (issue 19, 2(a)): who grades which compound in which week ---------


class InspectorAssignment(Table, tablename="inspector_assignment"):
    """A coordinator's plan: an inspector grades this compound in this ISO week (its Monday,
    local time). One row per (inspector, week, compound); a week with rows is the inspector's
    whole grading scope that week (ledger/domain/rotation.py; the migration's guards)."""

    id = BigSerial(primary_key=True)
    inspector = ForeignKey(AppUser, on_delete=OnDelete.restrict, index=True)
    compound = ForeignKey(Compound, on_delete=OnDelete.restrict)
    week = Date()
    assigned_by = Varchar(length=64)
    assigned_at = Timestamptz()


TABLES.append(InspectorAssignment)


# --- Fair inspections: re-inspection sampling (issue 19, 2(b)) ------------------------------


class Reinspection(Table, tablename="reinspection"):
    """A grading drawn for a coordinator to re-grade from its photo (one draw per coordinator
    and graded day; an inspection is drawn at most once: a unique index). Decided once: the
    migration refuses any change to a decided row. `original_grade` is the inspector's grade
    when drawn; `regraded_grade` the coordinator's (docs/decisions/2026-12-06-fair-inspections.md).
    """

    id = BigSerial(primary_key=True)
    community_id = BigInt()
    inspection_id = BigInt()
    inspector_id = BigInt()
    coordinator_id = BigInt()
    day = Date()  # the local day the drawn gradings were made
    original_grade = Varchar(length=8)
    photo_ref = Varchar(length=200)
    offered_at = Timestamptz()
    regraded_grade = Varchar(length=8, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    decided_by = BigInt(null=True, default=None)


TABLES.append(Reinspection)

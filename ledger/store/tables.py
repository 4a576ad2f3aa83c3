"""Persistence only: no behaviour lives on these classes."""

from __future__ import annotations

from piccolo.columns import (
    BigInt,
    BigSerial,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    SmallInt,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class Community(Table, tablename="community"):
    id = BigSerial(primary_key=True)
    name = Varchar(length=100, unique=True)
    created_at = Timestamptz()


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


class Household(Table, tablename="household"):
    id = BigSerial(primary_key=True)
    compound = ForeignKey(Compound, on_delete=OnDelete.restrict, index=True)
    building = Varchar(length=20)
    unit = Varchar(length=20)
    room = Varchar(length=20)
    account = ForeignKey(Account, on_delete=OnDelete.restrict, unique=True)
    card_serial = Integer(default=1)
    created_at = Timestamptz()


class CollectionPoint(Table, tablename="collection_point"):
    id = BigSerial(primary_key=True)
    compound = ForeignKey(Compound, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=100)
    windows = Text(default="")
    card_serial = Integer(default=1)
    created_at = Timestamptz()


class DutyPost(Table, tablename="duty_post"):
    id = BigSerial(primary_key=True)
    compound = ForeignKey(Compound, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=100)
    card_serial = Integer(default=1)
    created_at = Timestamptz()


class Merchant(Table, tablename="merchant"):
    id = BigSerial(primary_key=True)
    community = ForeignKey(Community, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=100)
    account = ForeignKey(Account, on_delete=OnDelete.restrict, unique=True)
    created_at = Timestamptz()


class Volunteer(Table, tablename="volunteer"):
    id = BigSerial(primary_key=True)
    community = ForeignKey(Community, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=100)
    account = ForeignKey(Account, on_delete=OnDelete.restrict, unique=True)
    created_at = Timestamptz()


class Reward(Table, tablename="reward"):
    id = BigSerial(primary_key=True)
    community = ForeignKey(Community, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=100)
    cost_points = BigInt()
    stock = BigInt(default=0)
    monthly_limit_per_household = Integer(null=True, default=None)
    active = Boolean(default=True)
    created_at = Timestamptz()


class AppUser(Table, tablename="app_user"):
    id = BigSerial(primary_key=True)
    username = Varchar(length=64, unique=True)
    password_hash = Varchar(length=200)
    role = Varchar(length=16)
    household = ForeignKey(Household, on_delete=OnDelete.restrict, null=True, default=None)
    volunteer = ForeignKey(Volunteer, on_delete=OnDelete.restrict, null=True, default=None)
    active = Boolean(default=True)
    created_at = Timestamptz()


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


TABLES: list[type[Table]] = [
    Community,
    Account,
    Compound,
    Household,
    CollectionPoint,
    DutyPost,
    Merchant,
    Volunteer,
    Reward,
    AppUser,
    UserCompound,
    Entry,
    EntrySeal,
    UnsealedEntry,
    IdempotencyRecord,
]

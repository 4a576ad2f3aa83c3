"""Guards the database enforces by itself, whatever the application does: append-only tables,
non-negative balances and stock, one row per natural key, and the composite and partial
indexes the reads need.

Hand-written, because Piccolo cannot express triggers, CHECKs added to SQLite tables, partial or
composite indexes. Each guard has a PostgreSQL and an SQLite form with the same effect (SQLite
cannot add a CHECK or a UNIQUE column to an existing table; a trigger or an index does it).
The baseline migration before this one makes the tables from ledger/store/tables.py.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-12-06T10:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "guards: append-only tables, checks, unique and partial indexes"

COMMON = [
    # Account history reads walk these newest-first.
    "CREATE INDEX entry_debit_account_id_id ON entry (debit_account_id, id)",
    "CREATE INDEX entry_credit_account_id_id ON entry (credit_account_id, id)",
    # One household per address in a compound, one shop or office per name (theirs is empty).
    "CREATE UNIQUE INDEX household_address ON household (compound, building, unit, room, name)",
    # One account per (community, kind, stripe) for the community's own accounts.
    "CREATE UNIQUE INDEX account_community_kind_stripe ON account (community, kind, stripe)"
    " WHERE kind IN ('issuance', 'redeemed', 'expired', 'settled')",
    'CREATE UNIQUE INDEX user_compound_pair ON user_compound ("user", compound)',
    # Earning: one rule version per number, one drop-off per window, one open shift.
    "CREATE UNIQUE INDEX earning_rule_version ON earning_rule (community, version)",
    "CREATE INDEX inspection_household_day ON inspection (household, local_day)",
    "CREATE UNIQUE INDEX dropoff_once_per_window"
    " ON dropoff (household, local_day, window_start_minute)",
    "CREATE UNIQUE INDEX shift_one_open ON shift (volunteer) WHERE status = 'open'",
    "CREATE INDEX shift_volunteer_day ON shift (volunteer, local_day)",
    "CREATE INDEX shift_status ON shift (status, compound)",
    # Spending: lots by expiry, one lot per entry, redemptions per household and month.
    "CREATE INDEX lot_expiring ON lot (expires_on) WHERE remaining_points > 0",
    "CREATE UNIQUE INDEX lot_entry ON lot (entry_id)",
    "CREATE INDEX redemption_household_month ON redemption (household, reward, local_month)",
    "CREATE UNIQUE INDEX lot_total_account_expiry ON lot_total (account_id, expires_on)",
    # The sealer's queue of board facts, the audit list, photos by reference.
    "CREATE INDEX board_fact_unsequenced ON board_fact (id) WHERE seq IS NULL",
    "CREATE INDEX idempotency_record_audit ON idempotency_record (created_at, event_id)",
    "CREATE INDEX inspection_photo_ref ON inspection (photo_ref) WHERE photo_ref <> ''",
    # A drop-off is graded once per stream; a point's queue reads its recent drop-offs.
    "CREATE UNIQUE INDEX inspection_dropoff_stream ON inspection (dropoff_id, stream)"
    " WHERE dropoff_id IS NOT NULL",
    "CREATE INDEX dropoff_point_created ON dropoff (point, created_at)",
    # Notices: the sealer's queue of facts, the weekly expiry warning, one read mark per
    # reader, the webhook's deliveries due.
    "CREATE INDEX notice_fact_unsequenced ON notice_fact (id) WHERE seq IS NULL",
    "CREATE INDEX notice_fact_household ON notice_fact (household_id, kind, created_at)",
    "CREATE UNIQUE INDEX notice_read_once ON notice_read (notice_id, user_id)",
    "CREATE INDEX notice_delivery_due ON notice_delivery (next_attempt_at)"
    " WHERE delivered_at IS NULL",
    # People: one account per mobile number, one membership per (household, person).
    "CREATE UNIQUE INDEX app_user_phone_once ON app_user (phone)",
    'CREATE UNIQUE INDEX household_member_once ON household_member (household, "user")',
]

POSTGRES = [
    """
    CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'restrict_violation';
    END $$
    """,
    *(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        for table in ("entry", "entry_seal", "entry_reversal", "photo")
    ),
    "ALTER TABLE entry ADD CONSTRAINT entry_amount_positive CHECK (amount_points > 0)",
    "ALTER TABLE entry ADD CONSTRAINT entry_two_accounts"
    " CHECK (debit_account_id <> credit_account_id)",
    "ALTER TABLE account ADD CONSTRAINT account_not_negative"
    " CHECK (balance_points >= 0 OR kind = 'issuance')",
    "ALTER TABLE reward ADD CONSTRAINT reward_stock_not_negative CHECK (stock >= 0)",
    "ALTER TABLE lot ADD CONSTRAINT lot_remaining_in_range"
    " CHECK (remaining_points >= 0 AND remaining_points <= points)",
    # The expiry summary reads remaining points from the index alone.
    "CREATE INDEX lot_account_open ON lot (account_id, expires_on, id)"
    " INCLUDE (remaining_points) WHERE remaining_points > 0",
]

SQLITE = [
    *(
        f"""
        CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END
        """
        for table in ("entry", "entry_seal", "entry_reversal", "photo")
        for op in ("UPDATE", "DELETE")
    ),
    """
    CREATE TRIGGER entry_valid BEFORE INSERT ON entry
    WHEN NEW.amount_points <= 0 OR NEW.debit_account_id = NEW.credit_account_id
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: entry amount or accounts'); END
    """,
    """
    CREATE TRIGGER account_not_negative BEFORE UPDATE OF balance_points ON account
    WHEN NEW.balance_points < 0 AND NEW.kind <> 'issuance'
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: account_not_negative'); END
    """,
    """
    CREATE TRIGGER reward_stock_not_negative BEFORE UPDATE OF stock ON reward
    WHEN NEW.stock < 0
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: reward_stock_not_negative'); END
    """,
    """
    CREATE TRIGGER lot_remaining_in_range BEFORE UPDATE OF remaining_points ON lot
    WHEN NEW.remaining_points < 0 OR NEW.remaining_points > NEW.points
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: lot_remaining_in_range'); END
    """,
    "CREATE INDEX lot_account_open ON lot (account_id, expires_on, id, remaining_points)"
    " WHERE remaining_points > 0",
]


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def apply() -> None:
        engine = engine_finder()
        statements = POSTGRES if isinstance(engine, PostgresEngine) else SQLITE
        for statement in COMMON + statements:
            await RawTable.raw(statement)

    manager.add_raw(apply)
    return manager

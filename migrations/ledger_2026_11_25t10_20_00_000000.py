"""Guards the database enforces by itself, whatever the application does.

Hand-written: Piccolo cannot express triggers, partial CHECKs on SQLite, or composite indexes.
Each guard has a PostgreSQL and an SQLite form with the same effect.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-11-25T10:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "append-only entries and seals, non-negative balances, composite indexes"

COMMON = [
    # Account history reads walk these newest-first.
    "CREATE INDEX entry_debit_account_id_id ON entry (debit_account_id, id)",
    "CREATE INDEX entry_credit_account_id_id ON entry (credit_account_id, id)",
    # One household per address in a compound.
    "CREATE UNIQUE INDEX household_address ON household (compound, building, unit, room)",
    # One account per (community, kind, stripe) for the community's own accounts.
    "CREATE UNIQUE INDEX account_community_kind_stripe ON account (community, kind, stripe)"
    " WHERE kind IN ('issuance', 'redeemed', 'expired', 'settled')",
    "CREATE UNIQUE INDEX user_compound_pair ON user_compound (\"user\", compound)",
]

POSTGRES = [
    """
    CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'restrict_violation';
    END $$
    """,
    "CREATE TRIGGER entry_append_only BEFORE UPDATE OR DELETE ON entry"
    " FOR EACH ROW EXECUTE FUNCTION refuse_change()",
    "CREATE TRIGGER entry_seal_append_only BEFORE UPDATE OR DELETE ON entry_seal"
    " FOR EACH ROW EXECUTE FUNCTION refuse_change()",
    "ALTER TABLE entry ADD CONSTRAINT entry_amount_positive CHECK (amount_points > 0)",
    "ALTER TABLE entry ADD CONSTRAINT entry_two_accounts"
    " CHECK (debit_account_id <> credit_account_id)",
    "ALTER TABLE account ADD CONSTRAINT account_not_negative"
    " CHECK (balance_points >= 0 OR kind = 'issuance')",
]

SQLITE = [
    """
    CREATE TRIGGER entry_no_update BEFORE UPDATE ON entry
    BEGIN SELECT RAISE(ABORT, 'entry is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER entry_no_delete BEFORE DELETE ON entry
    BEGIN SELECT RAISE(ABORT, 'entry is append-only: DELETE refused'); END
    """,
    """
    CREATE TRIGGER entry_seal_no_update BEFORE UPDATE ON entry_seal
    BEGIN SELECT RAISE(ABORT, 'entry_seal is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER entry_seal_no_delete BEFORE DELETE ON entry_seal
    BEGIN SELECT RAISE(ABORT, 'entry_seal is append-only: DELETE refused'); END
    """,
    """
    CREATE TRIGGER entry_valid BEFORE INSERT ON entry
    WHEN NEW.amount_points <= 0 OR NEW.debit_account_id = NEW.credit_account_id
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: entry amount or accounts'); END
    """,
    # SQLite cannot add a CHECK to an existing table; a trigger gives the same refusal.
    """
    CREATE TRIGGER account_not_negative BEFORE UPDATE OF balance_points ON account
    WHEN NEW.balance_points < 0 AND NEW.kind <> 'issuance'
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: account_not_negative'); END
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def apply() -> None:
        engine = engine_finder()
        assert engine is not None
        statements = POSTGRES if isinstance(engine, PostgresEngine) else SQLITE
        for statement in COMMON + statements:
            await RawTable.raw(statement)

    manager.add_raw(apply)
    return manager


class RawTable(Table):
    """Piccolo's recipe for raw SQL in a migration: a table used only for `.raw()`."""

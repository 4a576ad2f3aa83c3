"""SQLite backups: an online copy through SQLite's backup API, and a restore that refuses to
pull a database from under a running process.

Every process that opens the ledger (serve, work, the CLI commands) holds a shared lock on
`<database>.lock` while its Database is started; `restore` needs that lock exclusively, and
then SQLite's own exclusive lock, so neither a greenledger process nor any other program (an
`sqlite3` shell) can have the file open while it is replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LOCK_SUFFIX = ".lock"
# A table only a greenledger database has: a restore will not put any other file in place.
LEDGER_TABLE = "entry"


class Refused(Exception):
    """Nothing was changed; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Copied:
    pages: int


def backup(database: str, target: Path) -> Copied:
    """Copy the live database to `target` (which must not exist) in one read transaction: the
    copy is the database as of one commit, while writers go on (WAL). The copy is a single
    file (rollback journal), checked with `PRAGMA integrity_check` before it gets its name."""
    if not Path(database).exists():
        raise Refused(f"no database at {database}")
    if target.exists():
        raise Refused(f"{target} exists; a backup never overwrites a file")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with (
            _closing(sqlite3.connect(database, timeout=30)) as source,
            _closing(sqlite3.connect(partial)) as copy,
        ):
            source.backup(copy)  # pages=-1: one step, one snapshot
            _single_file(copy)
            _check_integrity(copy, partial)
            pages = int(copy.execute("PRAGMA page_count").fetchone()[0])
        _fsync(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Copied(pages)


def restore(backup_file: Path, database: str, *, replace: bool) -> Path | None:
    """Put `backup_file` in place of `database`. An existing database is replaced only with
    `replace`, only while no process has it open, and is first copied beside itself as
    `<database>.before-restore-<UTC time>`, which is returned. The backup is copied to a
    temporary file beside the database and checked there first: a refusal changes nothing."""
    _check_backup(backup_file)
    target = Path(database)
    exists = target.exists()
    if exists and not replace:
        raise Refused(
            f"{database} exists; stop `greenledger serve` and `greenledger work`, then run "
            "restore --replace (the database it replaces is kept beside it)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".restore-partial")
    with _exclusively(database), _closing(_sole_connection(database)) as live:
        try:
            _copy_checked(backup_file, partial)
        except BaseException:
            _remove_partial(partial)
            if not exists:
                target.unlink(missing_ok=True)  # the empty file the lock made
            raise
        try:
            kept = _keep(live, target) if exists else None
            # The old file's WAL emptied into it first: never replayed onto the new file.
            live.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            os.replace(partial, target)
            _fsync(target.parent)
        finally:
            _remove_partial(partial)  # (gone already once renamed)
    return kept


def _remove_partial(partial: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)


def _copy_checked(backup_file: Path, partial: Path) -> None:
    """`backup_file` copied to `partial` (in WAL mode, as the live database is), integrity
    checked, on disk."""
    _remove_partial(partial)
    try:
        with _closing(sqlite3.connect(partial)) as fresh:
            with _closing(sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)) as source:
                source.backup(fresh)
            fresh.execute("PRAGMA journal_mode = WAL")
            _check_integrity(fresh, backup_file)
    except sqlite3.DatabaseError as error:
        raise Refused(f"{backup_file} fails SQLite's integrity check: {error}") from None
    _fsync(partial)  # closed: its WAL checkpointed into it and removed


def _keep(live: sqlite3.Connection, target: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = target.with_name(f"{target.name}.before-restore-{stamp}")
    with _closing(sqlite3.connect(kept)) as old:
        live.backup(old)
        _single_file(old)
    return kept


def hold_shared(database: str) -> int:
    """A process that uses the database holds this until `release`; `restore` waits for none."""
    descriptor = os.open(database + LOCK_SUFFIX, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    return descriptor


def release(descriptor: int) -> None:
    os.close(descriptor)  # closing drops the flock


@contextlib.contextmanager
def _exclusively(database: str) -> Iterator[None]:
    descriptor = os.open(database + LOCK_SUFFIX, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Refused(
                f"{database} is in use by a running greenledger process; stop "
                "`greenledger serve` and `greenledger work` first"
            ) from None
        yield
    finally:
        os.close(descriptor)


def _sole_connection(database: str) -> sqlite3.Connection:
    """A connection holding SQLite's exclusive lock until it is closed, or Refused."""
    connection = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        connection.execute("PRAGMA locking_mode = EXCLUSIVE")
        connection.execute("BEGIN EXCLUSIVE")
        connection.execute("ROLLBACK")  # the lock stays: exclusive mode keeps it until close
    except sqlite3.OperationalError:
        connection.close()
        raise Refused(f"{database} is open in another program; close it first") from None
    return connection


def _check_backup(backup_file: Path) -> None:
    if not backup_file.is_file():
        raise Refused(f"no backup at {backup_file}")
    try:
        with _closing(sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)) as copy:
            _check_integrity(copy, backup_file)
            found = copy.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (LEDGER_TABLE,)
            ).fetchone()
    except sqlite3.DatabaseError as error:
        raise Refused(f"{backup_file} is not an SQLite database: {error}") from None
    if found is None:
        raise Refused(f"{backup_file} is not a greenledger database (no {LEDGER_TABLE} table)")


def _check_integrity(connection: sqlite3.Connection, name: Path) -> None:
    result = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        raise Refused(f"{name} fails SQLite's integrity check: {result}")


def _single_file(connection: sqlite3.Connection) -> None:
    """A copy needs no -wal beside it: switch it to the rollback journal."""
    connection.execute("PRAGMA journal_mode = DELETE")


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def _closing(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """sqlite3's own context manager commits; it does not close."""
    try:
        yield connection
    finally:
        connection.close()

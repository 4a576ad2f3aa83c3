"""`greenledger backup FILE` and `greenledger restore FILE` (issue 17, item 4), SQLite.

A backup taken while credits (and seals) are being written is consistent: `greenledger verify`
is clean on the copy and its entries are a prefix of the source's. A restore refuses an
existing database without --replace, and a database in use by any process always; what it
replaces is kept. On PostgreSQL both commands refuse and point at PITR.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ledger.services.container import Services
from ledger.store import sqlite_files
from ledger.store.engine import current_engine
from tests.conftest import ENGINE
from tests.factories import TEST_SECRET_KEY, credit, make_world

ROOT = Path(__file__).resolve().parents[2]
ENTRY_COLUMNS = "id, debit_account_id, credit_account_id, amount_points, event_id"
CREDITS_BEFORE_BACKUP = 40
CREDITS_AFTER_BACKUP = 25

sqlite_only = pytest.mark.skipif(ENGINE != "sqlite", reason="SQLite's own backup and restore")


def cli(database: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, in a process of its own, on `database`."""
    env = {
        **os.environ,
        "GREENLEDGER_DATABASE_URL": database,
        "GREENLEDGER_SECRET_KEY": TEST_SECRET_KEY,
        "PYTHONPATH": str(ROOT),
    }
    env.pop("GREENLEDGER_REDIS_URL", None)
    return subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "api.cli", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def entry_rows(path: Path | str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(f"SELECT {ENTRY_COLUMNS} FROM entry ORDER BY id").fetchall()
    finally:
        connection.close()  # (sqlite3's `with` commits; it does not close)


def wal_beside(path: Path) -> bool:
    return Path(f"{path}-wal").exists()


def database_path() -> str:
    return str(current_engine().path)  # type: ignore[attr-defined]


@sqlite_only
async def test_a_backup_under_concurrent_writes_is_a_consistent_prefix(
    services: Services, tmp_path: Path
) -> None:
    world = await make_world(services)
    copies = [tmp_path / "during-1.sqlite", tmp_path / "during-2.sqlite"]
    started, backed_up = asyncio.Event(), asyncio.Event()
    stop_sealing = asyncio.Event()
    sealer = asyncio.create_task(services.sealer.run(stop_sealing))

    async def write() -> int:
        written, after = 0, 0
        while not backed_up.is_set() or after < CREDITS_AFTER_BACKUP:
            await credit(services, world.account_id, 1 + written % 7)
            await asyncio.sleep(0)  # SQLite writes run on the loop's thread without yielding
            written += 1
            after += backed_up.is_set()
            if written == CREDITS_BEFORE_BACKUP:
                started.set()
        return written

    async def back_up() -> None:
        await started.wait()
        for copy in copies:  # in threads of their own, while the loop goes on writing
            await asyncio.to_thread(sqlite_files.backup, database_path(), copy)
        backed_up.set()

    # gather: a writer that fails ends the test instead of leaving back_up() waiting for ever
    written, _ = await asyncio.wait_for(asyncio.gather(write(), back_up()), 120)
    stop_sealing.set()
    await sealer

    source = entry_rows(database_path())
    assert len(source) >= written  # a household's credit is one entry (plus the world's own)
    for copy in copies:
        rows = entry_rows(copy)
        assert CREDITS_BEFORE_BACKUP <= len(rows) < len(source)
        assert rows == source[: len(rows)]  # a prefix: nothing missing in between, nothing torn
        verified = await asyncio.to_thread(cli, str(copy), "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert f"{len(rows)} entries" in verified.stdout
        assert not wal_beside(copy)  # one self-contained file
    assert entry_rows(copies[0]) <= entry_rows(copies[1])


@sqlite_only
async def test_a_backup_never_overwrites_a_file(services: Services, tmp_path: Path) -> None:
    await make_world(services)
    existing = tmp_path / "existing.sqlite"
    existing.write_text("keep me")
    with pytest.raises(sqlite_files.Refused, match="never overwrites"):
        sqlite_files.backup(database_path(), existing)
    assert existing.read_text() == "keep me"
    done = await asyncio.to_thread(cli, database_path(), "backup", str(tmp_path / "new.sqlite"))
    assert done.returncode == 0, done.stderr
    assert "integrity ok" in done.stdout
    again = await asyncio.to_thread(cli, database_path(), "backup", str(tmp_path / "new.sqlite"))
    assert again.returncode == 2
    assert "never overwrites" in again.stderr


@sqlite_only
async def test_restore_refuses_a_database_in_use_and_keeps_what_it_replaces(
    services: Services, tmp_path: Path
) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 5)
    backup = tmp_path / "backup.sqlite"
    sqlite_files.backup(database_path(), backup)
    await credit(services, world.account_id, 7)  # after the backup: the restore drops it
    live = database_path()
    before = entry_rows(live)

    with pytest.raises(sqlite_files.Refused, match="exists; stop"):
        sqlite_files.restore(backup, live, replace=False)
    with pytest.raises(sqlite_files.Refused, match="in use by a running greenledger"):
        sqlite_files.restore(backup, live, replace=True)  # this test's services hold it
    refused = await asyncio.to_thread(cli, live, "restore", "--replace", str(backup))
    assert refused.returncode == 2
    assert "in use" in refused.stderr
    await services.db.close()  # as `systemctl stop` would

    other_program = sqlite3.connect(live)
    other_program.execute("SELECT count(*) FROM entry").fetchone()
    try:
        with pytest.raises(sqlite_files.Refused, match="open in another program"):
            sqlite_files.restore(backup, live, replace=True)
    finally:
        other_program.close()
    assert entry_rows(live) == before  # nothing changed on any refusal

    done = await asyncio.to_thread(cli, live, "restore", "--replace", str(backup))
    assert done.returncode == 0, done.stdout + done.stderr
    assert entry_rows(live) == entry_rows(backup) == before[:-1]
    assert "ok   hash_chain" in done.stdout  # restore ends with `verify` on what it restored
    kept = [path for path in Path(live).parent.iterdir() if ".before-restore-" in path.name]
    assert len(kept) == 1
    assert entry_rows(kept[0]) == before


def corrupt_a_page(path: Path) -> None:
    """Garbage over the last page (a b-tree page, not the schema): the file still opens, but
    fails `PRAGMA integrity_check`."""
    connection = sqlite3.connect(path)
    try:
        page_size, pages = (connection.execute(f"PRAGMA {name}").fetchone()[0]
                            for name in ("page_size", "page_count"))  # fmt: skip
    finally:
        connection.close()
    with path.open("r+b") as file:
        file.seek(page_size * (pages - 1))
        file.write(b"\xff" * page_size)


def names(directory: Path) -> list[str]:
    """The files in `directory`, bar the lock files a restore leaves (as every process does)."""
    return sorted(path.name for path in directory.iterdir() if path.suffix != ".lock")


@sqlite_only
async def test_a_restore_refused_on_its_check_changes_nothing(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await make_world(services)
    await credit(services, world.account_id, 5)
    live = tmp_path / "live.sqlite"
    sqlite_files.backup(database_path(), live)
    connection = sqlite3.connect(live)
    connection.execute("PRAGMA journal_mode = WAL")  # as a served database is
    connection.close()
    corrupt = tmp_path / "corrupt.sqlite"
    sqlite_files.backup(database_path(), corrupt)
    corrupt_a_page(corrupt)
    before = entry_rows(live)
    files = names(tmp_path)

    with pytest.raises(sqlite_files.Refused, match="malformed"):
        sqlite_files.restore(corrupt, str(live), replace=True)
    # The backup read well before and the copy does not (a disk error between the two): the
    # check of the copy, beside the database, refuses it before anything is replaced.
    monkeypatch.setattr(sqlite_files, "_check_backup", lambda backup_file: None)
    with pytest.raises(sqlite_files.Refused, match="integrity check"):
        sqlite_files.restore(corrupt, str(live), replace=True)
    new = tmp_path / "new.sqlite"
    with pytest.raises(sqlite_files.Refused, match="integrity check"):
        sqlite_files.restore(corrupt, str(new), replace=False)

    assert entry_rows(live) == before
    assert names(tmp_path) == files  # no partial copy, no kept old one, no empty new.sqlite


@sqlite_only
def test_restore_takes_only_a_greenledger_database(tmp_path: Path) -> None:
    target = str(tmp_path / "new.sqlite")
    with pytest.raises(sqlite_files.Refused, match="no backup"):
        sqlite_files.restore(tmp_path / "missing.sqlite", target, replace=False)
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("not a database" * 100)
    with pytest.raises(sqlite_files.Refused, match="not an SQLite database"):
        sqlite_files.restore(not_sqlite, target, replace=False)
    other = tmp_path / "other.sqlite"
    connection = sqlite3.connect(other)
    connection.execute("CREATE TABLE notes (body TEXT)")
    connection.close()
    with pytest.raises(sqlite_files.Refused, match="not a greenledger database"):
        sqlite_files.restore(other, target, replace=False)
    assert not Path(target).exists()


@pytest.mark.skipif(ENGINE != "postgres", reason="what the commands say on PostgreSQL")
async def test_on_postgresql_backup_and_restore_point_at_pitr(tmp_path: Path) -> None:
    from tests.conftest import DATABASE_URL

    for args in (["backup", str(tmp_path / "x")], ["restore", str(tmp_path / "x")]):
        done = await asyncio.to_thread(cli, DATABASE_URL, *args)
        assert done.returncode == 2
        assert "pg_basebackup" in done.stderr
        assert not (tmp_path / "x").exists()

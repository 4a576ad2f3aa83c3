"""PostgreSQL clusters for the drill: a source with WAL archiving, its base backup, and a
cluster restored from both to a point in time. All in one temporary directory owned by the
`postgres` user (when run as root), on free ports on 127.0.0.1, never 5432.

The archiving settings are deploy/postgresql/greenledger-archiving.conf (with its
deploy/backup/greenledger-archive-wal) and the base backup is
deploy/backup/greenledger-basebackup, as shipped, with the archive and backup directories in
the temporary directory; the restore is the one docs/OPERATIONS.md ("Backup and restore")
describes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.chaos.servers import HOST, free_port, pg_bin

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ARCHIVING = DEPLOY / "postgresql" / "greenledger-archiving.conf"
PRODUCTION_ARCHIVE = "/var/lib/postgresql/wal-archive"
BASEBACKUP = DEPLOY / "backup" / "greenledger-basebackup"
ARCHIVE_WAL = DEPLOY / "backup" / "greenledger-archive-wal"
PRODUCTION_ARCHIVE_WAL = "/opt/greenledger/app/deploy/backup/greenledger-archive-wal"
START_SECONDS = 60
ARCHIVE_SECONDS = 60


def as_postgres(*args: str) -> list[str]:
    """initdb and the server refuse root: run them as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


def run(*args: str, seconds: float = START_SECONDS) -> str:
    done = subprocess.run(  # noqa: S603 (PostgreSQL's own binaries, our own arguments)
        as_postgres(*args), capture_output=True, text=True, timeout=seconds, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def tool(name: str) -> str:
    path = pg_bin(name)
    assert path is not None, f"{name} (PostgreSQL's server package) is installed"
    return path


class Cluster:
    """A data directory and the port its server listens on."""

    def __init__(self, home: Path, name: str) -> None:
        self.home = home
        self.data = home / name
        self.log = home / f"{name}.log"
        self.port = 0

    def url(self, database: str) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{database}"

    def start(self) -> None:
        run(tool("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
            "-t", str(START_SECONDS), "start")  # fmt: skip

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                run(tool("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def psql(self, sql: str, database: str = "postgres") -> str:
        psql = tool("psql")
        return run(psql, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", HOST, "-p",
                   str(self.port), "-U", "postgres", "-d", database, "-c", sql).strip()  # fmt: skip

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text().splitlines()[-lines:])


class Drill:
    """The source cluster, its WAL archive and base backup, and the restored cluster."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="gl-drill-"))
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres", "postgres")
        self.archive = self.home / "wal-archive"
        self.backups = self.home / "backups"
        self.base = self.backups / "none-yet"
        self.source = Cluster(self.home, "source")
        self.restored = Cluster(self.home, "restored")

    def start_source(self) -> None:
        run("mkdir", str(self.archive))
        run(tool("initdb"), "-D", str(self.source.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        (self.source.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\n"
            "host replication postgres 127.0.0.1/32 trust\n"
        )
        self.source.port = free_port(5446)
        with (self.source.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.source.port}\nlisten_addresses = '{HOST}'\n"
                f"unix_socket_directories = '{self.home}'\n"
            )
            conf.write(
                ARCHIVING.read_text()
                .replace(PRODUCTION_ARCHIVE, str(self.archive))
                .replace(PRODUCTION_ARCHIVE_WAL, str(ARCHIVE_WAL))
            )
        self.source.start()

    def base_backup(self) -> None:
        """deploy/backup/greenledger-basebackup, the nightly job, pointed at this cluster."""
        run("mkdir", str(self.backups))
        out = run("env", f"BACKUPS={self.backups}", f"ARCHIVE={self.archive}",
                  f"PGBIN={Path(tool('pg_basebackup')).parent}", f"PGHOST={HOST}",
                  f"PGPORT={self.source.port}", "PGUSER=postgres", str(BASEBACKUP))  # fmt: skip
        made = sorted(self.backups.glob("base-*Z"))
        assert len(made) == 1, out
        self.base = made[0]

    def now(self) -> str:
        """The source's clock, with its zone (a bare time would be read in the restored
        server's TimeZone)."""
        return self.source.psql("SELECT clock_timestamp()::text")

    def archive_current_segment(self) -> None:
        """Close the WAL segment being written and wait until it is in the archive: without
        this the restore fails 'recovery ended before configured recovery target'."""
        segment = self.source.psql("SELECT pg_walfile_name(pg_switch_wal())")
        deadline = time.monotonic() + ARCHIVE_SECONDS
        while (
            self.source.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
            < segment
        ):
            assert time.monotonic() < deadline, f"{segment} not archived: {self.source.log_tail()}"
            time.sleep(0.1)

    def restore_to(self, target: str) -> None:
        """The base backup plus archived WAL up to `target`, in a new cluster, promoted."""
        run("cp", "-a", str(self.base), str(self.restored.data))
        self.restored.port = free_port(5447)
        with (self.restored.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                f"port = {self.restored.port}\n"
                "archive_mode = off\n"  # a promoted copy must not write into the source's archive
                f"restore_command = 'cp {self.archive}/%f %p'\n"
                f"recovery_target_time = '{target}'\n"
                "recovery_target_action = 'promote'\n"
            )
        run("touch", str(self.restored.data / "recovery.signal"))  # else: no recovery at all
        self.restored.start()
        deadline = time.monotonic() + START_SECONDS
        while self.restored.psql("SELECT pg_is_in_recovery()") == "t":  # pg_ctl -w returns earlier
            assert time.monotonic() < deadline, self.restored.log_tail()
            time.sleep(0.05)

    def stop(self) -> None:
        self.restored.stop()
        self.source.stop()
        shutil.rmtree(self.home, ignore_errors=True)

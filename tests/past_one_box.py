"""Private servers for the "past one box" tests (issue 17, item 6): a three-master Redis Cluster,
a PostgreSQL primary with a streaming replica made by pg_basebackup, and PgBouncer in
transaction mode. Each listens on free loopback ports of its own (never the shared 5432/6379),
lives in a fresh temporary directory and is stopped by its own process id.

A missing binary skips the test, except under GREENLEDGER_REQUIRE_SERVICES=1 (CI), where it
fails it: CI installs them (.ci/run).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

HOST = "127.0.0.1"
REQUIRE_SERVICES = os.environ.get("GREENLEDGER_REQUIRE_SERVICES") == "1"
PGBOUNCER = "/usr/sbin/pgbouncer"
REDIS_SERVER = shutil.which("redis-server") or "redis-server"
REDIS_CLI = shutil.which("redis-cli") or "redis-cli"
START_SECONDS = 30


def need(*binaries: str) -> None:
    """Skip (fail in CI) unless every binary is installed."""
    missing = [b for b in binaries if shutil.which(b) is None and not Path(b).exists()]
    if missing:
        message = f"not installed: {', '.join(missing)} (see .ci/run)"
        if REQUIRE_SERVICES:
            pytest.fail(message + "; GREENLEDGER_REQUIRE_SERVICES=1 requires it")
        pytest.skip(message)


def free_port(*, also_free_at: int = 0) -> int:
    """A free loopback port; with `also_free_at`, one whose port + that offset is free too."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            port = int(probe.getsockname()[1])
        if not also_free_at or port + also_free_at > 65535:
            if not also_free_at:
                return port
            continue
        with socket.socket() as probe:
            try:
                probe.bind((HOST, port + also_free_at))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


def wait_until(check: Callable[[], bool], what: str, seconds: float = START_SECONDS) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > seconds:
            raise TimeoutError(f"{what} not within {seconds:.0f} s")
        time.sleep(0.02)
    return time.monotonic() - started


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((HOST, port)) == 0


def _service_dir(prefix: str, user: str | None) -> Path:
    """mkdtemp is 0700 root: hand it to the service user, which must enter it."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if user is not None and os.geteuid() == 0:
        shutil.chown(path, user, user)
    return path


def _as_user(user: str) -> dict[str, object]:
    """Popen options that run a server as `user` when we are root (PostgreSQL and PgBouncer
    refuse root); the process id is then the server's own."""
    if os.geteuid() != 0:
        return {}
    return {"user": user, "group": user, "extra_groups": []}


def _stop(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class RedisClusterProcesses:
    """Three masters, no replicas, no persistence; `redis-cli --cluster create` joins them."""

    def __init__(self, masters: int = 3) -> None:
        self.ports = [free_port(also_free_at=10000) for _ in range(masters)]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.dir: Path | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.ports[0]}"

    def start(self) -> float:
        started = time.monotonic()
        self.dir = _service_dir("gl-redis-cluster-", None)
        for port in self.ports:
            node = self.dir / str(port)
            node.mkdir()
            self.processes[port] = subprocess.Popen(  # noqa: S603 (fixed binary, our arguments)
                [REDIS_SERVER, "--port", str(port), "--bind", HOST, "--dir", str(node),
                 "--cluster-enabled", "yes", "--cluster-config-file", f"{node}/nodes.conf",
                 "--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no",
                 "--daemonize", "no", "--logfile", f"{node}/log"],
            )  # fmt: skip
        for port in self.ports:
            wait_until(lambda p=port: listening(p), f"redis-server on {port}")  # type: ignore[misc]
        subprocess.run(  # noqa: S603
            [REDIS_CLI, "--cluster", "create", *[f"{HOST}:{p}" for p in self.ports],
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        wait_until(self._ok, "cluster_state:ok")
        return time.monotonic() - started

    def _ok(self) -> bool:
        return all("cluster_state:ok" in self.cli(p, "cluster", "info") for p in self.ports)

    def cli(self, port: int, *args: str) -> str:
        return subprocess.run(  # noqa: S603
            [REDIS_CLI, "-h", HOST, "-p", str(port), *args],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout  # fmt: skip

    def port_of_key(self, key: str) -> int:
        """The master that serves `key`'s slot."""
        slot = int(self.cli(self.ports[0], "cluster", "keyslot", key).strip())
        for line in self.cli(self.ports[0], "cluster", "nodes").splitlines():
            fields = line.split()
            if "master" not in fields[2]:
                continue
            port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
            for span in fields[8:]:
                first, _, last = span.partition("-")
                if int(first) <= slot <= int(last or first):
                    return port
        raise LookupError(f"no master serves slot {slot}")

    def kill(self, port: int) -> None:
        """SIGKILL one master: its slots have no node until the cluster is repaired."""
        process = self.processes[port]
        process.kill()
        process.wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes.values():
            _stop(process)
        self.processes.clear()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: p.parts[-3])
    return str(found[-1]) if found else name


class PrimaryAndReplica:
    """A private PostgreSQL primary and, from `pg_basebackup -R`, its streaming replica."""

    def __init__(self) -> None:
        self.primary_port, self.replica_port = free_port(), free_port()
        self.dir: Path | None = None

    def url(self, port: int, database: str = "greenledger") -> str:
        return f"postgresql://postgres@{HOST}:{port}/{database}"

    @property
    def primary(self) -> Path:
        assert self.dir is not None
        return self.dir / "primary"

    @property
    def replica(self) -> Path:
        assert self.dir is not None
        return self.dir / "replica"

    def _as_postgres(self, *args: str) -> str:
        command = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)
        done = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def start(self) -> float:
        started = time.monotonic()
        self.dir = _service_dir("gl-replica-", "postgres")
        self._as_postgres(
            pg_bin("initdb"), "-D", str(self.primary), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions",
        )  # fmt: skip
        (self.primary / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\n"
            "host replication all 127.0.0.1/32 trust\n"
        )
        with (self.primary / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.primary_port}\nlisten_addresses = '{HOST}'\n"
                f"unix_socket_directories = '{self.dir}'\nwal_level = replica\n"
                "max_wal_senders = 4\nfsync = off\n"
            )
        self._pg_ctl(self.primary, "start")
        self._as_postgres(
            pg_bin("pg_basebackup"), "-h", HOST, "-p", str(self.primary_port), "-U", "postgres",
            "-D", str(self.replica), "-R", "-X", "stream", "-c", "fast", "--no-sync",
        )  # fmt: skip
        with (self.replica / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"port = {self.replica_port}\n")  # the copy says the primary's port
        self._pg_ctl(self.replica, "start")
        self.psql(self.primary_port, "CREATE DATABASE greenledger")
        return time.monotonic() - started

    def _pg_ctl(self, data: Path, action: str) -> None:
        extra = ["-m", "fast"] if action == "stop" else ["-l", f"{data}.log"]
        self._as_postgres(pg_bin("pg_ctl"), "-D", str(data), "-w", "-t", "60", *extra, action)

    def psql(self, port: int, sql: str, database: str = "postgres") -> str:
        done = subprocess.run(  # noqa: S603
            [pg_bin("psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", HOST,
             "-p", str(port), "-U", "postgres", "-d", database, "-c", sql],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr}")
        return done.stdout.strip()

    def pause_replay(self) -> None:
        self.psql(self.replica_port, "SELECT pg_wal_replay_pause()")
        wait_until(
            lambda: (
                self.psql(self.replica_port, "SELECT pg_get_wal_replay_pause_state()") == "paused"
            ),
            "replay paused",
        )

    def resume_replay(self) -> None:
        self.psql(self.replica_port, "SELECT pg_wal_replay_resume()")

    def wait_replayed(self) -> None:
        lsn = self.psql(self.primary_port, "SELECT pg_current_wal_lsn()")
        wait_until(
            lambda: (
                self.psql(self.replica_port, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn")
                == "t"
            ),
            "the replica's replay",
        )

    def stop_replica(self) -> None:
        self._pg_ctl(self.replica, "stop")

    def start_replica(self) -> None:
        self._pg_ctl(self.replica, "start")

    def stop(self) -> None:
        if self.dir is None:
            return
        for data in (self.replica, self.primary):
            if (data / "postmaster.pid").exists():
                with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                    self._pg_ctl(data, "stop")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


PGBOUNCER_INI = """[databases]
* = host={host} port={port}
[pgbouncer]
listen_addr = {host}
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {dir}/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 500
logfile = {dir}/pgbouncer.log
pidfile = {dir}/pgbouncer.pid
"""


class PgBouncerProcess:
    """PgBouncer (transaction pooling) on a free port in front of the PostgreSQL on `port`;
    any database name is passed through."""

    def __init__(self, port: int, pool_size: int = 20) -> None:
        self.target = port
        self.pool_size = pool_size
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.dir: Path | None = None

    def url(self, database: str) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{database}"

    def start(self) -> float:
        started = time.monotonic()
        self.dir = _service_dir("gl-pgbouncer-", "postgres")
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')  # trust: the user is listed
        ini = self.dir / "pgbouncer.ini"
        ini.write_text(
            PGBOUNCER_INI.format(
                host=HOST,
                port=self.target,
                listen=self.port,
                dir=self.dir,
                pool_size=self.pool_size,
            )
        )
        self.process = subprocess.Popen(  # noqa: S603
            [PGBOUNCER, "-q", str(ini)],
            **_as_user("postgres"),  # type: ignore[call-overload]
        )
        try:
            wait_until(lambda: listening(self.port), f"pgbouncer on {self.port}")
        except TimeoutError:
            self.stop()
            raise
        return time.monotonic() - started

    def stop(self) -> None:
        _stop(self.process, signal.SIGINT)  # SIGINT: safe shutdown (SIGTERM: immediate)
        self.process = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

"""Private servers for the chaos tests: a throwaway PostgreSQL cluster, a redis-server without
persistence, and `greenledger serve` processes, all on 127.0.0.1, all stopped at the end.

The shared PostgreSQL (5432) and Redis (6379) are never touched: every fault here is injected
into a server this module started. Each start is bounded in time; each process is ended by its
own id (a server's process group is the one `greenledger serve` leads).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[2]
GREENLEDGER = str(Path(sys.executable).with_name("greenledger"))
SECRET_KEY = "chaos-secret-key-long-enough-for-the-settings-0123456789"
HOST = "127.0.0.1"
PG_PORT_PREFERRED = 5441
REDIS_PORT_PREFERRED = 6391
START_SECONDS = 60


class Stoppable(Protocol):
    def stop(self) -> None: ...


_LIVE: list[Stoppable] = []


@atexit.register
def stop_everything() -> None:
    """Whatever a crashed or interrupted run left behind (fixtures normally stop it first)."""
    for server in reversed(_LIVE):
        with contextlib.suppress(Exception):
            server.stop()
    _LIVE.clear()


def _track(server: Stoppable) -> None:
    if server not in _LIVE:
        _LIVE.append(server)


def _untrack(server: Stoppable) -> None:
    with contextlib.suppress(ValueError):
        _LIVE.remove(server)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((HOST, port)) != 0


def free_port(preferred: int | None = None) -> int:
    """The preferred port if nothing uses it (another engineer's run may), else any free one."""
    if preferred is not None and port_is_free(preferred):
        return preferred
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> float:
    """Poll `check` until true; returns the seconds it took, raises after `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise TimeoutError(f"{what} not within {seconds:.0f} s")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((HOST, port)) == 0


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it if the test process dies (even by SIGKILL)."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def pg_bin(name: str) -> str | None:
    """A PostgreSQL server binary: the newest /usr/lib/postgresql/*/bin, else the PATH."""
    versions = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    return versions[-1] if versions else shutil.which(name)


def missing_binaries() -> list[str]:
    wanted = {
        "initdb": pg_bin("initdb"),
        "pg_ctl": pg_bin("pg_ctl"),
        "redis-server": shutil.which("redis-server"),
        "greenledger": GREENLEDGER if Path(GREENLEDGER).exists() else None,
    }
    return [name for name, path in wanted.items() if path is None]


class PrivatePostgres:
    """An initdb'd cluster in a temporary directory: fsync on, trust for 127.0.0.1 only."""

    def __init__(self) -> None:
        self.port = 0
        self.dir: Path | None = None
        self.restarts = 0

    @property
    def data(self) -> Path:
        assert self.dir is not None, "started"
        return self.dir / "data"

    @property
    def log(self) -> Path:
        assert self.dir is not None, "started"
        return self.dir / "postgres.log"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{database}"

    def _as_postgres(self, *args: str) -> list[str]:
        """Root cannot run the server: run its tools as the `postgres` user then."""
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *args]
        return list(args)

    def _run(self, *args: str, seconds: float = START_SECONDS) -> None:
        done = subprocess.run(  # noqa: S603 (fixed binaries, our own arguments)
            self._as_postgres(*args), capture_output=True, text=True, timeout=seconds, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({done.returncode}): {done.stdout}{done.stderr}"
                f"{self.log_tail()}"
            )

    def log_tail(self, lines: int = 20) -> str:
        if self.dir is None or not self.log.exists():
            return ""
        return "\n--- postgres.log ---\n" + "\n".join(self.log.read_text().splitlines()[-lines:])

    def start(self) -> None:
        initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
        assert initdb is not None, "the caller checked missing_binaries()"
        assert pg_ctl is not None, "the caller checked missing_binaries()"
        self.dir = Path(tempfile.mkdtemp(prefix="gl-chaos-pg-"))
        _track(self)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        # --no-sync only skips flushing initdb's own files; the server runs with fsync on.
        self._run(
            initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\n"
        )
        self.port = free_port(PG_PORT_PREFERRED)
        # In the configuration file, not on the command line: any start or restart of this
        # cluster listens on the private port and socket directory, never on 5432.
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '{HOST}'\n"
                f"unix_socket_directories = '{self.dir}'\nfsync = on\n"
                "max_connections = 200\nshared_buffers = 64MB\n"
            )
        self._run(pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w",
                  "-t", str(START_SECONDS), "start")  # fmt: skip

    def restart(self) -> float:
        """`pg_ctl restart -m fast`: every connection is cut, the server comes back; seconds."""
        pg_ctl = pg_bin("pg_ctl")
        assert pg_ctl is not None
        started = time.monotonic()
        # -l again: pg_ctl does not remember it, and a server writing to our pipe would keep
        # this call waiting for its end of file.
        self._run(pg_ctl, "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w",
                  "-t", str(START_SECONDS), "restart")  # fmt: skip
        self.restarts += 1
        return time.monotonic() - started

    def psql(self, database: str, sql: str) -> str:
        psql = pg_bin("psql")
        assert psql is not None, "psql comes with the server"
        done = subprocess.run(  # noqa: S603
            [psql, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", HOST, "-p", str(self.port),
             "-U", "postgres", "-d", database, "-c", sql],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr}")
        return done.stdout.strip()

    def create_database(self, name: str) -> str:
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.dir is None:
            return
        pg_ctl = pg_bin("pg_ctl")
        if (self.data / "postmaster.pid").exists() and pg_ctl is not None:
            try:
                self._run(pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "-t", "30",
                          "stop")  # fmt: skip
            except (RuntimeError, subprocess.TimeoutExpired):
                self._kill_postmaster()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
        _untrack(self)

    def _kill_postmaster(self) -> None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)


class PrivateRedis:
    """redis-server without persistence: killed, it comes back empty (the worst case)."""

    def __init__(self) -> None:
        self.port = free_port(REDIS_PORT_PREFERRED)
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://{HOST}:{self.port}/{db}"

    def start(self) -> float:
        assert self.process is None, "already running"
        redis_server = shutil.which("redis-server")
        assert redis_server is not None, "the caller checked missing_binaries()"
        started = time.monotonic()
        self.process = subprocess.Popen(  # noqa: S603
            [redis_server, "--port", str(self.port), "--bind", HOST, "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        _track(self)
        wait_until(self._pong, 15, f"redis-server on port {self.port}")
        return time.monotonic() - started

    def _pong(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=0.2) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: no goodbye to any client, nothing saved."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        self.kill()
        _untrack(self)


class ApiServer:
    """`greenledger serve --workers N` on its own port, in its own process group."""

    def __init__(self, env: dict[str, str], workers: int, log_dir: Path, name: str) -> None:
        self.env = env
        self.workers = workers
        self.port = free_port()
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> float:
        started = time.monotonic()
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            [GREENLEDGER, "serve", "--host", HOST, "--port", str(self.port),
             "--workers", str(self.workers)],
            env=self.env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent,
        )  # fmt: skip
        _track(self)
        try:
            wait_until(self._healthy, START_SECONDS, f"greenledger serve on {self.port}")
            if self.workers > 1:
                wait_until(
                    lambda: len(self.worker_pids()) == self.workers, 10, "all uvicorn workers"
                )
        except TimeoutError as error:
            self.stop()
            raise RuntimeError(f"{error}\n{self.log_tail()}") from error
        return time.monotonic() - started

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"greenledger serve exited early\n{self.log_tail()}")
        return health(self.base_url).get("database") == "ok"

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (with one worker, the server process itself)."""
        assert self.process is not None
        if self.workers == 1:
            return [self.process.pid]
        return [pid for pid in children(self.process.pid) if _is_worker(pid)]

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.log_path.name} ---\n" + "\n".join(text)

    def terminate(self, seconds: float) -> float | None:
        """SIGTERM to the server alone (uvicorn passes it to its workers, as a deploy does);
        seconds until it exited, or None if it was still running after `seconds`."""
        assert self.process is not None, "started"
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None
        return time.monotonic() - started

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL after 15 s; then reap."""
        if self.process is not None:
            pgid = self.process.pid  # start_new_session: the server leads its own group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)  # workers left behind, if any
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        _untrack(self)


def health(base_url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"{base_url}/health", timeout=2) as reply:  # noqa: S310
            body: dict[str, Any] = json.loads(reply.read())
            return body
    except (OSError, urllib.error.URLError, ValueError):
        return {}


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in glob.glob(f"/proc/{pid}/task/*/children"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in Path(task).read_text().split()]
    return found


def _is_worker(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return b"multiprocessing" in command and b"resource_tracker" not in command


def connections_to(pid: int, port: int) -> int:
    """TCP connections the process holds to 127.0.0.1:`port` (a worker's database pool)."""
    inodes: set[str] = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    wanted = f"0100007F:{port:04X}"
    count = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[2] == wanted and fields[3] == "01" and fields[9] in inodes:
                count += 1
    return count


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def server_env(database_url: str, redis_url: str | None, **extra: str) -> dict[str, str]:
    """The process environment minus any GREENLEDGER_* of the caller, plus the private URLs."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GREENLEDGER_")}
    env.update(
        GREENLEDGER_DATABASE_URL=database_url,
        GREENLEDGER_SECRET_KEY=SECRET_KEY,
        GREENLEDGER_RATE_LIMIT_PER_MINUTE="0",
        PYTHONUNBUFFERED="1",
    )
    if redis_url is not None:
        env["GREENLEDGER_REDIS_URL"] = redis_url
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str, seconds: float = 120) -> subprocess.CompletedProcess[str]:
    """`greenledger ARGS` against the private servers; never raises on a non-zero exit."""
    return subprocess.run(  # noqa: S603
        [GREENLEDGER, *args], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=seconds, check=False,
    )  # fmt: skip


@contextlib.contextmanager
def running(server: ApiServer) -> Iterator[ApiServer]:
    server.start()
    try:
        yield server
    finally:
        server.stop()

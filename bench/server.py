"""`greenledger serve` as a child process, for the HTTP phases: its CPU, each worker's
resident set, and its /metrics (behind the bench's own metrics token)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from bench.common import METRICS_TOKEN, OUT, ROOT, app_env, log

GREENLEDGER = ROOT / ".venv" / "bin" / "greenledger"


class Server:
    def __init__(self, database_url: str, port: int, workers: int, *, redis: bool = True) -> None:
        self.database_url, self.port, self.workers, self.redis = database_url, port, workers, redis
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = OUT / f"server-{port}.log"

    def __enter__(self) -> Server:
        if _listening(self.port):
            raise SystemExit(f"port {self.port} is taken; stop whatever listens there first")
        OUT.mkdir(parents=True, exist_ok=True)
        command = [str(GREENLEDGER), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--workers", str(self.workers)]
        with Path(self.log_path).open("wb") as log_file:
            self.process = subprocess.Popen(  # noqa: S603 (our own CLI, fixed arguments)
                command,
                env=app_env(self.database_url, redis=self.redis)
                | {"GREENLEDGER_METRICS_TOKEN": METRICS_TOKEN},
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited at start; see {self.log_path}")
            if self._healthy():
                log(f"server up: {self.workers} worker(s) on :{self.port} ({self.database_url})")
                return self
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"the server did not answer /health in 60 s; see {self.log_path}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False

    def pids(self) -> list[int]:
        """The server's processes (uvicorn's supervisor and its workers)."""
        if self.process is None:
            return []
        found = [self.process.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    found.append(int(entry.name))
        return found

    def worker_pids(self) -> list[int]:
        """The processes that answer requests: uvicorn's worker children with --workers > 1
        (not its multiprocessing helpers, if any), the server process itself with one."""
        if self.process is None:
            return []
        children = [pid for pid in self.pids() if pid != self.process.pid]
        workers = [pid for pid in children if "resource_tracker" not in _cmdline(pid)]
        return sorted(workers) if self.workers > 1 else [self.process.pid]

    def worker_rss_mb(self) -> list[float]:
        """Each worker's resident set now (VmRSS), in MB (2^20 bytes)."""
        sizes = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(round(int(line.split()[1]) / 1024, 1))
        return sizes

    def metrics(self) -> str | None:
        """/metrics as Prometheus text (every worker's numbers added up), None if it failed."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 (localhost)
                return str(reply.read().decode())
        except OSError as error:
            log(f"server: /metrics did not answer: {error}")
            return None

    def cpu_seconds(self) -> float:
        """User + system CPU of the server's processes so far."""
        total = 0.0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0

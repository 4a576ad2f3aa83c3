"""A private redis-server the fault tests may stop and start (never the shared one on 6379).

No persistence (`--save "" --appendonly no`): a restart comes back empty, the worst case for
the projection, which then has to rebuild from fact 1.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisProcess:
    def __init__(self, port: int | None = None) -> None:
        assert REDIS_SERVER is not None, "the caller skips without redis-server"
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None, "already running"
        self.process = subprocess.Popen(  # noqa: S603 (a fixed binary and arguments)
            [
                str(REDIS_SERVER),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            if self._answering_pid() == self.process.pid:
                return
            time.sleep(0.02)
        self.stop()
        # Exited early: the port was taken (by another server, or as a client's source port:
        # free_port() hands out ephemeral ports). A restart must not talk to someone else's.
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def _answering_pid(self) -> int | None:
        """The process id of the redis-server answering on the port, if one answers."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                s.sendall(b"INFO server\r\n")
                reply = b""
                while b"process_id:" not in reply or not reply.endswith(b"\r\n"):
                    chunk = s.recv(4096)
                    if not chunk:
                        return None
                    reply += chunk
        except OSError:
            return None
        line = reply.split(b"process_id:", 1)[1].split(b"\r\n", 1)[0]
        return int(line)

    def stop(self) -> None:
        """Kill it (SIGKILL: no goodbye to the clients) and wait until the port is free."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

"""`greenledger serve --workers 2`: a scrape of either worker counts the requests of both
(PROMETHEUS_MULTIPROC_DIR, emptied at start), and each worker logs JSON lines to stderr."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.cli import prepare_multiprocess_dir
from tests.api.test_metrics import TOKEN, samples, value
from tests.conftest import DATABASE_URL
from tests.integration.redis_process import free_port

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
REQUESTS = 40
SECONDS_TO_START = 60  # a bound for a slow shared machine, not a timing assertion


class Served:
    def __init__(self, port: int, metrics_dir: Path, stderr: Path) -> None:
        self.port, self.metrics_dir, self.stderr = port, metrics_dir, stderr

    def get(self, path: str, **headers: str) -> httpx.Response:
        """A new connection each time, so both workers take requests."""
        return httpx.get(
            f"http://127.0.0.1:{self.port}{path}", headers={"Connection": "close", **headers}
        )

    def worker_files(self) -> set[str]:
        """The pid of each worker that has written its metrics."""
        return {path.stem.rpartition("_")[2] for path in self.metrics_dir.glob("counter_*.db")}


@pytest.fixture
def served(fresh_db: None) -> Iterator[Served]:
    work = Path(tempfile.mkdtemp(prefix="greenledger-workers-"))
    port = free_port()
    metrics_dir = work / "metrics" / str(port)  # serve counts in <dir>/<port>
    metrics_dir.mkdir(parents=True)
    (metrics_dir / "counter_99999999.db").write_bytes(b"a previous run's numbers")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GREENLEDGER_DATABASE_URL": DATABASE_URL,
        "GREENLEDGER_SECRET_KEY": "workers-test-secret-" + "k" * 32,
        "GREENLEDGER_METRICS_TOKEN": TOKEN,
        "GREENLEDGER_RATE_LIMIT_PER_MINUTE": "0",
        "GREENLEDGER_LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir.parent),
    }
    env.pop("GREENLEDGER_REDIS_URL", None)
    stderr = work / "stderr"
    with stderr.open("wb") as errors:
        server = subprocess.Popen(  # noqa: S603 (our own command line)
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    try:
        up = Served(port, metrics_dir, stderr)
        deadline = time.monotonic() + SECONDS_TO_START
        while len(up.worker_files()) < WORKERS or not _answers(up):
            assert server.poll() is None, stderr.read_text()
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.1)
        yield up
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        shutil.rmtree(work, ignore_errors=True)


def _answers(served: Served) -> bool:
    try:
        return served.get("/health/live").status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.postgres
def test_a_scrape_of_any_worker_counts_both(served: Served) -> None:
    assert "99999999" not in served.worker_files(), "serve empties the directory at start"
    before = samples(served.get("/metrics", Authorization=f"Bearer {TOKEN}").text)
    for _ in range(REQUESTS):
        assert served.get("/health/live").status_code == 200
    live = {"method": "GET", "route": "/health/live", "status": "200"}
    for _ in range(6):  # each scrape lands on either worker
        after = samples(served.get("/metrics", Authorization=f"Bearer {TOKEN}").text)
        counted = value(after, "greenledger_http_requests_total", **live)
        assert counted - value(before, "greenledger_http_requests_total", **live) == REQUESTS
    lines = [json.loads(line) for line in served.stderr.read_text().splitlines() if line]
    logged = {line["request_id"] for line in lines if line.get("route") == "/health/live"}
    assert len(logged) >= REQUESTS
    for _ in range(6):  # and every worker asks for the token
        assert served.get("/metrics").status_code == 401


def test_serve_makes_a_directory_only_for_several_workers(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    assert prepare_multiprocess_dir(env, 1, 8001) is None
    assert env == {}
    made = prepare_multiprocess_dir(env, 2, 8001)
    try:
        assert made is not None
        assert env == {"PROMETHEUS_MULTIPROC_DIR": made}
        assert list(Path(made).iterdir()) == []
    finally:
        shutil.rmtree(str(made), ignore_errors=True)


def test_serve_empties_only_its_own_part_of_a_given_directory(tmp_path: Path) -> None:
    given = tmp_path / "metrics"
    (given / "8001").mkdir(parents=True)
    (given / "8002").mkdir()
    (given / "8001" / "gauge_livesum_123.db").write_bytes(b"old")
    (given / "8002" / "counter_456.db").write_bytes(b"the other process's live numbers")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(given)}
    assert prepare_multiprocess_dir(env, 2, 8001) is None
    assert env == {"PROMETHEUS_MULTIPROC_DIR": str(given / "8001")}
    assert list((given / "8001").iterdir()) == []
    assert [path.name for path in (given / "8002").iterdir()] == ["counter_456.db"]
    env = {"PROMETHEUS_MULTIPROC_DIR": str(given)}
    assert prepare_multiprocess_dir(env, 1, 8003) is None  # made for one worker too
    assert env == {"PROMETHEUS_MULTIPROC_DIR": str(given / "8003")}
    assert (given / "8003").is_dir()

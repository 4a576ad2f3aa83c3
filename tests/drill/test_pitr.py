"""The point-in-time recovery drill (issue 17, item 4): `make drill`.

On a private PostgreSQL cluster with WAL archiving: migrate, write credits through the
project's services (a community, a compound, households, grades; sealed), take a base backup,
write more, note the time, write more, restore the base backup plus the archived WAL to that
time in a new cluster, and prove it with `greenledger verify`: clean, and exactly the entries
written before the noted time. Everything is stopped and removed after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.servers import missing_binaries
from tests.drill.clusters import Drill

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "drill-secret-key-long-enough-for-the-settings-0123456789"
HOUSEHOLDS = 30
# Commits at or before the target are kept (recovery_target_inclusive): keep clear of it.
CLEAR_OF_TARGET_SECONDS = 0.3


def environment(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENLEDGER_")}
    return env | {
        "GREENLEDGER_DATABASE_URL": url,
        "GREENLEDGER_SECRET_KEY": SECRET_KEY,
        "PYTHONPATH": str(ROOT),
    }


def greenledger(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "api.cli", *args],
        cwd=ROOT, env=environment(url), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


class Writer:
    """tests/drill/writer.py in a process of its own, one command at a time."""

    def __init__(self, url: str) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "tests.drill.writer", str(HOUSEHOLDS)],
            cwd=ROOT, env=environment(url), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip

    def grade(self, day: int) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(f"grade {day}\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the writer died (exit {self.process.poll()})"
        answer: dict[str, Any] = json.loads(line)
        assert answer["ok"], answer
        assert answer["credits"] == 2 * HOUSEHOLDS, answer
        return answer

    def close(self) -> None:
        try:
            self.process.communicate("quit\n", timeout=60)  # closes both pipes
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def drill() -> Iterator[Drill]:
    missing = missing_binaries()
    assert not missing, f"the drill needs {missing} (apt-get install postgresql redis-server)"
    started = Drill()
    try:
        yield started
    finally:
        started.stop()


def test_point_in_time_recovery(drill: Drill) -> None:
    figures: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        figures[name] = time.monotonic() - clock
        clock = time.monotonic()

    drill.start_source()
    drill.source.psql("CREATE DATABASE greenledger")
    source = drill.source.url("greenledger")
    migrated = greenledger(source, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    lap("source cluster + migrate")

    writer = Writer(source)
    try:
        before_backup = writer.grade(1)["entries"]
        lap("first credits")
        drill.base_backup()
        lap("base backup")
        before_target = writer.grade(2)["entries"]
        time.sleep(CLEAR_OF_TARGET_SECONDS)
        target = drill.now()
        time.sleep(CLEAR_OF_TARGET_SECONDS)
        after_target = writer.grade(3)["entries"]
        lap("more credits around the target")
    finally:
        writer.close()
    assert before_backup < before_target < after_target

    drill.archive_current_segment()
    lap("last segment archived")
    drill.restore_to(target)
    lap("restore + recovery + promotion")

    restored = drill.restored.url("greenledger")
    verified = greenledger(restored, "verify")
    lap("greenledger verify on the restored cluster")
    assert verified.returncode == 0, verified.stdout + verified.stderr + drill.restored.log_tail()
    assert f"\n{before_target} entries, " in f"\n{verified.stdout}", verified.stdout
    count = drill.restored.psql("SELECT count(*) FROM entry", "greenledger")
    assert int(count) == before_target  # everything before the time, nothing after it
    assert "recovery stopping before commit" in drill.restored.log.read_text()

    figures["total"] = sum(figures.values())
    print("\ndrill figures (seconds):")
    for name, seconds in figures.items():
        print(f"  {name:45} {seconds:6.1f}")
    print(f"  entries: {before_backup} at the base backup, {before_target} at the target, "
          f"{after_target} at the end; restored {before_target}")  # fmt: skip

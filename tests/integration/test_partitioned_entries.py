"""The service runs unchanged on PostgreSQL with entries partitioned by month."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import PG_HOST, PG_PORT, _pg_admin

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


async def test_the_ledger_runs_on_monthly_partitions() -> None:
    database = f"greenledger_part_{uuid.uuid4().hex[:8]}"
    await _pg_admin(f'CREATE DATABASE "{database}"')
    try:
        env = os.environ | {
            "GREENLEDGER_DATABASE_URL": f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{database}",
            "PICCOLO_CONF": "ledger.store.piccolo_conf",
            "PYTHONPATH": str(ROOT),
        }
        run = subprocess.run(  # noqa: ASYNC221 (a child process with its own engine, by design)
            [sys.executable, "-m", "tests.integration.partitioned_run"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        print(run.stdout)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "entries per partition" in run.stdout
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

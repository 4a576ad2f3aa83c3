"""A PostgreSQL streaming replica (GREENLEDGER_REPLICA_URL), made by pg_basebackup from a
private primary, under `greenledger serve`: reports, account histories, the boards' SQL
answers and `check-projections` read the replica; decisions and replies that show their own
write read the primary.

The proof that a read went to the replica: its replay is paused, so it still shows the ledger
as it was, while the primary has moved on. The proof that writes never go there: it is
read-only, so any would fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REDIS_UP, REQUIRE_SERVICES
from tests.past_one_box import HOST, PrimaryAndReplica, free_port, need, pg_bin, wait_until

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "replica-test-secret-key-long-enough-0123456789"
ADMIN, PASSWORD = "admin", "admin-password-2026"


def _env(pair: PrimaryAndReplica, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENLEDGER_")}
    env |= {
        "GREENLEDGER_DATABASE_URL": pair.url(pair.primary_port),
        "GREENLEDGER_REPLICA_URL": pair.url(pair.replica_port),
        "GREENLEDGER_SECRET_KEY": SECRET_KEY,
        "GREENLEDGER_RATE_LIMIT_PER_MINUTE": "0",
        "PYTHONPATH": str(ROOT),
        **extra,
    }
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (this interpreter, our own CLI)
        [sys.executable, "-m", "api.cli", *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


@dataclass
class Served:
    pair: PrimaryAndReplica
    env: dict[str, str]
    http: httpx.Client


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    need(pg_bin("initdb"), pg_bin("pg_basebackup"))
    pair = PrimaryAndReplica()
    server: subprocess.Popen[bytes] | None = None
    try:
        print(f"primary and replica up in {pair.start():.1f} s")
        env = _env(pair)
        for args in (
            ("migrate",),
            ("user", "add", ADMIN, "--role", "admin", "--password", PASSWORD),
        ):
            done = _cli(env, *args)
            assert done.returncode == 0, done.stdout + done.stderr
        port = free_port()
        server = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "api.cli", "serve", "--host", HOST, "--port", str(port)],
            env=env, cwd=ROOT,
        )  # fmt: skip
        base_url = f"http://{HOST}:{port}"
        wait_until(lambda: _healthy(base_url, server), "greenledger serve", seconds=60)
        with httpx.Client(base_url=base_url, timeout=30) as http:
            token = http.post(
                "/api/v1/auth/token", json={"username": ADMIN, "password": PASSWORD}
            ).json()["access_token"]
            http.headers["Authorization"] = f"Bearer {token}"
            yield Served(pair, env, http)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        pair.stop()


def _healthy(base_url: str, server: subprocess.Popen[bytes]) -> bool:
    assert server.poll() is None, "greenledger serve exited"
    try:
        return httpx.get(f"{base_url}/health", timeout=2).json().get("database") == "ok"
    except (httpx.HTTPError, ValueError):
        return False


def _created(http: httpx.Client, path: str, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    reply = http.post(path, json={"event_id": str(uuid.uuid4()), **body}, **kw)
    assert reply.status_code == 201, reply.text
    result: dict[str, Any] = reply.json()
    return result


def _household(http: httpx.Client) -> dict[str, Any]:
    name = uuid.uuid4().hex[:6]
    community = _created(http, "/api/v1/communities", {"name": f"社区{name}"})
    compound = _created(
        http, "/api/v1/compounds", {"community_id": community["id"], "name": f"小区{name}"}
    )
    household = _created(
        http,
        "/api/v1/households",
        {"compound_id": compound["id"], "building": "1", "unit": "1", "room": "101"},
    )
    return household | {"community_id": community["id"], "compound_id": compound["id"]}


def _entries(http: httpx.Client, account_id: int) -> int:
    reply = http.get(f"/api/v1/accounts/{account_id}/entries")
    assert reply.status_code == 200, reply.text
    return len(reply.json()["items"])


def _issued(http: httpx.Client, community_id: int) -> int:
    today = datetime.now(UTC).date()
    days = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    reply = http.get("/api/v1/reports/compounds", params={"community_id": community_id, **days})
    assert reply.status_code == 200, reply.text
    return sum(row["points_issued"] for row in reply.json()["rows"])


def test_reads_that_may_lag_go_to_the_replica_and_decisions_stay_on_the_primary(
    served: Served,
) -> None:
    http, pair = served.http, served.pair
    home = _household(http)
    account = home["account_id"]
    _created(
        http, "/api/v1/adjustments", {"account_id": account, "amount_points": 100, "reason": "开户"}
    )
    reward = _created(
        http,
        "/api/v1/rewards",
        {"community_id": home["community_id"], "name": "洗洁精", "cost_points": 30, "stock": 10},
    )
    clerk_name = f"clerk-{uuid.uuid4().hex[:6]}"
    _created(
        http,
        "/api/v1/users",
        {"username": clerk_name, "password": PASSWORD, "role": "clerk",
         "compound_ids": [home["compound_id"]]},
    )  # fmt: skip
    clerk_token = http.post(
        "/api/v1/auth/token", json={"username": clerk_name, "password": PASSWORD}
    ).json()["access_token"]
    pair.wait_replayed()
    assert (_entries(http, account), _issued(http, home["community_id"])) == (1, 100)

    pair.pause_replay()
    try:
        # Writes: the replica is read-only and paused, so these land on the primary.
        _created(
            http,
            "/api/v1/adjustments",
            {"account_id": account, "amount_points": 50, "reason": "补录"},
        )
        # The balance a spend is checked against is the primary's 150 (the replica's 100 would
        # refuse 120 points), and the reply's balance shows the redemption's own write.
        redeemed = _created(
            http,
            "/api/v1/redemptions",
            {"household_token": home["card_token"], "reward_id": reward["id"], "quantity": 4},
            headers={"Authorization": f"Bearer {clerk_token}"},
        )
        assert redeemed["balance_points"] == 30
        assert http.get(f"/api/v1/accounts/{account}").json()["balance_points"] == 30
        # Reads that may lag: the replica still shows the ledger before the pause.
        assert _entries(http, account) == 1
        assert _issued(http, home["community_id"]) == 100
    finally:
        pair.resume_replay()
    pair.wait_replayed()
    assert _entries(http, account) == 3
    assert _issued(http, home["community_id"]) == 150


def test_check_projections_compares_once_the_replica_has_replayed(served: Served) -> None:
    if not REDIS_UP:
        if REQUIRE_SERVICES:
            pytest.fail("Redis is required (GREENLEDGER_REQUIRE_SERVICES=1) but 6379 is down")
        pytest.skip("no Redis on 127.0.0.1:6379")
    redis_url = os.environ.get("GREENLEDGER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    env = served.env | {
        "GREENLEDGER_REDIS_URL": redis_url,
        "GREENLEDGER_REDIS_PREFIX": f"glrepl{uuid.uuid4().hex[:6]}",
    }
    home = _household(served.http)
    _created(
        served.http,
        "/api/v1/adjustments",
        {"account_id": home["account_id"], "amount_points": 10, "reason": "开户"},
    )
    served.pair.pause_replay()
    try:
        waited = _cli(env, "check-projections", "--replica-wait", "1")
    finally:
        served.pair.resume_replay()
    assert waited.returncode == 2, waited.stdout + waited.stderr
    assert "the replica has not replayed" in waited.stderr
    checked = _cli(env, "check-projections")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "boards in Redis equal SQL" in checked.stdout


def test_a_replica_that_is_down_is_passed_over_for_the_primary(served: Served) -> None:
    http, pair = served.http, served.pair
    home = _household(http)
    _created(
        http,
        "/api/v1/adjustments",
        {"account_id": home["account_id"], "amount_points": 10, "reason": "开户"},
    )
    pair.stop_replica()
    try:
        assert _entries(http, home["account_id"]) == 1
        assert _issued(http, home["community_id"]) == 10
    finally:
        pair.start_replica()

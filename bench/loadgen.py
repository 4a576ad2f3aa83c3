"""An HTTP/1.1 keep-alive load generator on asyncio (uvloop), its own process.

    python -m bench.loadgen --port 8791 --mode inspections --fixture F --slice 20000:40000
    python -m bench.loadgen --port 8791 --mode batch --batch-size 1000 --connections 8 ...
    python -m bench.loadgen --port 8791 --mode account|board|health ...
    python -m bench.loadgen --port 8791 --mode redemptions --spending-fixture S --connections 8

Each connection sends one request, reads the whole reply, checks it, and sends the next: a
closed loop, so the concurrency is the connection count. Every reply is decoded and checked
(status, and for credits the points, the entry and the household's balance after; for
redemptions the redemption id, the points and the balance after), and any failure is counted
by kind in the result. In `redemptions` mode each connection is its own clerk (signed in as
that clerk), and the result lists the redemptions made, warm-up included, for the caller to
hold against the reward's stock. The client is minimal on purpose (no httpx or
aiohttp: on two shared cores a heavy client would take CPU from the server it measures); the
`health` mode shows its ceiling, and the result reports the cores it used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from bench.common import (
    CLERK,
    CONNECTIONS_HTTP,
    INSPECTOR,
    PASSWORD,
    REWARD_COST,
    STREAMS,
    CpuMeter,
    Outcome,
    check_credit_reply,
    log,
    run_and_write,
    run_timed,
    slot,
    spend_slot,
)

Check = Callable[[int, bytes], Outcome]
decode = msgspec.json.decode
encode = msgspec.json.encode


class Connection:
    """One keep-alive connection; `None` body means GET."""

    def __init__(self, host: str, port: int, token: str | None = None) -> None:
        self.host, self.port = host, port
        self.token = token  # who this connection is, if not the phase's one user
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes | None = None, token: str | None = None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if token:
            head.append(f"Authorization: Bearer {token}")
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + (body or b""))
        try:
            status_line_and_headers = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()
            raise
        lines = status_line_and_headers.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"transfer-encoding":
                raise RuntimeError("chunked replies are not expected from this API")
            elif lowered == b"connection" and value.strip().lower() == b"close":
                close = True
        payload = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def sign_in(host: str, port: int, username: str) -> str:
    connection = Connection(host, port)
    body = encode({"username": username, "password": PASSWORD})
    status, payload = await connection.request("POST", "/api/v1/auth/token", body)
    connection.close()
    if status != 200:
        raise SystemExit(f"sign-in as {username} failed: {status} {payload[:200]!r}")
    token: str = decode(payload)["access_token"]
    return token


async def sign_in_clerks(host: str, port: int, counter: dict[str, Any]) -> list[str]:
    """A token (a session) for each of the counter's clerks (bench.seed --spending)."""
    return [await sign_in(host, port, clerk["username"]) for clerk in counter["clerks"]]


class Workload:
    """Builds request i and checks its reply."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run = uuid.uuid4().hex[:8]
        fixture = json.loads(args.fixture.read_text()) if args.fixture else {}
        self.fixture = fixture
        start, _, end = args.slice.partition(":")
        self.households = fixture.get("households", [])[int(start or 0) : int(end) if end else None]
        self.points = fixture.get("points", {})
        self.counter = (
            json.loads(args.spending_fixture.read_text()) if args.spending_fixture else {}
        )
        self.redemption_ids: set[int] = set()
        self.redeemed = 0  # redemptions answered 201, warm-up included
        self.rng = random.Random(args.seed)  # noqa: S311 (which account to read, not a secret)

    def inspection(self, index: int) -> tuple[dict[str, Any], int]:
        (_, _, compound_id, token), round_, expected = slot(self.households, index)
        event = {
            "event_id": f"http-{self.run}-{index}",
            "household_token": token,
            "point_token": self.points[str(compound_id)][1],
            "stream": STREAMS[round_],
            "grade": "good",
        }
        return event, expected

    async def call(self, connection: Connection, index: int, token: str) -> Outcome:
        mode = self.args.mode
        if mode == "inspections":
            event, expected = self.inspection(index)
            status, payload = await connection.request(
                "POST", "/api/v1/inspections", encode(event), token
            )
            if status != 201:
                return 0, f"status: {status} {payload[:200]!r}"
            return check_credit_reply(decode(payload), expected)
        if mode == "batch":
            size = self.args.batch_size
            events, expected = [], []
            for i in range(index * size, (index + 1) * size):
                event, balance = self.inspection(i)
                events.append({"type": "inspection", **event})
                expected.append(balance)
            status, payload = await connection.request(
                "POST", "/api/v1/events:batch", encode({"events": events}), token
            )
            if status != 200:
                return 0, f"status: {status} {payload[:200]!r}"
            results = decode(payload)["results"]
            if len(results) != size:
                return 0, f"results: {len(results)} for {size} events"
            units = 0
            for event, balance, result in zip(events, expected, results, strict=True):
                if result["event_id"] != event["event_id"] or result["status"] != 201:
                    return units, f"event: {str(result)[:200]}"
                ok, problem = check_credit_reply(result["body"], balance)
                if problem:
                    return units, problem
                units += ok
            return units, None
        if mode == "redemptions":
            (_, _, _, household_token), expected = spend_slot(self.counter["households"], index)
            body = {
                "event_id": f"spend-{self.run}-{index}",
                "household_token": household_token,
                "reward_id": self.counter["reward_id"],
                "quantity": 1,
            }
            status, payload = await connection.request(
                "POST", "/api/v1/redemptions", encode(body), connection.token or token
            )
            if status != 201:
                return 0, f"status: {status} {payload[:200]!r}"
            return self.check_redemption(decode(payload), expected)
        if mode == "account":
            household = self.rng.choice(self.households)
            account_id = household[1]
            status, payload = await connection.request(
                "GET", f"/api/v1/accounts/{account_id}", None, token
            )
            if status != 200:
                return 0, f"status: {status} {payload[:200]!r}"
            body = decode(payload)
            if body["id"] != account_id or body["kind"] != "household":
                return 0, f"account: {str(body)[:200]}"
            want = self.args.expect_balance
            if want is not None and body["balance_points"] != want.get(account_id):
                return 0, f"balance: {body['balance_points']} != {want.get(account_id)}"
            return 1, None
        if mode == "board":
            compound = self.args.scope_id
            path = (
                f"/api/v1/leaderboards?board=households&scope_id={compound}&period=month&limit=10"
            )
            status, payload = await connection.request("GET", path, None, None)
            if status != 200:
                return 0, f"status: {status} {payload[:200]!r}"
            return check_board(decode(payload), self.args.expect_source)
        if mode == "health":
            status, payload = await connection.request("GET", "/health", None, None)
            return (1, None) if status == 200 else (0, f"status: {status}")
        raise SystemExit(f"unknown mode {mode}")

    def check_redemption(self, body: Any, expected_balance: int) -> Outcome:
        redemption_id = body.get("redemption_id")
        if not isinstance(redemption_id, int) or not isinstance(body.get("entry_id"), int):
            return 0, f"redemption: {str(body)[:200]}"
        self.redeemed += 1
        if redemption_id in self.redemption_ids:
            return 0, f"redemption id: {redemption_id} answered twice"
        self.redemption_ids.add(redemption_id)
        if body.get("points") != REWARD_COST:
            return 0, f"points: {body.get('points')} != {REWARD_COST}"
        if body.get("balance_points") != expected_balance:
            return 0, f"balance: {body.get('balance_points')} != {expected_balance}"
        return 1, None


def check_board(body: Any, source: str | None) -> Outcome:
    items = body.get("items", [])
    if len(items) != 10:
        return 0, f"board: {len(items)} items, expected a full top 10"
    values = [item["value"] for item in items]
    ranks = [item["rank"] for item in items]
    if values != sorted(values, reverse=True) or ranks != sorted(ranks) or ranks[0] != 1:
        return 0, f"board order: {values} {ranks}"
    if source is not None and body.get("source") != source:
        return 0, f"source: {body.get('source')} (expected {source})"
    return 1, None


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    token = None
    if args.mode in ("inspections", "batch"):
        token = await sign_in(args.host, args.port, INSPECTOR)
    elif args.mode == "account":
        token = await sign_in(args.host, args.port, CLERK)
    workload = Workload(args)
    clerks: list[str | None] = [None]
    if args.mode == "redemptions":
        # Each connection is one clerk at one till, with its own session; `make bench` signs
        # them in before the phase, so that eight password hashes do not count as its CPU.
        if args.tokens:
            clerks = json.loads(args.tokens.read_text())
        else:
            clerks = list(await sign_in_clerks(args.host, args.port, workload.counter))
    connections = [
        Connection(args.host, args.port, clerks[number % len(clerks)])
        for number in range(args.connections)
    ]
    free = list(connections)

    async def operation(index: int) -> Outcome:
        connection = free.pop()
        try:
            return await workload.call(connection, index, token or "")
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            connection.close()
            return 0, f"connection: {error!r}"
        finally:
            free.append(connection)

    meter = CpuMeter()
    tally, wall = await run_timed(
        operation,
        concurrency=args.connections,
        warmup_s=args.warmup,
        duration_s=args.duration,
        max_ops=args.max_requests,
    )
    cpu = meter.read()
    for connection in connections:
        connection.close()
    units_per_op = args.batch_size if args.mode == "batch" else 1
    summary = tally.summary(wall, units_per_op=units_per_op)
    summary |= {"mode": args.mode, "connections": args.connections, "client_cpu": cpu}
    if args.mode == "redemptions":
        summary |= {
            "clerks": len(clerks),
            "redeemed_with_warmup": workload.redeemed,
            "distinct_redemption_ids": len(workload.redemption_ids),
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--mode",
        required=True,
        choices=["inspections", "batch", "account", "board", "health", "redemptions"],
    )
    parser.add_argument("--fixture", type=Path)
    parser.add_argument("--spending-fixture", type=Path, help="bench.seed --spending's ids")
    parser.add_argument("--tokens", type=Path, help="the clerks' tokens (else it signs them in)")
    parser.add_argument("--slice", default="0:")
    parser.add_argument("--connections", type=int, default=CONNECTIONS_HTTP)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--scope-id", type=int, default=None)
    parser.add_argument("--expect-source", default=None)
    parser.add_argument("--expect-balances", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    args.expect_balance = None
    if args.expect_balances:
        raw = json.loads(args.expect_balances.read_text())
        args.expect_balance = {int(k): v for k, v in raw.items()}
    result = run_and_write(args.out, main_async(args))
    log(
        f"{args.out}: {result['per_s']}/s ({result['ops_per_s']} requests/s) "
        f"p50 {result['p50_ms']} ms p99 {result['p99_ms']} ms ok={result['all_ok']} "
        f"{result['first_failure'] or ''}"
    )


if __name__ == "__main__":
    main()

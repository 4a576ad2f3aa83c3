"""Whose address a request comes from (issue 12): X-Forwarded-For counts only from
GREENLEDGER_TRUSTED_PROXIES. Through a real uvicorn server configured exactly as
`greenledger serve` configures it (api.cli.proxy_options), on 127.0.0.1; the per-address
sign-in lock shows which address the app saw. Also `greenledger user unlock`."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from api import cli
from api.app import create_app
from api.settings import ConfigError, Settings
from ledger.store.engine import current_engine, is_sqlite
from tests.api.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, assert_error
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.factories import TEST_SECRET_KEY

WRONG = {"username": ADMIN_USERNAME, "password": "wrong-password"}
RIGHT = {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
START_SECONDS_MAX = 30


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app under uvicorn with `serve`'s forwarding options, on a free local port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # connections wait in the backlog until uvicorn has started the app
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), log_level="warning", lifespan="on", **cli.proxy_options(settings)
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        base_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base_url, timeout=START_SECONDS_MAX) as client:
            yield client
    finally:
        server.should_exit = True
        await task
        listener.close()


async def sign_in_from(client: httpx.AsyncClient, forwarded_for: str, body: Any) -> int:
    response = await client.post(
        "/api/v1/auth/token", json=body, headers={"X-Forwarded-For": forwarded_for}
    )
    return response.status_code


@pytest.mark.parametrize(
    ("trusted", "other_address_gets"),
    [((), 429), (("127.0.0.1",), 200), (("10.0.0.0/8",), 429)],
)
async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
    admin_user: None, settings: Settings, trusted: tuple[str, ...], other_address_gets: int
) -> None:
    configured = dataclasses.replace(settings, trusted_proxies=trusted)
    async with served(configured) as client:
        for _ in range(5):
            assert await sign_in_from(client, "203.0.113.5", WRONG) == 401
        assert await sign_in_from(client, "203.0.113.5", RIGHT) == 429
        assert await sign_in_from(client, "198.51.100.7", RIGHT) == other_address_gets


def test_trusted_proxies_are_read_from_the_environment() -> None:
    env = {"GREENLEDGER_SECRET_KEY": TEST_SECRET_KEY}
    assert Settings.from_env(env).trusted_proxies == ()
    both = Settings.from_env(env | {"GREENLEDGER_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"})
    assert both.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    assert cli.proxy_options(both) == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["127.0.0.1", "10.0.0.0/8"],
    }
    assert cli.proxy_options(Settings.from_env(env)) == {"proxy_headers": False}
    for bad in ("*", "proxy.local", "10.0.0.0/33"):
        with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
            Settings.from_env(env | {"GREENLEDGER_TRUSTED_PROXIES": bad})


def test_serve_hands_the_trusted_proxies_to_uvicorn(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    monkeypatch.setenv("GREENLEDGER_DATABASE_URL", str(tmp_path / "serve.sqlite"))
    monkeypatch.setenv("GREENLEDGER_TRUSTED_PROXIES", "192.0.2.10")
    assert cli.main(["serve"]) == 0
    assert seen["proxy_headers"] is True
    assert seen["forwarded_allow_ips"] == ["192.0.2.10"]
    monkeypatch.delenv("GREENLEDGER_TRUSTED_PROXIES")
    assert cli.main(["serve"]) == 0
    assert seen["proxy_headers"] is False


@pytest.mark.redis
async def test_user_unlock_on_the_command_line_lifts_the_lock(
    admin_user: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"glunlock{random.randrange(10**9)}"
    shared = dataclasses.replace(settings, redis_url=REDIS_URL, redis_prefix=prefix)
    url = str(current_engine().path) if is_sqlite() else DATABASE_URL  # type: ignore[attr-defined]
    monkeypatch.setenv("GREENLEDGER_DATABASE_URL", url)
    monkeypatch.setenv("GREENLEDGER_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("GREENLEDGER_REDIS_PREFIX", prefix)
    monkeypatch.setenv("GREENLEDGER_SECRET_KEY", TEST_SECRET_KEY)
    try:
        async with AsyncTestClient(app=create_app(shared)) as client:
            for _ in range(5):
                await client.post("/api/v1/auth/token", json=WRONG)
            locked = await client.post("/api/v1/auth/token", json=RIGHT)
            assert_error(locked, 429, "sign_in_locked")
        # The app is stopped first: on PostgreSQL the CLI opens the engine's one pool.
        code = await asyncio.to_thread(cli.main, ["user", "unlock", ADMIN_USERNAME])
        assert code == 0
        async with AsyncTestClient(app=create_app(shared)) as client:
            assert (await client.post("/api/v1/auth/token", json=RIGHT)).status_code == 200
    finally:
        redis = Redis.from_url(REDIS_URL)
        async for key in redis.scan_iter(match=f"{prefix}:*"):
            await redis.delete(key)
        await redis.aclose()

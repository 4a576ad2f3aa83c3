"""The transparency log over HTTP: public keys and heads (no sign-in, exact paths), receipts
for whoever may see the entry, and `greenledger check-receipt` on them, tampered or not."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.cli import main
from api.receipt_check import check_all, encode_receipt
from api.security import PUBLIC_PATHS
from api.settings import Settings
from ledger.domain.access import Role
from ledger.domain.receipts import ReceiptRefused
from ledger.services.container import Services
from tests.api.conftest import Headers, assert_error, created, make_user, make_world, new_event_id
from tests.factories import FrozenClock

Api = tuple[AsyncTestClient[Any], Headers]


@pytest.fixture
def app_clock() -> FrozenClock:
    return FrozenClock()


async def _credit(client: AsyncTestClient[Any], admin: Headers, account_id: int, n: int) -> int:
    body = {"account_id": account_id, "amount_points": n, "reason": "补录"}
    reply = await created(client, admin, "/api/v1/adjustments", body)
    return int(reply["entry_id"])


async def _in_app(client: AsyncTestClient[Any], step: Callable[[Services], Awaitable[Any]]) -> None:
    """A step on the app's own services, in the app's loop (its PostgreSQL pool lives there:
    tests/api/conftest.py), as its sealer loop would run it."""
    services: Services = client.app.state.services
    await asyncio.to_thread(client.blocking_portal.call, step, services)


async def _seal(services: Services) -> None:
    await services.sealer.seal_all()


def _publish(clock: FrozenClock) -> Callable[[Services], Awaitable[Any]]:
    async def publish(services: Services) -> None:
        await services.transparency.publish_closed_days(clock.now() + timedelta(days=1))

    return publish


async def _seal_and_publish(client: AsyncTestClient[Any], clock: FrozenClock) -> None:
    await _in_app(client, _seal)
    await _in_app(client, _publish(clock))


async def _receipt_world(api: Api, settings: Settings, clock: FrozenClock) -> dict[str, Any]:
    client, admin = api
    world = await make_world(client, admin)
    entry_ids = [await _credit(client, admin, world.account_id, n) for n in (10, 20, 30)]
    await _seal_and_publish(client, clock)
    response = await client.get(f"/api/v1/entries/{entry_ids[1]}/receipt", headers=admin)
    assert response.status_code == 200, response.text
    heads = (await client.get("/api/v1/chain/heads?from=2026-11-25&to=2026-11-25")).json()
    keys = (await client.get("/api/v1/chain/key")).json()
    return {"world": world, "receipt": response.json(), "heads": heads, "keys": keys}


async def test_a_receipt_waits_for_its_seal_and_its_day(
    api: Api, settings: Settings, app_clock: FrozenClock
) -> None:
    client, admin = api
    world = await make_world(client, admin)
    entry_id = await _credit(client, admin, world.account_id, 10)
    path = f"/api/v1/entries/{entry_id}/receipt"
    assert_error(await client.get(path, headers=admin), 409, "not_yet_sealed")
    await _in_app(client, _seal)
    assert_error(await client.get(path, headers=admin), 409, "day_not_published")
    await _in_app(client, _publish(app_clock))
    receipt = (await client.get(path, headers=admin)).json()
    assert receipt["entry"]["amount_points"] == 10
    assert receipt["tree_size"] == 1
    assert receipt["audit_path"] == []
    assert_error(
        await client.get("/api/v1/entries/999999/receipt", headers=admin), 404, "not_found"
    )


async def test_keys_and_heads_are_public_and_receipts_verify(
    api: Api, settings: Settings, app_clock: FrozenClock
) -> None:
    found = await _receipt_world(api, settings, app_clock)
    receipt, heads, keys = found["receipt"], found["heads"], found["keys"]
    assert keys["keys"][0]["algorithm"] == "Ed25519"
    assert keys["keys"][0]["signing"] is True
    [head] = heads["items"]
    assert head["day"] == receipt["day"] == "2026-11-25"
    assert head["root"] == receipt["root"]
    assert check_all(receipt, heads, keys).tree_size == 3


async def test_whoever_may_see_the_entry_gets_its_receipt(
    api: Api, settings: Settings, app_clock: FrozenClock
) -> None:
    client, admin = api
    found = await _receipt_world(api, settings, app_clock)
    world = found["world"]
    entry_id = found["receipt"]["entry_id"]
    owner = await make_user(client, admin, Role.RESIDENT, household_id=world.household_id)
    assert (await client.get(f"/api/v1/entries/{entry_id}/receipt", headers=owner)).is_success
    other = await created(
        client,
        admin,
        "/api/v1/households",
        {"compound_id": world.compound_id, "building": "9", "unit": "1", "room": "101"},
    )
    neighbour = await make_user(client, admin, Role.RESIDENT, household_id=other["id"])
    refused = await client.get(f"/api/v1/entries/{entry_id}/receipt", headers=neighbour)
    assert_error(refused, 403, "forbidden")
    anonymous = await client.get(f"/api/v1/entries/{entry_id}/receipt")
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("path", "public"),
    [
        ("/api/v1/chain/key", True),
        ("/api/v1/chain/heads", True),
        ("/api/v1/chain/keys", False),
        ("/api/v1/chain/key/x", False),
        ("/api/v1/chain/headsx", False),
        ("/x/api/v1/chain/key", False),
        ("/api/v1/entries/1/receipt", False),
    ],
)
def test_only_the_exact_public_paths_skip_sign_in(path: str, public: bool) -> None:
    """Litestar matches auth excludes as unanchored regexes, anywhere in the path (so
    `/health` would also skip sign-in for `/api/v1/x/health`): ours are anchored."""
    assert any(re.search(pattern, path) for pattern in PUBLIC_PATHS) is public


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13-01&to=2026-12-01", "from"),
        ("from=2026-12-05&to=2026-12-01", "to"),
        ("from=2024-01-01&to=2026-12-01", "to"),
        ("to=yesterday", "to"),
    ],
)
async def test_bad_head_ranges_are_400(api: Api, query: str, field: str) -> None:
    client, _ = api
    body = assert_error(await client.get(f"/api/v1/chain/heads?{query}"), 400, "validation_error")
    assert body["field"] == field


async def test_check_receipt_offline_and_tampered(
    api: Api, settings: Settings, app_clock: FrozenClock, tmp_path: Path
) -> None:
    found = await _receipt_world(api, settings, app_clock)
    receipt, heads, keys = found["receipt"], found["heads"], found["keys"]
    (tmp_path / "heads.json").write_text(json.dumps(heads))
    (tmp_path / "key.json").write_text(json.dumps(keys))

    def check(doc: dict[str, Any], keys_doc: dict[str, Any] = keys) -> int:
        (tmp_path / "r.json").write_text(json.dumps(doc))
        (tmp_path / "key.json").write_text(json.dumps(keys_doc))
        offline = ["--heads", str(tmp_path / "heads.json"), "--key", str(tmp_path / "key.json")]
        return main(["check-receipt", str(tmp_path / "r.json"), *offline])

    assert check(receipt) == 0
    assert check({**receipt, "entry": {**receipt["entry"], "amount_points": 99}}) == 1
    assert check({**receipt, "previous_hash": "0" * 64}) == 1
    assert check({**receipt, "audit_path": list(reversed(receipt["audit_path"]))}) == 1
    assert check({**receipt, "root": "ab" * 32}) == 1
    assert check({**receipt, "leaf_index": receipt["leaf_index"] + 1}) == 1
    forged_head = {"items": [{**heads["items"][0], "signature": "00" * 64}]}
    (tmp_path / "heads.json").write_text(json.dumps(forged_head))
    assert check(receipt) == 1
    (tmp_path / "heads.json").write_text(json.dumps(heads))
    other_key = {"keys": [{**keys["keys"][0], "public_key": "11" * 32}]}
    assert check(receipt, other_key) == 1
    assert check(receipt) == 0
    with pytest.raises(ReceiptRefused, match="signature"):
        check_all(receipt, forged_head, keys)


def test_a_receipt_link_carries_the_receipt() -> None:
    from api.receipt_check import decode_receipt

    receipt = {"entry_id": 1, "memo": "补录 & more", "audit_path": ["ab" * 32] * 12}
    token = encode_receipt(receipt)
    assert decode_receipt(token) == receipt
    assert len(token) < 900
    with pytest.raises(ReceiptRefused):
        decode_receipt("not-a-receipt")
    assert new_event_id() != new_event_id()

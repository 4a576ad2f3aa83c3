"""The transparency log's pages: the public noticeboard page, the public receipt check (from a
receipt link, pasted, tampered), and the resident's receipt with its short form and QR."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from litestar.testing import AsyncTestClient

from api.receipt_check import encode_receipt
from api.settings import Settings
from ledger.domain.access import SYSTEM
from ledger.services.container import Services
from tests.api.conftest import app_for
from tests.api.pages_helpers import seed, sign_in_page
from tests.factories import FrozenClock

Town = tuple[AsyncTestClient[Any], int, dict[str, Any]]


@pytest.fixture
async def town(fresh_db: None, settings: Settings) -> AsyncIterator[Town]:
    """The seeded compound, its entry sealed on 2026-11-25 and that day published."""
    clock = FrozenClock()
    demo = await seed(settings, clock)
    services = Services.build(settings.keyring(), settings.base_url, clock=clock)
    await services.sealer.seal_all()
    await services.transparency.publish_closed_days(clock.now() + timedelta(days=1))
    entry_id = (await services.accounts.entries(SYSTEM, demo.account_id, None, 1)).items[0].id
    receipt = await services.transparency.receipt(SYSTEM, entry_id)
    async with AsyncTestClient(app=app_for(settings)) as client:
        yield client, entry_id, _as_dict(receipt)


def _as_dict(receipt: Any) -> dict[str, Any]:
    return asdict(receipt)


async def test_the_noticeboard_page_is_public_with_its_qr(town: Town) -> None:
    client, _, receipt = town
    page = await client.get("/log")
    assert page.status_code == 200
    assert receipt["root"] in page.text
    assert "<svg" in page.text
    assert "2026-11-25" in page.text


async def test_a_receipt_link_is_checked_by_anyone(town: Town) -> None:
    client, _, receipt = town
    fields = {k: receipt[k] for k in _as_keys()}
    verified = await client.get("/log/check", params={"r": encode_receipt(fields)})
    assert 'id="check-outcome"' in verified.text
    assert "核验通过" in verified.text
    forged = {**fields, "entry": {**fields["entry"], "amount_points": 2400}}
    refused = await client.get("/log/check", params={"receipt": json.dumps(forged)})
    assert "核验未通过" in refused.text
    assert "内容被改动过" in refused.text
    garbage = await client.get("/log/check", params={"receipt": "not json"})
    assert "核验未通过" in garbage.text


async def test_the_resident_sees_the_short_form_and_a_qr(town: Town) -> None:
    client, entry_id, receipt = town
    await sign_in_page(client, "resident")
    home = await client.get("/home")
    assert f"/home/receipt/{entry_id}" in home.text
    page = await client.get(f"/home/receipt/{entry_id}")
    assert page.status_code == 200
    assert f"2026-11-25 · {receipt['seal_no']} · {receipt['entry_hash'][:12]}" in page.text
    assert "<svg" in page.text
    link = html.unescape(re.search(r'href="(http[^"]+/log/check\?r=[^"]+)"', page.text)[1])
    parts = urlsplit(link)
    checked = await client.get(f"{parts.path}?{parts.query}")
    assert "核验通过" in checked.text


def _as_keys() -> list[str]:
    return [
        "entry_id", "day", "seal_no", "previous_hash", "entry", "entry_hash", "leaf_index",
        "tree_size", "audit_path", "root",
    ]  # fmt: skip

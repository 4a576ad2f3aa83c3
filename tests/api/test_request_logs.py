"""Structured logs (issue 17 item 2): one JSON line per request and per background step, with
the request id (taken from X-Request-ID if well-formed, else made, and echoed), the user and
role, the event id, the outcome and the duration; never a password, PIN, token or phone number."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.logs import JsonFormatter, TextFormatter, logging_config
from api.settings import ConfigError, Settings
from tests.api.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    make_world,
    new_event_id,
    sign_in,
)


@dataclasses.dataclass
class Captured:
    stream: io.StringIO

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def requests(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["logger"] == "greenledger.request"]


@pytest.fixture
def captured() -> Iterator[Captured]:
    """Every log line of the app, formatted as `greenledger serve` formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield Captured(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_a_request_is_one_line_with_who_what_and_how_it_went(
    admin_user: None, settings: Settings, captured: Captured
) -> None:
    async with AsyncTestClient(app=create_app(settings)) as client:
        admin = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
        world = await make_world(client, admin)
        event_id = new_event_id()
        body = {"event_id": event_id, "account_id": world.account_id, "reason": "log"}
        response = await client.post(
            "/api/v1/adjustments",
            json={**body, "amount_points": 5},
            headers={**admin, "X-Request-ID": "req-17.item-2:a"},
        )
        assert response.status_code == 201, response.text
        refused = await client.post(
            "/api/v1/adjustments",
            json={**body, "event_id": new_event_id(), "amount_points": -500},
            headers=admin,
        )
        assert refused.status_code == 409
        me = (await client.get("/api/v1/me", headers=admin)).json()
    assert response.headers["x-request-id"] == "req-17.item-2:a"
    (line,) = [r for r in captured.requests() if r["request_id"] == "req-17.item-2:a"]
    assert line["method"] == "POST"
    assert line["route"] == "/api/v1/adjustments"
    assert line["status"] == 201
    assert line["outcome"] == "ok"
    assert line["event_id"] == event_id
    assert line["user_id"] == me["user_id"]
    assert line["role"] == "admin"
    assert line["duration_ms"] >= 0
    assert line["level"] == "info"
    (refusal,) = [
        r for r in captured.requests() if r["request_id"] == refused.headers["x-request-id"]
    ]
    assert refusal["status"] == 409
    assert refusal["outcome"] == "insufficient_points"


async def test_request_ids_are_made_when_missing_or_not_well_formed(
    fresh_db: None, settings: Settings, captured: Captured
) -> None:
    async with AsyncTestClient(app=create_app(settings)) as client:
        plain = await client.get("/health/live")
        again = await client.get("/health/live")
        odd = await client.get("/health/live", headers={"X-Request-ID": "has spaces; and=more"})
        long = await client.get("/health/live", headers={"X-Request-ID": "a" * 65})
        missing = await client.get("/no/such/page.json")
    made = [r.headers["x-request-id"] for r in (plain, again, odd, long, missing)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in made), made
    assert len(set(made)) == len(made)
    logged = {line["request_id"]: line for line in captured.requests()}
    assert set(made) <= set(logged)
    assert logged[made[-1]]["route"] == "unmatched"
    assert logged[made[-1]]["outcome"] == "not_found"
    assert logged[made[0]]["user_id"] is None


async def test_no_password_token_or_phone_number_reaches_the_log(
    admin_user: None, settings: Settings, captured: Captured
) -> None:
    phone = "13812345678"
    async with AsyncTestClient(app=create_app(settings)) as client:
        signed_in = await client.post(
            "/api/v1/auth/token", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
        )
        token = signed_in.json()["access_token"]
        admin = {"Authorization": f"Bearer {token}"}
        world = await make_world(client, admin)
        response = await client.post(
            "/api/v1/adjustments",
            json={
                "event_id": new_event_id(),
                "account_id": world.account_id,
                "amount_points": 1,
                "reason": f"call {phone} pin 4321",
            },
            headers=admin,
        )
        assert response.status_code == 201, response.text
        wrong = await client.post(
            "/api/v1/auth/token", json={"username": ADMIN_USERNAME, "password": "Wrong-Pass-99"}
        )
        assert wrong.status_code == 401
        # Whatever some code might log one day: the formatter masks it.
        logging.getLogger("tests.careless").warning(
            "signed in with password=%s token %s phone %s pin: 4321",
            ADMIN_PASSWORD,
            f"Bearer {token}",
            f"+86 {phone}",
            extra={"password": ADMIN_PASSWORD, "token": token, "phone": phone, "pin": "4321"},
        )
    text = captured.text
    assert captured.requests(), "the requests were logged"
    for secret in (ADMIN_PASSWORD, "Wrong-Pass-99", token, token.split(".")[2], phone, "4321"):
        assert secret not in text, secret
    careless = [line for line in captured.lines() if line["logger"] == "tests.careless"]
    assert careless[0]["password"] == careless[0]["token"] == "[redacted]"


async def test_each_sealer_and_projector_batch_is_one_line(
    admin_user: None, settings: Settings, captured: Captured
) -> None:
    with_sealer = dataclasses.replace(settings, run_sealer=True)
    async with AsyncTestClient(app=create_app(with_sealer)) as client:
        admin = await sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
        world = await make_world(client, admin)
        credit = {"account_id": world.account_id, "amount_points": 3, "reason": "seal me"}
        response = await client.post(
            "/api/v1/adjustments", json={"event_id": new_event_id(), **credit}, headers=admin
        )
        assert response.status_code == 201, response.text
        for _ in range(600):  # the loop seals within half a second; wait (up to 30 s) for its line
            if any(line.get("step") == "seal" for line in captured.lines()):
                break
            await asyncio.sleep(0.05)
    (step, *_) = [line for line in captured.lines() if line.get("step") == "seal"]
    assert step["logger"] == "greenledger.steps"
    assert step["outcome"] == "ok"
    assert step["entries_sealed"] + step["facts_numbered"] >= 1
    assert step["duration_ms"] >= 0
    assert "request_id" not in step


def test_the_text_format_for_a_terminal_masks_the_same() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "pin=1234 from 13912345678", (), None
    )
    record.role = "admin"
    text = TextFormatter().format(record)
    assert "1234" not in text
    assert "13912345678" not in text
    assert text.endswith("role=admin")


def test_logging_config_names_the_formatter_of_each_format() -> None:
    assert logging_config("json")["formatters"]["greenledger"]["()"] == "api.logs.JsonFormatter"
    assert logging_config("text")["formatters"]["greenledger"]["()"] == "api.logs.TextFormatter"


@pytest.mark.parametrize(
    ("name", "value"),
    [("LOG_FORMAT", "xml"), ("METRICS_TOKEN", "short"), ("METRICS_TOKEN", "a b" + "c" * 40)],
)
def test_bad_settings_stop_start_up(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"GREENLEDGER_" + name: value, "GREENLEDGER_SECRET_KEY": "k" * 40})

"""A real server and the system's Chromium, for the page tests that need a browser.

The server is a separate process (`python -m api.cli serve`) on a free port with a fresh
SQLite file, migrated and seeded with a small demo subdistrict, exactly as `make run` does.
Tests skip with the reason when /usr/bin/chromium or a CJK font is missing, except under
GREENLEDGER_REQUIRE_SERVICES=1 (CI), where that fails the run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"
DEMO_PASSWORD = "demo-pass-2026"
SECRET_KEY = "browser-test-secret-key-0123456789-abcdefghij"
REQUIRE = os.environ.get("GREENLEDGER_REQUIRE_SERVICES") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
WAIT_MS = 20_000


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)"
    fonts = shutil.which("fc-list")
    listed = (
        subprocess.run(  # noqa: S603
            [fonts, ":lang=zh", "family"], capture_output=True, text=True, check=False
        ).stdout
        if fonts
        else ""
    )
    if not listed.strip():
        return "no CJK font: Chinese would render as boxes (apt-get install fonts-noto-cjk)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    if reason is None:
        return
    for item in items:
        if item.get_closest_marker("browser"):
            if REQUIRE:
                raise pytest.UsageError(f"browser tests are required (CI) but {reason}")
            item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Server:
    url: str
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """A plain bearer-API call, for set-up and for checking balances independently."""
        request = urllib.request.Request(  # noqa: S310 (our own server on 127.0.0.1)
            self.url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"content-type": "application/json"}
            | ({"authorization": f"Bearer {token}"} if token else {}),
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())

    def token(self, username: str) -> str:
        """A demo user's bearer token, signed in once per server: the tests share one client
        address, whose sign-ins the server limits (30 a minute, api/limits.py)."""
        if username not in self.tokens:
            body = {"username": username, "password": DEMO_PASSWORD}
            self.tokens[username] = str(
                self.api("POST", "/api/v1/auth/token", body)["access_token"]
            )
        return self.tokens[username]


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "api.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@contextmanager
def serving(days: int = 0) -> Iterator[Server]:
    """A migrated, seeded server process; `days` of history (sealed and published day by
    day, as `seed-demo --days` writes it) for the pages that read the past."""
    if _missing() is not None:
        pytest.skip(_missing() or "")
    work = Path(tempfile.mkdtemp(prefix="greenledger-browser-"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GREENLEDGER_", "PICCOLO_"))}
    env |= {
        "GREENLEDGER_DATABASE_URL": str(work / "browser.sqlite"),
        "GREENLEDGER_SECRET_KEY": SECRET_KEY,
        "GREENLEDGER_BASE_URL": f"http://127.0.0.1:{port}",
    }
    _run(["migrate"], env)
    _run(["seed-demo", "--households", "50", "--days", str(days)], env)
    log = (work / "server.log").open("wb")
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=1):  # noqa: S310
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    output = (work / "server.log").read_text()
                    raise RuntimeError(f"the server did not start:\n{output}") from None
                time.sleep(0.1)
        yield Server(url, env)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="package")
def server() -> Iterator[Server]:
    with serving() as running:
        yield running


@pytest.fixture(scope="package")
def playwright_driver(server: Server) -> Iterator[Any]:
    """One sync Playwright for tests/browser (a second one in the same process fails), closed
    when tests/browser is done: it runs its own event loop in this thread, which the asyncio
    tests after it must not find still running. Launch Chromium from it with other flags (a
    fake camera) or a persistent profile (installability) as a test needs."""
    from playwright.sync_api import expect, sync_playwright

    # Generous: a shared 2-core machine under load is slow, and a wait ends as soon as it can.
    expect.set_options(timeout=WAIT_MS)
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="package")
def browser(playwright_driver: Any) -> Iterator[Any]:
    chromium = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


def phones(browser: Any, base_url: str, **options: Any) -> Iterator[Callable[..., Any]]:
    """Yield a function that opens a phone-sized page (Chinese locale unless told, fresh
    storage: signed out) on `base_url`, each collecting its console and page errors in
    `page.problems`; every context it opened is closed afterwards."""
    contexts: list[Any] = []

    def open_phone(locale: str = "zh-CN") -> Any:
        context = browser.new_context(
            base_url=base_url,
            viewport=PHONE,
            device_scale_factor=2,
            locale=locale,
            is_mobile=True,
            has_touch=True,
            **options,
        )
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        page.problems = []  # console errors (a CSP violation shows up here) and page errors
        page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
        page.on("pageerror", lambda e: page.problems.append(str(e)))
        return page

    yield open_phone
    for context in contexts:
        context.close()


@pytest.fixture
def new_phone(browser: Any, server: Server) -> Iterator[Callable[..., Any]]:
    """Open a phone-sized browser context (Chinese locale, fresh storage) per call."""
    yield from phones(browser, server.url)


def sign_in(page: Any, username: str, next_path: str = "") -> None:
    page.goto("/login" + (f"?next={next_path}" if next_path else ""))
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(DEMO_PASSWORD)
    page.locator('form[action="/login"] button[type="submit"]').click()
    page.wait_for_load_state()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def image_width(image: Any) -> int:
    """The natural width of an image once it has loaded (0: it loaded, but drew nothing).
    Brought into view first: a `loading="lazy"` image starts loading only then, so reading
    `complete` at once races its download on a busy machine."""
    image.scroll_into_view_if_needed()
    image.page.wait_for_function("img => img.complete", arg=image.element_handle())
    width: int = image.evaluate("img => img.naturalWidth")
    return width

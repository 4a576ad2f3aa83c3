"""The shipped nginx site (deploy/nginx/greenledger.conf) in front of two API processes
(issue 17, item 5), on loopback.

nginx (Debian's) runs the site file itself, with only its listen addresses, certificate,
upstream ports, static root and log paths pointed at this test's own; two
`greenledger serve --no-background` processes behind it trust X-Forwarded-For from 127.0.0.1
only (GREENLEDGER_TRUSTED_PROXIES) and count limits in one Redis. Clients connect from
distinct loopback addresses (127.0.0.2, 127.0.0.3, ...): per-address limits follow the real
client, through either process, and a forged X-Forwarded-For changes nothing, whether sent
through nginx or straight to an API process.

With GREENLEDGER_REQUIRE_SERVICES=1 (CI) a missing nginx fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.chaos.servers import free_port
from tests.conftest import DATABASE_URL, ENGINE, REDIS_URL, REQUIRE_SERVICES
from tests.factories import TEST_SECRET_KEY

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "greenledger.conf"
LIMIT = 6  # requests a minute per address (GREENLEDGER_RATE_LIMIT_PER_MINUTE)
START_SECONDS = 60
PAGE = "/login"  # a public page: counted per address, writes nothing

# Debian's /etc/nginx/nginx.conf, reduced to what the site relies on, every path in the
# temporary directory (its defaults, /run/nginx.pid and /var/lib/nginx, are not ours).
MAIN = """daemon off;
worker_processes 1;
pid {t}/nginx.pid;
error_log {t}/error.log;
events {{ worker_connections 256; }}
http {{
    sendfile on;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {t}/body;
    proxy_temp_path {t}/proxy;
    fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi;
    scgi_temp_path {t}/scgi;
    gzip on;
    include {t}/greenledger.conf;
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        message = "nginx is not installed (apt-get install nginx; .ci/run does)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclass
class Front:
    https_port: int
    http_port: int
    api_ports: tuple[int, int]
    cert: Path
    home: Path

    def client(self, address: str, **kwargs: Any) -> httpx.Client:
        """A client whose connections come from `address` (a loopback address of its own)."""
        context = ssl.create_default_context(cafile=str(self.cert))
        transport = httpx.HTTPTransport(local_address=address, verify=context)
        return httpx.Client(
            transport=transport, base_url=f"https://127.0.0.1:{self.https_port}", timeout=30,
            **kwargs,
        )  # fmt: skip

    def direct(self, address: str) -> httpx.Client:
        """Straight to the first API process, past nginx."""
        return httpx.Client(
            transport=httpx.HTTPTransport(local_address=address),
            base_url=f"http://127.0.0.1:{self.api_ports[0]}",
            timeout=30,
        )


def render_site(home: Path, https_port: int, http_port: int, api_ports: tuple[int, int]) -> str:
    """The shipped site with its machine-specific values replaced; each must be found."""
    site = SITE.read_text()
    replacements = [
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;", ""),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("listen [::]:443 ssl http2;", ""),
        ("/etc/letsencrypt/live/ledger.example.org/fullchain.pem", str(home / "cert.pem")),
        ("/etc/letsencrypt/live/ledger.example.org/privkey.pem", str(home / "key.pem")),
        ("server 127.0.0.1:8001;", f"server 127.0.0.1:{api_ports[0]};"),
        ("server 127.0.0.1:8002;", f"server 127.0.0.1:{api_ports[1]};"),
        ("/opt/greenledger/app/api/static/", f"{ROOT}/api/static/"),
        ("/var/log/nginx/", f"{home}/"),
    ]
    for old, new in replacements:
        assert old in site, f"{SITE.name} no longer has {old!r}: update this test with it"
        site = site.replace(old, new)
    return site


def tool(name: str) -> str:
    found = shutil.which(name)
    assert found is not None, f"{name} is installed"
    return found


def make_certificate(home: Path) -> None:
    subprocess.run(  # noqa: S603
        [tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(home / "key.pem"), "-out", str(home / "cert.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


def api_environment(database: str, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENLEDGER_")}
    return env | {
        "GREENLEDGER_DATABASE_URL": database,
        "GREENLEDGER_SECRET_KEY": TEST_SECRET_KEY,
        "GREENLEDGER_REDIS_URL": REDIS_URL,
        "GREENLEDGER_REDIS_PREFIX": prefix,
        "GREENLEDGER_TRUSTED_PROXIES": "127.0.0.1",
        "GREENLEDGER_RATE_LIMIT_PER_MINUTE": str(LIMIT),
        "PYTHONPATH": str(ROOT),
    }


def start_api(port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """`greenledger serve --no-background`, as deploy/systemd/greenledger-api@.service runs it."""
    with log_path.open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--no-background"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def wait_ready(url: str, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2, verify=False).status_code == 200:  # noqa: S501
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} not up within {START_SECONDS} s:\n{log.read_text()[-3000:]}")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in reversed(processes):  # by its own id: nginx, then the API processes
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT if "nginx" in process.args[0] else signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def clear_redis(prefix: str) -> None:
    from redis import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture(scope="module")
def front() -> Iterator[Front]:
    nginx = nginx_binary()
    home = Path(tempfile.mkdtemp(prefix="gl-nginx-"))
    # A root master would run its workers as `nobody`, who cannot enter this 0700 directory.
    as_user: dict[str, Any] = {}
    if os.geteuid() == 0:
        shutil.chown(home, "www-data", "www-data")
        as_user = {"user": "www-data", "group": "www-data", "extra_groups": []}
    prefix = f"glnginx{random.randrange(10**9)}"
    database = DATABASE_URL if ENGINE == "postgres" else str(home / "front.sqlite")
    env = api_environment(database, prefix)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        migrated = subprocess.run(
            [sys.executable, "-m", "api.cli", "migrate"],
            cwd=ROOT, env=env, capture_output=True, timeout=300, check=False,
        )  # fmt: skip
        assert migrated.returncode == 0, migrated.stderr
        api_ports = (free_port(), free_port())
        for port in api_ports:
            processes.append(start_api(port, env, home / f"api-{port}.log"))
        make_certificate(home)
        https_port, http_port = free_port(), free_port()
        (home / "greenledger.conf").write_text(render_site(home, https_port, http_port, api_ports))
        (home / "nginx.conf").write_text(MAIN.format(t=home))
        if as_user:
            for name in ("cert.pem", "key.pem", "greenledger.conf", "nginx.conf"):
                shutil.chown(home / name, "www-data", "www-data")
        command = [nginx, "-p", str(home), "-c", str(home / "nginx.conf")]
        checked = subprocess.run(  # noqa: S603
            [*command, "-t", "-q"], capture_output=True, text=True, timeout=60, check=False,
            **as_user,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stderr
        processes.append(subprocess.Popen(command, **as_user))  # noqa: S603
        for port in api_ports:
            wait_ready(f"http://127.0.0.1:{port}/health", home / f"api-{port}.log")
        wait_ready(f"https://127.0.0.1:{https_port}/health", home / "error.log")
        yield Front(https_port, http_port, api_ports, home / "cert.pem", home)
    finally:
        stop(processes)
        clear_redis(prefix)
        shutil.rmtree(home, ignore_errors=True)


def statuses(client: httpx.Client, count: int, **headers: str) -> list[int]:
    return [client.get(PAGE, headers=headers).status_code for _ in range(count)]


def test_per_address_limits_follow_the_real_client_through_nginx(front: Front) -> None:
    with (
        front.client("127.0.0.2") as first,
        front.client("127.0.0.3") as second,
        front.direct("127.0.0.4") as around,
    ):
        # nginx alternates between the two processes; the limit holds across both (one Redis).
        assert statuses(first, LIMIT) == [200] * LIMIT
        refused = first.get(PAGE)
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"
        # A forged header does not get the limited client a fresh allowance...
        assert statuses(first, 2, **{"X-Forwarded-For": "198.51.100.9"}) == [429, 429]
        # ...nor spend another client's: nginx replaces it with the address it saw.
        assert statuses(second, LIMIT, **{"X-Forwarded-For": "127.0.0.2"}) == [200] * LIMIT
        assert second.get(PAGE).status_code == 429  # its own allowance, and only its own
        # Straight to an API process from an address that is not a trusted proxy: the
        # header is ignored, the request counts for 127.0.0.4.
        assert statuses(around, LIMIT, **{"X-Forwarded-For": "203.0.113.50"}) == [200] * LIMIT
        assert around.get(PAGE, headers={"X-Forwarded-For": "203.0.113.51"}).status_code == 429


def test_the_site_speaks_tls_and_http2_and_redirects_plain_http(front: Front) -> None:
    version = subprocess.run(  # noqa: S603
        [tool("curl"), "--http2", "-s", "-o", "/dev/null", "-w", "%{http_version}",
         "--cacert", str(front.cert), f"https://127.0.0.1:{front.https_port}/health"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert version.stdout == "2"
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.5")) as plain:
        moved = plain.get(f"http://127.0.0.1:{front.http_port}/login?next=/x")
    assert moved.status_code == 301
    assert moved.headers["location"] == "https://127.0.0.1/login?next=/x"


def test_static_files_are_gzipped_and_cached_pages_are_not(front: Front) -> None:
    with front.client("127.0.0.6") as client:
        css = client.get("/static/pages.css", headers={"Accept-Encoding": "gzip"})
        assert css.status_code == 200
        assert css.headers["content-encoding"] == "gzip"
        assert css.headers["cache-control"] == "max-age=3600"
        assert css.text == (ROOT / "api/static/pages.css").read_text()
        vendor = client.get("/static/vendor/jsqr-1.4.0/jsQR.js")
        assert vendor.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert vendor.headers["x-content-type-options"] == "nosniff"
        page = client.get(PAGE, headers={"Accept-Encoding": "gzip"})
        assert page.status_code == 200
        assert "content-encoding" not in page.headers  # pages carry CSRF tokens (BREACH)
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        assert client.get("/metrics").status_code == 404


def test_bodies_over_the_limit_stop_at_nginx(front: Front) -> None:
    with front.client("127.0.0.7") as client:
        too_big = client.post("/api/v1/auth/token", content=b"x" * (2 * 1024 * 1024 + 1))
        assert too_big.status_code == 413
        assert "nginx" in too_big.text
        small = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"})
        assert small.status_code == 401  # the app's own answer, through nginx


def test_readiness_and_liveness_answer_only_the_box_and_health_everyone(front: Front) -> None:
    with front.client("127.0.0.1") as local, front.client("127.0.0.8") as outside:
        for probe in ("/health/ready", "/health/live"):
            assert outside.get(probe).status_code == 403  # nginx's deny, not the app
            assert local.get(probe).status_code == 200
        assert outside.get("/health").status_code == 200

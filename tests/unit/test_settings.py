"""Configuration from the environment: defaults, demo mode, and one-line refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from api import cli
from api.settings import PREFIX, ConfigError, Settings, served_base_url

GOOD_SECRET = "s" * 32
PG_URL = "postgresql://postgres@127.0.0.1:5432/greenledger"


def env(**values: str) -> dict[str, str]:
    return {PREFIX + name: value for name, value in values.items()}


def test_defaults_are_sqlite_in_var_with_a_demo_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.database_url == "var/greenledger.sqlite"
    assert not settings.is_postgres
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.redis_url is None
    assert settings.qr_keys == ()
    assert settings.token_ttl_seconds == 12 * 3600
    secret_file = tmp_path / "var" / "greenledger.secret"
    assert secret_file.read_text().strip() == settings.secret_key
    assert len(settings.secret_key) >= 32


def test_the_demo_secret_is_created_beside_the_sqlite_file_and_reused(tmp_path: Path) -> None:
    database = tmp_path / "data" / "ledger.sqlite"
    first = Settings.from_env(env(DATABASE_URL=str(database)))
    secret_file = tmp_path / "data" / "ledger.secret"
    assert secret_file.exists()
    assert secret_file.stat().st_mode & 0o777 == 0o600
    second = Settings.from_env(env(DATABASE_URL=str(database)))
    assert second.secret_key == first.secret_key
    assert second.keyring() == first.keyring()


def test_another_sqlite_file_gets_another_demo_secret(tmp_path: Path) -> None:
    first = Settings.from_env(env(DATABASE_URL=str(tmp_path / "a.sqlite")))
    second = Settings.from_env(env(DATABASE_URL=f"sqlite:///{tmp_path / 'b.sqlite'}"))
    assert first.secret_key != second.secret_key
    assert (tmp_path / "b.secret").exists()


def test_a_given_secret_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    database = tmp_path / "ledger.sqlite"
    settings = Settings.from_env(env(DATABASE_URL=str(database), SECRET_KEY=GOOD_SECRET))
    assert settings.secret_key == GOOD_SECRET
    assert not (tmp_path / "ledger.secret").exists()


def test_postgres_with_a_secret_and_all_options(tmp_path: Path) -> None:
    settings = Settings.from_env(
        env(
            DATABASE_URL=PG_URL,
            SECRET_KEY=GOOD_SECRET,
            BASE_URL="https://green.example.cn/",
            REDIS_URL="redis://127.0.0.1:6379/0",
            QR_KEYS=f"b:{'n' * 32}, a:{'o' * 32}",
            TOKEN_TTL_SECONDS="60",
        )
    )
    assert settings.is_postgres
    assert settings.base_url == "https://green.example.cn"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.token_ttl_seconds == 60
    keyring = settings.keyring()
    assert keyring.current_key_id == "b"
    assert set(keyring.keys) == {"a", "b"}


def test_the_derived_keys_differ_by_purpose() -> None:
    settings = Settings(database_url="x.sqlite", secret_key=GOOD_SECRET, base_url="http://x")
    assert settings.derived_key("jwt") != settings.derived_key("qr:a")
    assert settings.keyring().keys["a"] == settings.derived_key("qr:a")


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        pytest.param({"DATABASE_URL": PG_URL}, "SECRET_KEY", id="postgres without secret"),
        pytest.param({"SECRET_KEY": "short"}, "SECRET_KEY", id="short secret"),
        pytest.param({"BASE_URL": "ftp://example.cn"}, "BASE_URL", id="base url scheme"),
        pytest.param({"BASE_URL": "example.cn"}, "BASE_URL", id="base url without scheme"),
        pytest.param({"BASE_URL": "http://a b"}, "BASE_URL", id="base url with space"),
        pytest.param({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL", id="redis url"),
        pytest.param({"QR_KEYS": "a:short"}, "QR_KEYS", id="short qr key"),
        pytest.param({"QR_KEYS": f"a-1:{'k' * 32}"}, "QR_KEYS", id="qr key id"),
        pytest.param({"QR_KEYS": "k" * 40}, "QR_KEYS", id="qr key without id"),
        pytest.param({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL", id="mysql"),
        pytest.param({"TOKEN_TTL_SECONDS": "0"}, "TOKEN_TTL_SECONDS", id="ttl zero"),
        pytest.param({"TOKEN_TTL_SECONDS": "1h"}, "TOKEN_TTL_SECONDS", id="ttl text"),
        pytest.param({"TOKEN_TTL_SECONDS": "²"}, "TOKEN_TTL_SECONDS", id="ttl superscript"),
        pytest.param(
            {"RATE_LIMIT_PER_MINUTE": "①"}, "RATE_LIMIT_PER_MINUTE", id="rate circled digit"
        ),
        pytest.param(
            {"WEBHOOK_URL": "https://gw.example.cn/hook"}, "WEBHOOK_SECRET", id="webhook no secret"
        ),
        pytest.param(
            {"WEBHOOK_URL": "https://gw.example.cn/hook", "WEBHOOK_SECRET": "short"},
            "WEBHOOK_SECRET",
            id="webhook short secret",
        ),
        pytest.param(
            {"WEBHOOK_URL": "gw.example.cn/hook", "WEBHOOK_SECRET": GOOD_SECRET},
            "WEBHOOK_URL",
            id="webhook not a url",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    values: dict[str, str], variable: str, tmp_path: Path
) -> None:
    given = env(DATABASE_URL=str(tmp_path / "ledger.sqlite"), SECRET_KEY=GOOD_SECRET)
    given.update(env(**values))
    if variable == "SECRET_KEY" and "SECRET_KEY" not in values:
        del given[PREFIX + "SECRET_KEY"]
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(given)
    message = str(refused.value)
    assert PREFIX + variable in message
    assert "\n" not in message


def test_the_cli_reports_a_bad_setting_in_one_line_with_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PREFIX + "DATABASE_URL", str(tmp_path / "ledger.sqlite"))
    monkeypatch.setenv(PREFIX + "SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv(PREFIX + "BASE_URL", "ftp://example.cn")
    assert cli.main(["verify"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert "configuration error" in lines[0]
    assert PREFIX + "BASE_URL" in lines[0]
    assert not (tmp_path / "ledger.sqlite").exists()


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", 8123, "http://127.0.0.1:8123"),
        ("192.168.1.20", 80, "http://192.168.1.20:80"),
        ("0.0.0.0", 9000, "http://127.0.0.1:9000"),  # noqa: S104
        ("::1", 8000, "http://[::1]:8000"),
    ],
)
def test_qr_codes_point_at_the_address_served(host: str, port: int, expected: str) -> None:
    assert served_base_url({}, host, port) == expected


def test_the_base_url_setting_wins_over_the_address_served() -> None:
    configured = env(BASE_URL="https://lv.example.org/")
    assert served_base_url(configured, "0.0.0.0", 9000) == "https://lv.example.org"  # noqa: S104
    with pytest.raises(ConfigError, match="BASE_URL"):
        served_base_url(env(BASE_URL="lv.example.org"), "127.0.0.1", 9000)


def test_serve_hands_the_app_the_port_it_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run PORT=8123`: the app the server builds (from the environment) makes QR codes
    for port 8123, not the default 8000."""
    import uvicorn

    monkeypatch.setenv(PREFIX + "BASE_URL", "")  # unset, and restored after the test
    monkeypatch.setenv(PREFIX + "DATABASE_URL", str(tmp_path / "ledger.sqlite"))
    seen: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: seen.append(Settings.from_env().base_url))
    assert cli.main(["serve", "--host", "127.0.0.1", "--port", "8123"]) == 0
    assert seen == ["http://127.0.0.1:8123"]


def test_the_webhook_is_off_unless_its_url_is_set(tmp_path: Path) -> None:
    base = env(DATABASE_URL=str(tmp_path / "ledger.sqlite"), SECRET_KEY=GOOD_SECRET)
    assert Settings.from_env(base).webhook_url is None
    configured = Settings.from_env(
        base | env(WEBHOOK_URL="https://gw.example.cn/hook", WEBHOOK_SECRET=GOOD_SECRET)
    )
    assert (configured.webhook_url, configured.webhook_secret) == (
        "https://gw.example.cn/hook",
        GOOD_SECRET,
    )


def test_the_chain_signing_key_is_configured_derived_or_refused(tmp_path: Path) -> None:
    """Day heads: a configured Ed25519 key (hex seed or PEM) signs; without one, a key derived
    from the QR secret (stable: the same settings give the same key); a retired public key
    still verifies; an unreadable key stops start-up naming the variable."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.services.chain_keys import key_id_of

    base = {
        PREFIX + "DATABASE_URL": str(tmp_path / "gl.sqlite"),
        PREFIX + "SECRET_KEY": GOOD_SECRET,
    }
    derived = Settings.from_env(base).chain_keys()
    assert derived.key_id == Settings.from_env(base).chain_keys().key_id
    old = Ed25519PrivateKey.generate()
    old_public = old.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    new = Ed25519PrivateKey.generate()
    pem = new.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    env = {
        **base,
        PREFIX + "CHAIN_SIGNING_KEY": pem,
        PREFIX + "CHAIN_RETIRED_KEYS": old_public.hex(),
    }
    keys = Settings.from_env(env).chain_keys()
    assert keys.key_id == key_id_of(new.public_key()) != derived.key_id
    assert keys.verify(key_id_of(old.public_key()), b"payload", old.sign(b"payload").hex())
    assert not keys.verify(key_id_of(old.public_key()), b"payload", new.sign(b"payload").hex())
    assert [signing for _, _, signing in keys.published()] == [True, False]
    with pytest.raises(ConfigError, match="CHAIN_SIGNING_KEY"):
        Settings.from_env({**base, PREFIX + "CHAIN_SIGNING_KEY": "ab" * 31})
    with pytest.raises(ConfigError, match="CHAIN_RETIRED_KEYS"):
        Settings.from_env({**base, PREFIX + "CHAIN_RETIRED_KEYS": "nothex"})


def test_rotating_the_qr_keys_keeps_old_day_heads_verifiable(tmp_path: Path) -> None:
    """review19: without a configured chain key, the heads' key is derived from the current QR
    secret, so setting or rotating GREENLEDGER_QR_KEYS changes it; the heads signed before must
    still verify (verify's day_heads check, and /chain/key for check-receipt), with the new
    key signing new heads."""
    base = {
        PREFIX + "DATABASE_URL": str(tmp_path / "gl.sqlite"),
        PREFIX + "SECRET_KEY": GOOD_SECRET,
    }
    payload = b"2026-12-05:12:root"
    unset = Settings.from_env(base).chain_keys()
    first = Settings.from_env(base | {PREFIX + "QR_KEYS": f"a:{'o' * 32}"}).chain_keys()
    rotated = Settings.from_env(
        base | {PREFIX + "QR_KEYS": f"b:{'n' * 32}, a:{'o' * 32}"}
    ).chain_keys()
    assert len({unset.key_id, first.key_id, rotated.key_id}) == 3
    for old in (unset, first):
        assert rotated.verify(old.key_id, payload, old.sign(payload))
        assert first.verify(unset.key_id, payload, unset.sign(payload))
    assert [kid for kid, _, signing in rotated.published() if signing] == [rotated.key_id]
    assert {unset.key_id, first.key_id} <= {kid for kid, _, _ in rotated.published()}

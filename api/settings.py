"""Configuration, read once from the environment; bad values stop start-up with one line."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ledger.domain.rotation import ROTATION_WEEKS_MAX_DEFAULT, check_weeks_max
from ledger.domain.scan_codes import Keyring
from ledger.services.chain_keys import ChainKeys, KeyProblem
from ledger.store.engine import DEFAULT_DATABASE_URL, sqlite_path

PREFIX = "GREENLEDGER_"
SECRET_KEY_LENGTH_MIN = 32
TOKEN_TTL_SECONDS_DEFAULT = 12 * 3600


class ConfigError(Exception):
    """A configuration value that cannot work; the message is the one line shown."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    secret_key: str
    base_url: str
    redis_url: str | None = None
    qr_keys: tuple[tuple[str, str], ...] = ()
    token_ttl_seconds: int = TOKEN_TTL_SECONDS_DEFAULT
    # The sealer and projector loops in this process (GREENLEDGER_BACKGROUND=off: API workers
    # only, while `greenledger work` runs the loops in a process of its own).
    run_sealer: bool = True
    redis_prefix: str = "gl"
    rate_limit_per_minute: int = 600
    # Addresses/networks whose X-Forwarded-For is believed; empty: no forwarding header is.
    trusted_proxies: tuple[str, ...] = ()
    # The bearer token /metrics asks for; none: /metrics answers 404 (never public).
    metrics_token: str | None = None
    # Log lines as JSON objects (for a collector) or plain text (for a developer's terminal).
    log_format: str = "json"
    # Past one box (docs/SCALING.md): GREENLEDGER_REDIS_URL names one node of a Redis Cluster;
    # a streaming replica for reads that may lag; PgBouncer (transaction mode) in front.
    redis_cluster: bool = False
    replica_url: str | None = None
    pgbouncer: bool = False
    # The outbound webhook (notices): where each notice is POSTed, and the HMAC key it is
    # signed with; no URL, no webhook.
    webhook_url: str | None = None
    webhook_secret: str = ""
    # The transparency log's Ed25519 key (PEM or 64 hex digits of the private seed); empty:
    # one derived from the QR signing secret. Retired public keys still verify old heads.
    chain_signing_key: str = ""
    chain_retired_keys: tuple[str, ...] = ()
    # Inspector rotation (issue 19): at most this many weeks running on one compound.
    rotation_weeks_max: int = ROTATION_WEEKS_MAX_DEFAULT

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        database_url = env.get(PREFIX + "DATABASE_URL") or DEFAULT_DATABASE_URL
        _check_database_url(database_url)
        redis_cluster = _flag(env, "REDIS_CLUSTER")
        redis_url = _redis_url(env.get(PREFIX + "REDIS_URL") or None, redis_cluster)
        webhook_url, webhook_secret = _webhook(env)
        return cls(
            database_url=database_url,
            secret_key=_secret_key(env, database_url),
            base_url=_base_url(env.get(PREFIX + "BASE_URL") or "http://127.0.0.1:8000"),
            redis_url=redis_url,
            qr_keys=_qr_keys(env.get(PREFIX + "QR_KEYS") or ""),
            token_ttl_seconds=_positive_int(env, "TOKEN_TTL_SECONDS", TOKEN_TTL_SECONDS_DEFAULT),
            redis_prefix=_redis_prefix(env.get(PREFIX + "REDIS_PREFIX") or "gl"),
            rate_limit_per_minute=_whole(env, "RATE_LIMIT_PER_MINUTE", 600),
            trusted_proxies=_trusted_proxies(env.get(PREFIX + "TRUSTED_PROXIES") or ""),
            metrics_token=_metrics_token(env.get(PREFIX + "METRICS_TOKEN") or None),
            log_format=_log_format(env.get(PREFIX + "LOG_FORMAT") or "json"),
            run_sealer=_on_off(env, "BACKGROUND", default=True),
            redis_cluster=redis_cluster,
            replica_url=_replica_url(env.get(PREFIX + "REPLICA_URL") or None, database_url),
            pgbouncer=_flag(env, "PGBOUNCER"),
            rotation_weeks_max=_rotation_weeks_max(env),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            chain_signing_key=env.get(PREFIX + "CHAIN_SIGNING_KEY", "").strip(),
            chain_retired_keys=_chain_retired(env.get(PREFIX + "CHAIN_RETIRED_KEYS") or ""),
        )._checked_chain_keys()

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))

    def keyring(self) -> Keyring:
        """QR signing keys: GREENLEDGER_QR_KEYS if set, else one derived from the secret key."""
        if self.qr_keys:
            keys = {kid: secret.encode() for kid, secret in self.qr_keys}
            return Keyring(current_key_id=self.qr_keys[0][0], keys=keys)
        return Keyring(current_key_id="a", keys={"a": self.derived_key("qr:a")})

    def chain_keys(self) -> ChainKeys:
        """The day heads' keys: GREENLEDGER_CHAIN_SIGNING_KEY if set, else (demo, development)
        one derived from the current QR secret, as Services.build derives it by default; the
        keys derived from the other listed QR secrets still verify (a QR rotation keeps old
        heads)."""
        if self.chain_signing_key:
            return ChainKeys.from_config(self.chain_signing_key, self.chain_retired_keys)
        keyring = self.keyring()
        return ChainKeys.derived(
            keyring.keys[keyring.current_key_id],
            self.chain_retired_keys,
            # The QR secret used before GREENLEDGER_QR_KEYS was first set counts as listed.
            older=[*keyring.keys.values(), self.derived_key("qr:a")],
        )

    def _checked_chain_keys(self) -> Settings:
        try:
            self.chain_keys()
        except KeyProblem as problem:
            raise ConfigError(
                f"{PREFIX}CHAIN_SIGNING_KEY / {PREFIX}CHAIN_RETIRED_KEYS: {problem}"
            ) from None
        return self

    def derived_key(self, purpose: str) -> bytes:
        """Independent keys for JWTs and QR codes from the one secret."""
        return hmac.new(self.secret_key.encode(), purpose.encode(), hashlib.sha256).digest()


def _check_database_url(url: str) -> None:
    if "://" in url and not url.startswith(("postgresql://", "postgres://", "sqlite://")):
        raise ConfigError(
            f"{PREFIX}DATABASE_URL must be an SQLite file path or a postgresql:// URL, got {url!r}"
        )


def _secret_key(env: Mapping[str, str], database_url: str) -> str:
    key = env.get(PREFIX + "SECRET_KEY")
    if key:
        if len(key) < SECRET_KEY_LENGTH_MIN:
            raise ConfigError(
                f"{PREFIX}SECRET_KEY must be at least {SECRET_KEY_LENGTH_MIN} characters"
            )
        return key
    if database_url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f"{PREFIX}SECRET_KEY is required when the database is PostgreSQL")
    return _demo_secret(Path(sqlite_path(database_url)).with_suffix(".secret"))


def _demo_secret(path: Path) -> str:
    """Demo mode keeps a generated key beside the SQLite file, so codes survive restarts."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def served_base_url(env: Mapping[str, str], host: str, port: int) -> str:
    """What QR codes point at when serving on `host:port`: GREENLEDGER_BASE_URL if set, else
    that address (a wildcard host, which no phone can open, as 127.0.0.1)."""
    if env.get(PREFIX + "BASE_URL"):
        return _base_url(env[PREFIX + "BASE_URL"])
    shown = "127.0.0.1" if host in WILDCARD_HOSTS else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"  # an IPv6 address
    return _base_url(f"http://{shown}:{port}")


WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 (names, not a bind)


def _base_url(url: str) -> str:
    if not url.startswith(("http://", "https://")) or " " in url:
        raise ConfigError(f"{PREFIX}BASE_URL must be an http:// or https:// URL, got {url!r}")
    return url.rstrip("/")


def _redis_url(url: str | None, cluster: bool = False) -> str | None:
    if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"{PREFIX}REDIS_URL must be a redis:// URL, got {url!r}")
    if cluster:
        if url is None or url.startswith("unix://"):
            raise ConfigError(
                f"{PREFIX}REDIS_CLUSTER=1 needs {PREFIX}REDIS_URL=redis://HOST:PORT "
                "(any node of the cluster)"
            )
        if urlsplit(url).path.strip("/") not in ("", "0"):
            raise ConfigError(f"{PREFIX}REDIS_URL: a Redis Cluster has only database 0")
    return url


def _replica_url(url: str | None, database_url: str) -> str | None:
    if url is None:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f"{PREFIX}REPLICA_URL must be a postgresql:// URL, got {url!r}")
    if not database_url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f"{PREFIX}REPLICA_URL needs a PostgreSQL {PREFIX}DATABASE_URL")
    return url


def _flag(env: Mapping[str, str], name: str) -> bool:
    text = (env.get(PREFIX + name) or "").strip().lower()
    if text in ("", "0", "false", "no"):
        return False
    if text in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{PREFIX}{name} must be 1 or 0, got {text!r}")


WEBHOOK_SECRET_LENGTH_MIN = 32


def _webhook(env: Mapping[str, str]) -> tuple[str | None, str]:
    """GREENLEDGER_WEBHOOK_URL (http:// or https://) needs GREENLEDGER_WEBHOOK_SECRET, the key
    of the HMAC every delivery is signed with (32+ characters, shared with the receiver)."""
    url = env.get(PREFIX + "WEBHOOK_URL") or None
    secret = env.get(PREFIX + "WEBHOOK_SECRET") or ""
    if url is None:
        return None, ""
    if not url.startswith(("http://", "https://")) or " " in url:
        raise ConfigError(f"{PREFIX}WEBHOOK_URL must be an http:// or https:// URL, got {url!r}")
    if len(secret) < WEBHOOK_SECRET_LENGTH_MIN:
        raise ConfigError(
            f"{PREFIX}WEBHOOK_SECRET must be at least {WEBHOOK_SECRET_LENGTH_MIN} characters "
            f"when {PREFIX}WEBHOOK_URL is set"
        )
    return url, secret


def _redis_prefix(prefix: str) -> str:
    if not prefix.replace("_", "").replace("-", "").isalnum() or len(prefix) > 32:
        raise ConfigError(f"{PREFIX}REDIS_PREFIX must be up to 32 letters, digits, _ or -")
    return prefix


def _qr_keys(text: str) -> tuple[tuple[str, str], ...]:
    """`kid:secret,kid2:secret2`; the first signs, all verify (for rotation)."""
    keys: list[tuple[str, str]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        kid, _, secret = item.partition(":")
        if not kid.isalnum() or len(secret) < SECRET_KEY_LENGTH_MIN:
            raise ConfigError(
                f"{PREFIX}QR_KEYS entries are KEYID:SECRET with an alphanumeric key id "
                f"and a secret of {SECRET_KEY_LENGTH_MIN}+ characters"
            )
        keys.append((kid, secret))
    return tuple(keys)


def _chain_retired(text: str) -> tuple[str, ...]:
    """Comma-separated public keys (64 hex digits each) of retired signing keys."""
    return tuple(filter(None, (part.strip() for part in text.split(","))))


def _trusted_proxies(text: str) -> tuple[str, ...]:
    """`127.0.0.1,10.0.0.0/8`: the proxies (addresses or networks) allowed to say, in
    X-Forwarded-For, who their client is. Anyone else's header is ignored."""
    proxies: list[str] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(
                f"{PREFIX}TRUSTED_PROXIES entries are IP addresses or networks "
                f"(like 127.0.0.1 or 10.0.0.0/8), got {item!r}"
            ) from None
        proxies.append(item)
    return tuple(proxies)


def _metrics_token(token: str | None) -> str | None:
    if token is not None and (len(token) < SECRET_KEY_LENGTH_MIN or not token.isprintable()):
        raise ConfigError(
            f"{PREFIX}METRICS_TOKEN must be at least {SECRET_KEY_LENGTH_MIN} printable characters"
        )
    if token is not None and " " in token:
        raise ConfigError(f"{PREFIX}METRICS_TOKEN must not contain spaces")
    return token


def _log_format(text: str) -> str:
    if text not in ("json", "text"):
        raise ConfigError(f"{PREFIX}LOG_FORMAT must be json or text, got {text!r}")
    return text


def _on_off(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    text = (env.get(PREFIX + name) or "").strip().lower()
    if not text:
        return default
    if text not in ("on", "off"):
        raise ConfigError(f"{PREFIX}{name} must be on or off, got {text!r}")
    return text == "on"


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number, 0 allowed (0 turns the limit off, e.g. for a benchmark)."""
    text = env.get(PREFIX + name)
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit()):
        raise ConfigError(f"{PREFIX}{name} must be a whole number, got {text!r}")
    return int(text)


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(PREFIX + name)
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ConfigError(f"{PREFIX}{name} must be a positive whole number, got {text!r}")
    return int(text)


def _rotation_weeks_max(env: Mapping[str, str]) -> int:
    weeks = _positive_int(env, "ROTATION_WEEKS_MAX", ROTATION_WEEKS_MAX_DEFAULT)
    try:
        return check_weeks_max(weeks)
    except ValueError as error:
        raise ConfigError(f"{PREFIX}ROTATION_WEEKS_MAX: {error}") from error

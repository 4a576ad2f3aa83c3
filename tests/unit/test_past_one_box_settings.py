"""The settings of issue 17, item 6: a Redis Cluster, a replica, PgBouncer."""

from __future__ import annotations

import pytest

from api.settings import ConfigError, Settings
from ledger.store.engine import HardenedPostgresEngine, engine_from_url
from ledger.store.replica import REPLICA

PG = "postgresql://gl@db.example:5432/greenledger"
KEY = "k" * 40


def _settings(**env: str) -> Settings:
    return Settings.from_env(
        {"GREENLEDGER_DATABASE_URL": PG, "GREENLEDGER_SECRET_KEY": KEY}
        | {f"GREENLEDGER_{name}": value for name, value in env.items()}
    )


def test_the_defaults_are_one_box() -> None:
    settings = _settings()
    assert (settings.redis_cluster, settings.replica_url, settings.pgbouncer) == (
        False,
        None,
        False,
    )


def test_each_setting_is_read() -> None:
    settings = _settings(
        REDIS_URL="redis://10.0.0.5:7000",
        REDIS_CLUSTER="1",
        REPLICA_URL="postgresql://gl@replica.example:5432/greenledger",
        PGBOUNCER="true",
    )
    assert settings.redis_cluster
    assert settings.pgbouncer
    assert settings.replica_url == "postgresql://gl@replica.example:5432/greenledger"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"REDIS_CLUSTER": "1"}, "GREENLEDGER_REDIS_CLUSTER=1 needs"),
        ({"REDIS_CLUSTER": "1", "REDIS_URL": "redis://h:7000/3"}, "only database 0"),
        ({"REDIS_CLUSTER": "maybe", "REDIS_URL": "redis://h:7000"}, "REDIS_CLUSTER must be"),
        ({"REPLICA_URL": "mysql://replica"}, "REPLICA_URL must be a postgresql://"),
        ({"PGBOUNCER": "2"}, "PGBOUNCER must be 1 or 0"),
    ],
)
def test_a_bad_value_stops_start_up_naming_it(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        _settings(**env)


def test_a_replica_needs_a_postgresql_primary() -> None:
    with pytest.raises(ConfigError, match="needs a PostgreSQL"):
        Settings.from_env(
            {"GREENLEDGER_DATABASE_URL": "var/x.sqlite", "GREENLEDGER_REPLICA_URL": PG}
        )


# Piccolo asks the server for its version when an engine is made; nothing listens on port 1.
@pytest.mark.filterwarnings("ignore:.*Unable to fetch server version")
def test_the_engine_turns_the_statement_cache_off_behind_pgbouncer_for_both_pools() -> None:
    url = "postgresql://gl@127.0.0.1:1/greenledger"
    engine = engine_from_url(url, replica_url=url.replace("/greenledger", "/r"), pgbouncer=True)
    assert isinstance(engine, HardenedPostgresEngine)
    replica = engine.extra_nodes[REPLICA]
    assert engine.config["statement_cache_size"] == 0
    assert replica.config["statement_cache_size"] == 0
    direct = engine_from_url(url)
    assert "statement_cache_size" not in direct.config
    assert direct.extra_nodes == {}  # type: ignore[attr-defined]

"""`[bus]` and `[store] url` in loglens.toml, and `--role`: every mistake named with how to write it."""

from __future__ import annotations

from pathlib import Path

import pytest

from loglens.bus.settings import BusSettings
from loglens.config import Config, parse_config
from loglens.daemon import check_role
from loglens.errors import ConfigError, LoglensError


def test_a_bus_and_a_shared_store_are_read() -> None:
    config = parse_config(
        {
            "bus": {"url": "nats://a:4222,nats://b:4222", "partitions": 32, "lease_ttl": 3},
            "store": {"url": "postgresql://loglens@db/loglens"},
        }
    )
    assert config.bus == BusSettings(url="nats://a:4222,nats://b:4222", partitions=32, lease_ttl=3.0)
    assert config.store_url == "postgresql://loglens@db/loglens"
    assert parse_config({}).bus is None


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ({}, "url must be a NATS address"),
        ({"url": "http://x"}, "url must be a NATS address"),
        ({"url": "nats://x", "partitions": 0}, "partitions must be a whole number"),
        ({"url": "nats://x", "partitions": 5000}, "partitions must be a whole number"),
        ({"url": "nats://x", "lease_ttl": 0.2}, "lease_ttl must be a number ≥ 1"),
        ({"url": "nats://x", "stream": "a b"}, "stream must be a name"),
        ({"url": "nats://x", "subject_prefix": "a.>"}, "subject_prefix must be a name"),
        ({"url": "nats://x", "partitons": 4}, "no setting 'partitons'"),
    ],
)
def test_bus_mistakes_are_config_errors(table: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        parse_config({"bus": table}, Path("x.toml"))


def test_a_store_url_must_be_postgresql() -> None:
    with pytest.raises(ConfigError, match="PostgreSQL URL"):
        parse_config({"store": {"url": "mysql://x"}})


def test_roles_other_than_all_need_a_bus() -> None:
    assert check_role("all", Config()) == "all"
    with pytest.raises(LoglensError, match=r"\[bus\] url"):
        check_role("process", Config())
    with pytest.raises(LoglensError, match="choose one of"):
        check_role("worker", Config())
    bus = parse_config({"bus": {"url": "nats://x"}})
    assert [check_role(role, bus) for role in ("ingest", "process", "query")] == [
        "ingest",
        "process",
        "query",
    ]

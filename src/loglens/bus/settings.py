"""`[bus]` in loglens.toml: where the scale-out nodes meet (NATS JetStream) and how work is split."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loglens.errors import ConfigError

__all__ = ["BUS_KEYS", "BusSettings", "parse_bus"]

BUS_KEYS = ("url", "stream", "subject_prefix", "partitions", "lease_ttl", "max_message_bytes", "max_age_days")


@dataclass(frozen=True, slots=True)
class BusSettings:
    """Args:
    url: the NATS server (`nats://host:4222`; several comma-separated for a cluster).
    stream: the JetStream stream holding records on their way to process nodes.
    subject_prefix: records of service S in partition P go to `<prefix>.pPPP.<S>`.
    partitions: how many parts services are split into (fixed for the life of the stream).
    lease_ttl: seconds after which a silent process node's partitions are taken over.
    max_message_bytes: records per message are cut to stay under this (NATS refuses > max_payload).
    max_age_days: how long the stream keeps records already stored (a replay window; 0: forever).
    """

    url: str
    stream: str = "LOGLENS"
    subject_prefix: str = "loglens.records"
    partitions: int = 16
    lease_ttl: float = 6.0
    max_message_bytes: int = 512 * 1024
    max_age_days: float = 7.0


def parse_bus(table: dict[str, Any], where: str) -> BusSettings:
    """Reads `[bus]`, naming any key that is wrong."""
    unknown = sorted(set(table) - set(BUS_KEYS))
    if unknown:
        raise ConfigError(f"{where}: [bus] has no setting {unknown[0]!r}; known: {', '.join(BUS_KEYS)}")
    url = table.get("url")
    if not isinstance(url, str) or not url.startswith(("nats://", "tls://")):
        raise ConfigError(f'{where}: [bus] url must be a NATS address such as "nats://127.0.0.1:4222"')
    values: dict[str, Any] = {"url": url}
    for key in ("stream", "subject_prefix"):
        if key in table:
            value = table[key]
            if not isinstance(value, str) or not value or any(c in value for c in " *>\t"):
                raise ConfigError(f"{where}: [bus] {key} must be a name without spaces or wildcards")
            values[key] = value
    for key, least, most in (("partitions", 1, 1000), ("max_message_bytes", 1024, 4 * 2**20)):
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
                raise ConfigError(f"{where}: [bus] {key} must be a whole number from {least} to {most}")
            values[key] = value
    for key, lowest in (("lease_ttl", 1.0), ("max_age_days", 0.0)):
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < lowest:
                raise ConfigError(f"{where}: [bus] {key} must be a number ≥ {lowest:g}")
            values[key] = float(value)
    return BusSettings(**values)

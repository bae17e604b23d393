"""`[server]` in loglens.toml: the daemon's bounds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loglens.errors import ConfigError
from loglens.inbox import DEFAULT_MAX_RECORDS

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Args:
    inbox_records: records (or lines) pushed and not yet stored, at most; past it pushes get 429.
    max_body_bytes: largest request body, after decompression; past it 413.
    """

    inbox_records: int = DEFAULT_MAX_RECORDS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES


def parse_server(table: dict[str, Any], where: str) -> ServerSettings:
    """Reads `[server]`, naming any key that is wrong."""
    values: dict[str, int] = {}
    for key, value in table.items():
        if key not in ("inbox_records", "max_body_bytes"):
            known = "inbox_records, max_body_bytes"
            raise ConfigError(f"{where}: [server] has no setting {key!r}; known: {known}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}: [server] {key} must be a whole number ≥ 1")
        values[key] = value
    return ServerSettings(**values)

"""`[server]` in loglens.toml: the daemon's bounds and access tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loglens.errors import ConfigError
from loglens.inbox import DEFAULT_MAX_RECORDS
from loglens.server.auth import Token, parse_tokens

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
SERVER_KEYS = ("inbox_records", "max_body_bytes", "tokens")


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Args:
    inbox_records: records (or lines) pushed and not yet stored, at most; past it pushes get 429.
    max_body_bytes: largest request body, after decompression; past it 413.
    tokens: access tokens (`[[server.tokens]]`); none: only this machine may connect.
    """

    inbox_records: int = DEFAULT_MAX_RECORDS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    tokens: tuple[Token, ...] = ()


def parse_server(table: dict[str, Any], where: str) -> ServerSettings:
    """Reads `[server]`, naming any key that is wrong."""
    values: dict[str, int] = {}
    tokens: tuple[Token, ...] = ()
    for key, value in table.items():
        if key not in SERVER_KEYS:
            raise ConfigError(f"{where}: [server] has no setting {key!r}; known: {', '.join(SERVER_KEYS)}")
        if key == "tokens":
            tokens = parse_tokens(value, where)
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}: [server] {key} must be a whole number ≥ 1")
        values[key] = value
    return ServerSettings(**values, tokens=tokens)

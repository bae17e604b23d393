"""`[server]` in loglens.toml: the daemon's bounds and access tokens."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from loglens.errors import ConfigError
from loglens.inbox import DEFAULT_MAX_RECORDS
from loglens.server.auth import Token, parse_tokens
from loglens.server.decoders import default_workers

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
SERVER_KEYS = (
    "inbox_records",
    "max_body_bytes",
    "decode_workers",
    "tokens",
    "audit_log",
    "tls_cert",
    "tls_key",
)
_PATHS = ("audit_log", "tls_cert", "tls_key")


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Args:
    inbox_records: records (or lines) pushed and not yet stored, at most; past it pushes get 429.
    max_body_bytes: largest request body, after decompression; past it 413.
    decode_workers: processes that decode big push bodies (0: the server decodes them itself).
    tokens: access tokens (`[[server.tokens]]`); none: only this machine may connect.
    audit_log: where every request is logged (default `audit.jsonl` beside the store; "off": nowhere).
    tls_cert, tls_key: PEM files: the daemon serves HTTPS (and the CLI trusts that certificate).
    """

    inbox_records: int = DEFAULT_MAX_RECORDS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    decode_workers: int = field(default_factory=default_workers)
    tokens: tuple[Token, ...] = ()
    audit_log: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None


def parse_server(table: dict[str, Any], where: str) -> ServerSettings:
    """Reads `[server]`, naming any key that is wrong."""
    values: dict[str, Any] = {}
    tokens: tuple[Token, ...] = ()
    for key, value in table.items():
        if key not in SERVER_KEYS:
            raise ConfigError(f"{where}: [server] has no setting {key!r}; known: {', '.join(SERVER_KEYS)}")
        if key == "tokens":
            tokens = parse_tokens(value, where)
            continue
        if key in _PATHS:
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{where}: [server] {key} must be a file path")
            values[key] = os.path.expanduser(value)
            continue
        least = 0 if key == "decode_workers" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(f"{where}: [server] {key} must be a whole number ≥ {least}")
        values[key] = value
    if ("tls_cert" in values) != ("tls_key" in values):
        raise ConfigError(f"{where}: [server] tls_cert and tls_key go together (PEM certificate and key)")
    return ServerSettings(**values, tokens=tokens)

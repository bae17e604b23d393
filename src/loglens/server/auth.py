"""Access tokens: who may push logs, who may read them, who may change the daemon.

Tokens come from `[[server.tokens]]` in loglens.toml, each with a name and scopes: `ingest` (the push
endpoints of every shipper protocol), `read` (the query API, the live channel, /metrics) and `admin`
(everything, and what changes the daemon's settings). Without tokens the daemon serves only this
machine; with them, every request must carry one — on loopback too, since a token that is optional
protects nothing.

A shipper sends its credentials its own way, and none can be asked to change, so a token is taken
from any of: `Authorization: Bearer T` (OTLP exporters, Vector, Loki clients), `Authorization: Basic`
with T as the password (Loki and Elasticsearch clients, Fluent Bit's http_passwd), `Authorization:
ApiKey T` (Elasticsearch), `Authorization: Splunk T` (HEC), `DD-API-KEY: T` (Datadog agents), `X-API-Key:
T`, or `?token=T` (a browser's EventSource and WebSocket cannot set headers).

A request acts as a tenant (docs/api.md, Tenants) when its token is bound to one, or when it names
one in `X-Loglens-Tenant` or `X-Scope-OrgID` (Loki's header, so Promtail and Alloy work unchanged);
a token bound to a tenant cannot name another. No tenant at all is the operator's view: every
tenant's records, as with a single tenant.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from fastapi import HTTPException, WebSocketException
from starlette.requests import HTTPConnection

from loglens.config_tables import table_entries
from loglens.errors import ConfigError
from loglens.tenants import (
    LOKI_TENANT_HEADER,
    TENANT_HEADER,
    TENANT_RULE,
    config_tenant,
    is_tenant_name,
)

SCOPES = ("ingest", "read", "admin")
MIN_TOKEN_CHARS = 16
"""Shorter secrets are refused at start: a guessable token is worse than none (it looks safe)."""


@dataclass(frozen=True, slots=True)
class Token:
    """One access token: its name (in logs and the audit trail, never the secret) and its scopes."""

    name: str
    secret: str
    scopes: frozenset[str]
    rate: float | None = None
    """Requests per second this token may make (a burst of twice that); None: no limit."""
    tenant: str | None = None
    """The tenant this token acts as (its pushes are that tenant's, its reads see only them); None:
    any tenant the request names in its tenant header, or the operator's view of all of them."""

    def allows(self, scope: str) -> bool:
        """`admin` holds every scope."""
        return scope in self.scopes or "admin" in self.scopes


TOKEN_KEYS = ("name", "token", "token_env", "scopes", "rate", "tenant")


def parse_tokens(entries: object, where: str) -> tuple[Token, ...]:
    """`[[server.tokens]]` → tokens: `name`, `scopes` and the secret as `token` or, better, the name
    of an environment variable holding it (`token_env`), so it stays out of the file; optionally
    `rate` and the `tenant` the token is bound to."""
    tokens: list[Token] = []
    for here, entry in table_entries(entries, where, "server.tokens", TOKEN_KEYS):
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{here} needs a name")
        secret = _secret(entry, f"{here} ({name})")
        scopes = entry.get("scopes")
        if not isinstance(scopes, list) or not scopes or not all(s in SCOPES for s in scopes):
            raise ConfigError(f"{here} ({name}): scopes must be a list of {', '.join(SCOPES)}")
        if any(t.name == name for t in tokens):
            raise ConfigError(f"{here}: a token named {name!r} is already defined")
        rate = entry.get("rate")
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0):
            raise ConfigError(f"{here} ({name}): rate must be requests per second, a number > 0")
        tenant = config_tenant(entry["tenant"], f"{here} ({name})") if "tenant" in entry else None
        tokens.append(
            Token(name, secret, frozenset(scopes), float(rate) if rate is not None else None, tenant)
        )
    return tuple(tokens)


def _secret(entry: dict[str, Any], here: str) -> str:
    if ("token" in entry) == ("token_env" in entry):
        raise ConfigError(f'{here}: give the secret as token = "…" or token_env = "VARIABLE" (one)')
    if "token_env" in entry:
        variable = entry["token_env"]
        secret = os.environ.get(str(variable), "")
        if not secret:
            raise ConfigError(f"{here}: the environment variable {variable} is not set")
    else:
        secret = entry["token"]
    if not isinstance(secret, str) or len(secret) < MIN_TOKEN_CHARS:
        raise ConfigError(f"{here}: a token must be at least {MIN_TOKEN_CHARS} characters")
    return secret


def presented_secrets(headers: Mapping[str, str], query: Mapping[str, str]) -> list[str]:
    """Every secret a request carries, in any of the forms shippers send (module docstring)."""
    found: list[str] = []
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() in ("bearer", "apikey", "splunk", "token") and value:
        found.append(value)
        if scheme.lower() == "apikey":
            found.extend(_api_key_parts(value))
    elif scheme.lower() == "basic" and value:
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        found.extend(part for part in (password, user) if part)
    for header in ("dd-api-key", "x-api-key"):
        if headers.get(header):
            found.append(headers[header])
    if query.get("token"):
        found.append(query["token"])
    return found


def _api_key_parts(value: str) -> list[str]:
    """Elasticsearch's ApiKey is base64 of `id:key`: the key part may be the token too."""
    try:
        key_id, _, key = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return []
    return [part for part in (key, key_id) if part]


class Authenticator:
    """Checks a request's secrets against the configured tokens (none configured: everyone may)."""

    def __init__(self, tokens: Iterable[Token], clock: Callable[[], float] = time.monotonic) -> None:
        self.tokens = tuple(tokens)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, token: Token) -> float:
        """Spends one request of the token's rate: 0 when allowed, else the seconds until one is
        (a token bucket holding up to two seconds' worth)."""
        if token.rate is None:
            return 0.0
        now = self._clock()
        capacity = 2 * token.rate
        with self._lock:
            level, then = self._buckets.get(token.name, (capacity, now))
            level = min(capacity, level + (now - then) * token.rate)
            if level >= 1:
                self._buckets[token.name] = (level - 1, now)
                return 0.0
            self._buckets[token.name] = (level, now)
            return (1 - level) / token.rate

    @property
    def enabled(self) -> bool:
        """True when tokens are configured (and so required)."""
        return bool(self.tokens)

    def identify(self, secrets: Iterable[str]) -> Token | None:
        """The token one of `secrets` is (compared in constant time), if any."""
        for secret in secrets:
            for token in self.tokens:
                if hmac.compare_digest(secret.encode(), token.secret.encode()):
                    return token
        return None


_UNSETTLED = object()
TENANT_HEADERS = (TENANT_HEADER.lower(), LOKI_TENANT_HEADER.lower())
"""Where a request names its tenant: loglens's own header, or Loki's (Promtail, Alloy, Grafana)."""


class TenantRefused(Exception):
    """A request's tenant cannot be granted: 400 (a name that is not one) or 403 (another tenant
    than its token's)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def requested_tenant(headers: Mapping[str, str]) -> str | None:
    """The tenant a request names in its headers (None: it names none); a name that is not one, or
    the two headers naming different tenants, is refused (400)."""
    named = {headers[header] for header in TENANT_HEADERS if header in headers}
    if not named:
        return None
    if len(named) > 1:
        raise TenantRefused(400, "X-Loglens-Tenant and X-Scope-OrgID name different tenants: send one")
    tenant = named.pop()
    if not is_tenant_name(tenant):
        raise TenantRefused(400, f"{tenant[:80]!r} is not a tenant name: use {TENANT_RULE}")
    return tenant


def resolve_tenant(token: Token | None, requested: str | None) -> str | None:
    """The tenant a request acts as: its token's, when the token is bound to one (naming another is
    refused, 403); else the one it names; else None, the operator's view of every tenant."""
    if token is not None and token.tenant is not None:
        if requested is not None and requested != token.tenant:
            raise TenantRefused(
                403, f"the token {token.name!r} is bound to the tenant {token.tenant!r}, not {requested!r}"
            )
        return token.tenant
    return requested


def request_tenant(connection: HTTPConnection) -> str | None:
    """The tenant of a request (see `resolve_tenant`), worked out once per request. The token is the
    one `require` found, or is identified here when no `require` ran first, so a token bound to a
    tenant is never taken for the operator's view."""
    settled = getattr(connection.state, "tenant", _UNSETTLED)
    if settled is not _UNSETTLED:
        return cast(str | None, settled)
    token: Token | None = getattr(connection.state, "token", None)
    authenticator: Authenticator = connection.app.state.authenticator
    if token is None and authenticator.enabled:
        token = authenticator.identify(presented_secrets(connection.headers, connection.query_params))
    try:
        tenant = resolve_tenant(token, requested_tenant(connection.headers))
    except TenantRefused as exc:
        if connection.scope["type"] == "websocket":
            raise WebSocketException(code=1008, reason=exc.reason[:120]) from None
        raise HTTPException(exc.status, exc.reason) from None
    connection.state.tenant = tenant
    return tenant


def require(scope: str) -> Callable[[HTTPConnection], Token | None]:
    """A FastAPI dependency: lets the request through when auth is off or its token holds `scope`;
    else 401 (no known token) or 403 (a token without the scope), or a WebSocket close 1008. It also
    settles the request's tenant (`request_tenant`): 400 or 403 when it cannot be granted."""

    def check(connection: HTTPConnection) -> Token | None:
        authenticator: Authenticator = connection.app.state.authenticator
        if not authenticator.enabled:
            request_tenant(connection)
            return None
        secrets = presented_secrets(connection.headers, connection.query_params)
        token = authenticator.identify(secrets)
        if token is not None and token.allows(scope):
            connection.state.token = token
            wait = authenticator.take(token)
            if wait > 0:
                reason = f"the token {token.name!r} is over its rate of {token.rate:g} requests a second"
                if connection.scope["type"] == "websocket":
                    raise WebSocketException(code=1013, reason=reason)
                raise HTTPException(429, reason, headers={"Retry-After": str(max(1, round(wait + 0.5)))})
            request_tenant(connection)
            return token
        if token is None:
            status, reason = 401, f"a token with the {scope} scope is required (docs/api.md, Access)"
        else:
            status, reason = 403, f"the token {token.name!r} does not have the {scope} scope"
        if connection.scope["type"] == "websocket":
            raise WebSocketException(code=1008, reason=reason)
        raise HTTPException(status, reason, headers={"WWW-Authenticate": 'Bearer realm="loglens"'})

    return check

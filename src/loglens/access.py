"""One way for the MCP server and the terminal dashboard to read logs: the daemon's API. Over HTTP
to the daemon holding the store when one runs; else the same API served in-process on the store
opened read-only for the call (DuckDB lets one process hold a store, so nothing is kept open
between calls and `loglens ingest` or `loglens up` can take it).

Both paths run the same handlers, so an agent or a terminal sees the same JSON either way. What only
a running daemon has — live streams, host metrics, alert delivery, rules made through the API — is
refused without one with a sentence saying to start `loglens up`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loglens.alerts.engine import AlertEngine
from loglens.alerts.ledger import AlertLedger
from loglens.analysis.findings import ReplayCache
from loglens.client import DaemonClient, client_token, daemon_url, tenant_headers
from loglens.config import Config
from loglens.errors import LoglensError, QueryError
from loglens.store.duckdb import DuckDBStore

TIMEOUT_S = 120.0
NEEDS_DAEMON = "needs a running daemon: start `loglens up` (it holds the store and watches it live)"


class DaemonNeeded(LoglensError):
    """Asked for something only a running daemon has (live data, host metrics, writing rules)."""


@dataclass
class _Commits:
    commits: int = 0


@dataclass
class _Alerting:
    """The alerts as stored, read-only: listing works, acting needs the daemon."""

    engine: AlertEngine
    ledger: AlertLedger
    channels: tuple[str, ...] = ()

    def metrics(self) -> dict[str, Any]:
        return {"engine": dict(self.engine.counts), "open": len(self.engine.active)}


@dataclass
class StoreDaemon:
    """What the API's read handlers use of a daemon, made from a store opened read-only (see the
    module docstring); anything else they touch raises DaemonNeeded, answered 400 by the app."""

    store: DuckDBStore
    config: Config
    store_path: Path
    replays: ReplayCache = field(default_factory=ReplayCache)
    writer: _Commits = field(default_factory=_Commits)
    failure: BaseException | None = None
    started: float = field(default_factory=time.time)
    semantic_lock: threading.Lock = field(default_factory=threading.Lock)
    _alerting: _Alerting | None = None

    @property
    def alerting(self) -> _Alerting:
        if self._alerting is None:
            ledger = AlertLedger(self.store)
            engine = AlertEngine(self.config.alerts, ledger, lambda channels, notification: None)
            self._alerting = _Alerting(engine, ledger)
        return self._alerting

    def semantic_index(self) -> Any:
        from loglens.query.semantic import SemanticIndex

        return SemanticIndex(self.store, None)

    def __getattr__(self, name: str) -> Any:
        raise DaemonNeeded(f"this {NEEDS_DAEMON}")


class LogAccess:
    """The API of the daemon for `store_path` (see the module docstring). `get`/`post`/`delete`
    answer the JSON the API answers; an API refusal (4xx) raises QueryError with its sentence.
    `tenant`, when given, is sent with every call (the tenant header): the answers are that
    tenant's (docs/api.md, Tenants)."""

    def __init__(self, store_path: Path, config: Config, tenant: str | None = None) -> None:
        self.store_path = store_path
        self.config = config
        self.tenant = tenant

    @property
    def daemon_url(self) -> str | None:
        """The running daemon's URL, or None (checked at each call: a daemon may start or stop)."""
        return daemon_url(self.store_path)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params)

    def post(self, path: str, params: dict[str, Any] | None = None, body: object = None) -> Any:
        return self.request("POST", path, params, body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: object = None,
        tenant: str | None = None,
    ) -> Any:
        """One API call, to the daemon or in-process, as `tenant` (default: this access's)."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        tenant = tenant if tenant is not None else self.tenant
        url = self.daemon_url
        if url is not None:
            daemon = DaemonClient(url, client_token(self.config), self.config.server.tls_cert, tenant)
            return daemon.call(method, path, params, body)
        if not self.store_path.exists():
            raise LoglensError(
                f"no loglens store at {self.store_path}: ingest something first (`loglens ingest PATH`)"
            )
        from fastapi.testclient import TestClient

        from loglens.server.app import create_app

        store = DuckDBStore(self.store_path, read_only=True)
        try:
            app = create_app(StoreDaemon(store, self.config, self.store_path))  # type: ignore[arg-type]
            with TestClient(app, raise_server_exceptions=False) as client:
                # In-process calls act as the user running loglens (the token check is for the network).
                headers = tenant_headers(client_token(self.config), tenant)
                answer = client.request(method, path, params=params, json=body, headers=headers)
        finally:
            store.close()
        return _answer(answer)


def _answer(answer: Any) -> Any:
    """The JSON of a response (httpx's, or the test client's own kind), or the refusal as an error."""
    if answer.status_code == 204:
        return None
    body = answer.json() if answer.content else None
    if answer.status_code < 400:
        return body
    reason = body.get("error", body.get("detail")) if isinstance(body, dict) else None
    if answer.status_code == 500 or not isinstance(reason, str):
        raise LoglensError(f"the API answered {answer.status_code}: {answer.text[:300]}")
    if NEEDS_DAEMON in reason:
        raise DaemonNeeded(reason)
    raise QueryError(reason)

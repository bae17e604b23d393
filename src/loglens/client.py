"""The CLI's way to a running daemon: while `loglens up` holds the store (its one writer), commands
ask it over HTTP instead of opening the file (DuckDB lets one process at a time have it)."""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from loglens.config import Config
from loglens.errors import LoglensError, QueryError
from loglens.store.base import StoredRecord
from loglens.tenants import TENANT_HEADER

DAEMON_FILE = "daemon.json"
TIMEOUT_S = 120.0


def running_daemon(store_path: Path) -> str | None:
    """The URL of the daemon serving `store_path`, when daemon.json names a live process for it."""
    info_path = store_path.parent / DAEMON_FILE
    try:
        info = json.loads(info_path.read_text())
        pid, url, store = int(info["pid"]), str(info["url"]), Path(info["store"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if store.resolve() != store_path.resolve():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # a daemon that died without cleaning up
    except PermissionError:
        pass  # alive, another user's
    return url


def client_token(config: Config) -> str | None:
    """The token the CLI shows the daemon: `$LOGLENS_TOKEN`, else the first `[[server.tokens]]` of
    the same loglens.toml that may read (the CLI runs beside the daemon, with its config)."""
    if os.environ.get("LOGLENS_TOKEN"):
        return os.environ["LOGLENS_TOKEN"]
    readers = [t for t in config.server.tokens if t.allows("read")]
    return readers[0].secret if readers else None


URL_ENV = "LOGLENS_URL"
"""A daemon elsewhere that commands ask instead of the local store: a scale-out query node."""


def websocket_ssl(url: str, tls_cert: str | None) -> ssl.SSLContext | None:
    """What a WebSocket client of the daemon trusts over `wss://`: the daemon's own certificate
    (`[server] tls_cert`) when it has one, as the HTTP client trusts it, else the system's
    authorities; None (no TLS) for `ws://`."""
    if not url.startswith("wss:"):
        return None
    return ssl.create_default_context(cafile=tls_cert) if tls_cert else ssl.create_default_context()


def daemon_url(store_path: Path) -> str | None:
    """The daemon commands ask: the one `$LOGLENS_URL` names, else the one holding `store_path`."""
    return os.environ.get(URL_ENV) or running_daemon(store_path)


def daemon_for(store_path: Path, config: Config) -> DaemonClient | None:
    """A client of the daemon commands ask (`daemon_url`), when there is one."""
    url = daemon_url(store_path)
    return DaemonClient(url, client_token(config), config.server.tls_cert) if url is not None else None


def stored_record(data: dict[str, Any]) -> StoredRecord:
    """A record from the API (`record_json` plus `id` and `raw`) as the printers take it."""
    ts = int(datetime.fromisoformat(str(data["ts"]).replace("Z", "+00:00")).timestamp() * 1000) * 10**6
    return StoredRecord(
        id=int(data.get("id") or 0),
        ts=ts,
        service=data["svc"],
        host=data.get("host"),
        pid=data.get("pid"),
        level=data["lvl"],
        message=data["msg"],
        raw=data.get("raw", data["msg"]),
        source=data.get("src", ""),
        template_id=data.get("tpl"),
        fields=data.get("fields") or None,
        parse_error=data.get("parse_error"),
        params=data.get("params"),
    )


def _bounds(since: str | None, until: str | None) -> dict[str, str]:
    """`since`/`until` as query parameters, left out when not given (the API's defaults)."""
    return {k: v for k, v in (("since", since), ("until", until)) if v is not None}


def tenant_headers(token: str | None, tenant: str | None) -> dict[str, str]:
    """The headers of a call made with `token` as `tenant` (docs/api.md, Tenants): either may be None."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if tenant is not None:
        headers[TENANT_HEADER] = tenant
    return headers


class DaemonClient:
    """Queries of a running daemon, answering as the store would: the same objects, and the same
    error sentences (the daemon's 4xx answers carry them)."""

    def __init__(
        self, url: str, token: str | None = None, tls_cert: str | None = None, tenant: str | None = None
    ) -> None:
        self.url = url
        self._headers = tenant_headers(token, tenant)
        # A daemon serving HTTPS with its own certificate ([server] tls_cert): the CLI beside it
        # trusts exactly that certificate.
        self._verify: bool | ssl.SSLContext = (
            ssl.create_default_context(cafile=tls_cert) if tls_cert else True
        )

    def logs(
        self,
        query: str,
        grep: str | None,
        level: str | None,
        services: Sequence[str],
        since: str | None,
        until: str | None,
        limit: int | None,
    ) -> list[StoredRecord]:
        """`GET /api/logs` with the CLI's filters (limit None: all)."""
        params: dict[str, Any] = {"q": query, "limit": limit or 0, "service": list(services)}
        for key, value in (("grep", grep), ("level", level), ("since", since), ("until", until)):
            if value is not None:
                params[key] = value
        data = self._get("/api/logs", params)
        return [stored_record(row) for row in data["records"]]

    def incidents(
        self, since: str | None, until: str | None, services: Sequence[str]
    ) -> list[dict[str, Any]]:
        """`GET /api/incidents`: the same objects as `loglens incidents --json`."""
        found: list[dict[str, Any]] = self._get(
            "/api/incidents", {"service": list(services), **_bounds(since, until)}
        )
        return found

    def patterns(
        self, since: str | None, until: str | None, services: Sequence[str], top: int
    ) -> list[dict[str, Any]]:
        """`GET /api/patterns`: the same objects as `loglens patterns --json`."""
        params = {"service": list(services), "top": top, **_bounds(since, until)}
        found: list[dict[str, Any]] = self._get("/api/patterns", params)
        return found

    def anomalies(
        self, since: str | None, until: str | None, services: Sequence[str], min_severity: str
    ) -> list[dict[str, Any]]:
        """`GET /api/anomalies`: the same objects as `loglens anomalies --json`."""
        params = {"service": list(services), "min_severity": min_severity, **_bounds(since, until)}
        found: list[dict[str, Any]] = self._get("/api/anomalies", params)
        return found

    def summary(self, services: Sequence[str], since: str | None, until: str | None) -> list[dict[str, Any]]:
        """`GET /api/summary`: the same objects as `loglens summary --json`."""
        found: list[dict[str, Any]] = self._get(
            "/api/summary", {"service": list(services), **_bounds(since, until)}
        )
        return found

    def explain(self, incident_id: str, context: int) -> dict[str, Any]:
        """`GET /api/incidents/{id}/explain`: the object `loglens explain --json` prints (an unknown
        id raises the CLI's own sentence, which the daemon's 404 carries)."""
        found: dict[str, Any] = self._get(
            f"/api/incidents/{quote(incident_id, safe='')}/explain", {"context": context}
        )
        return found

    def diff(
        self,
        a_range: str | None,
        b_range: str | None,
        a_source: str | None,
        b_source: str | None,
        services: Sequence[str],
        top: int,
    ) -> dict[str, Any]:
        """`GET /api/diff`: what `loglens diff --json` prints, plus `totals` (the daemon takes `now`
        for relative ranges)."""
        sides = (("a", a_range), ("b", b_range), ("a_source", a_source), ("b_source", b_source))
        params = {"service": list(services), "top": top, **{k: v for k, v in sides if v is not None}}
        found: dict[str, Any] = self._get("/api/diff", params)
        return found

    def metric_series(
        self, names: Iterable[str], since: str | None, until: str | None
    ) -> list[dict[str, Any]]:
        """`GET /api/metrics/series`: the daemon's `[[metrics]]` rules (all, or those named) as
        `{"rule", "description", "group_by", "points"}`."""
        found: list[dict[str, Any]] = self._get(
            "/api/metrics/series", {"name": list(names), **_bounds(since, until)}
        )
        return found

    def sql(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]], list[list[str]]]:
        """`POST /api/sql`: column names, rows as JSON values, and rows as table text."""
        try:
            answer = httpx.post(
                self.url + "/api/sql",
                json={"sql": statement},
                headers=self._headers,
                timeout=TIMEOUT_S,
                verify=self._verify,
            )
        except httpx.HTTPError as exc:
            raise LoglensError(f"the daemon at {self.url} did not answer ({exc})") from None
        data = self._checked(answer)
        return list(data["columns"]), [tuple(row) for row in data["rows"]], data["text"]

    def call(self, method: str, path: str, params: dict[str, Any] | None = None, body: object = None) -> Any:
        """Any API call (the newer commands' way): its JSON answer, None for a 204; a refusal (4xx)
        as the error the local path would raise."""
        try:
            answer = httpx.request(
                method,
                self.url + path,
                params=params,
                json=body,
                headers=self._headers,
                timeout=TIMEOUT_S,
                verify=self._verify,
            )
        except httpx.HTTPError as exc:
            raise LoglensError(
                f"the daemon at {self.url} did not answer ({exc}); is `loglens up` running?"
            ) from None
        if answer.status_code in (201, 204):
            return answer.json() if answer.status_code == 201 else None
        return self._checked(answer)

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        try:
            answer = httpx.get(
                self.url + path, params=params, headers=self._headers, timeout=TIMEOUT_S, verify=self._verify
            )
        except httpx.HTTPError as exc:
            raise LoglensError(
                f"the daemon at {self.url} did not answer ({exc}); is `loglens up` running?"
            ) from None
        return self._checked(answer)

    def _checked(self, answer: httpx.Response) -> Any:
        """The answer's JSON; a refusal (4xx) as the error the store itself would have raised."""
        if answer.status_code == 200:
            return answer.json()
        reason = _reason(answer) if 400 <= answer.status_code < 500 else None
        if reason is not None:
            raise (QueryError if answer.status_code == 400 else LoglensError)(reason)
        raise LoglensError(f"the daemon at {self.url} answered {answer.status_code}: {answer.text[:200]}")


def _reason(answer: httpx.Response) -> str | None:
    """The sentence of an error answer: `{"error": …}` (loglens's own) or `{"detail": …}` (FastAPI's
    HTTPException); None when the body holds neither as text (such as a 422's list of problems)."""
    try:
        body = answer.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    reason = body.get("error", body.get("detail"))
    return reason if isinstance(reason, str) else None

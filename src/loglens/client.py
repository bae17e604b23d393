"""The CLI's way to a running daemon: while `loglens up` holds the store (its one writer), commands
ask it over HTTP instead of opening the file (DuckDB lets one process at a time have it)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from loglens.errors import LoglensError, QueryError
from loglens.store.base import StoredRecord

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


class DaemonClient:
    """Queries of a running daemon, answering as the store would."""

    def __init__(self, url: str) -> None:
        self.url = url

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
        params: dict[str, Any] = {"service": list(services)}
        params.update({k: v for k, v in (("since", since), ("until", until)) if v is not None})
        found: list[dict[str, Any]] = self._get("/api/incidents", params)  # type: ignore[assignment]
        return found

    def patterns(
        self, since: str | None, until: str | None, services: Sequence[str], top: int
    ) -> list[dict[str, Any]]:
        """`GET /api/patterns`: the same objects as `loglens patterns --json`."""
        params: dict[str, Any] = {"service": list(services), "top": top}
        params.update({k: v for k, v in (("since", since), ("until", until)) if v is not None})
        found: list[dict[str, Any]] = self._get("/api/patterns", params)  # type: ignore[assignment]
        return found

    def sql(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]], list[list[str]]]:
        """`POST /api/sql`: column names, rows as JSON values, and rows as table text."""
        try:
            answer = httpx.post(self.url + "/api/sql", json={"sql": statement}, timeout=TIMEOUT_S)
        except httpx.HTTPError as exc:
            raise LoglensError(f"the daemon at {self.url} did not answer ({exc})") from None
        data = self._checked(answer)
        return list(data["columns"]), [tuple(row) for row in data["rows"]], data["text"]

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = httpx.get(self.url + path, params=params, timeout=TIMEOUT_S)
        except httpx.HTTPError as exc:
            raise LoglensError(
                f"the daemon at {self.url} did not answer ({exc}); is `loglens up` running?"
            ) from None
        return self._checked(answer)

    def _checked(self, answer: httpx.Response) -> dict[str, Any]:
        if answer.status_code == 400:
            raise QueryError(answer.json().get("error", answer.text))
        if answer.status_code != 200:
            raise LoglensError(f"the daemon at {self.url} answered {answer.status_code}: {answer.text[:200]}")
        result: dict[str, Any] = answer.json()
        return result

"""`truth.json`: what a demo corpus holds and what went wrong in it, for tests, docs and scoring.

Services are named as loglens names them (the JSON `service` field; the program of a syslog line;
else the file's path, through `sources.file.service_from_path`), so that a detector's output can be
compared with it directly.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from loglens.demo.scenario import ScheduledIncident, Service, Template
from loglens.demo.services import SERVICES
from loglens.sources.file import service_from_path

VERSION = 1
_PROGRAM = re.compile(r"[^\[\s{]+")


def rfc3339(ts_ns: int) -> str:
    """`2026-01-12T02:17:00Z`, or with milliseconds when the moment has them."""
    moment = datetime.fromtimestamp(ts_ns // 10**9, UTC)
    ms = ts_ns // 1_000_000 % 1000
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{ms:03d}Z" if ms else f"{text}Z"


@dataclass(slots=True)
class FileStats:
    """What was written to one file: physical lines, events (a traceback is one), bytes, time span."""

    lines: int = 0
    events: int = 0
    bytes: int = 0
    first_ns: int | None = None
    last_ns: int | None = None


@dataclass(slots=True)
class DemoSummary:
    """What a `write_corpus` or `follow` run wrote."""

    start_ns: int
    end_ns: int
    files: dict[str, FileStats] = field(default_factory=dict)
    incidents: list[ScheduledIncident] = field(default_factory=list)
    injected: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Events made or changed by each incident, per file: (incident id, path) → count."""
    seconds: float = 0.0

    @property
    def lines(self) -> int:
        """Physical lines written."""
        return sum(f.lines for f in self.files.values())

    @property
    def events(self) -> int:
        """Events written (a multi-line event counts once)."""
        return sum(f.events for f in self.files.values())

    @property
    def bytes(self) -> int:
        """Bytes written."""
        return sum(f.bytes for f in self.files.values())


def _programs(templates: tuple[Template, ...]) -> set[str]:
    found = set()
    for t in templates:
        match = _PROGRAM.match(t.source)
        if match:
            found.add(match.group())
        found |= _programs(tuple(then for _, then in t.then))
    return found


def loglens_services(service: Service) -> list[str]:
    """The service names loglens gives this file's records."""
    if service.format == "syslog":
        return sorted(_programs(service.templates))
    if service.format == "json":
        return [service.name]
    return [service_from_path(service.path)]


def truth_document(
    summary: DemoSummary, seed: int, lines_requested: int | None, services: tuple[Service, ...] = SERVICES
) -> dict[str, Any]:
    """The contents of truth.json for what `summary` says was written."""
    by_path = {s.path: s for s in services}
    files: dict[str, Any] = {}
    for path, stats in sorted(summary.files.items()):
        service = by_path[path]
        files[path] = {
            "services": loglens_services(service),
            "format": service.format,
            "lines": stats.lines,
            "events": stats.events,
            "bytes": stats.bytes,
            "first_ts": rfc3339(stats.first_ns) if stats.first_ns is not None else None,
            "last_ts": rfc3339(stats.last_ns) if stats.last_ns is not None else None,
        }
    incidents = []
    for s in summary.incidents:
        incident = s.incident
        windows = {
            name: {"start": rfc3339(s.start_ns + round(a * 1e9)), "end": rfc3339(s.start_ns + round(b * 1e9))}
            for name, (a, b) in incident.windows().items()
        }
        injected = {path: n for (ident, path), n in sorted(summary.injected.items()) if ident == s.id}
        incidents.append(
            {
                "id": s.id,
                "kind": incident.kind,
                "title": incident.title,
                "description": incident.description,
                "start": rfc3339(s.start_ns),
                "end": rfc3339(s.end_ns),
                "services": list(incident.services),
                "root_cause": incident.root_cause,
                "windows": windows,
                "injected_events": injected,
            }
        )
    return {
        "generator": {"name": "loglens demo", "version": VERSION},
        "seed": seed,
        "start": rfc3339(summary.start_ns),
        "end": rfc3339(summary.end_ns),
        "hours": round((summary.end_ns - summary.start_ns) / 3.6e12, 4),
        "lines_requested": lines_requested,
        "timezone": "UTC",
        "totals": {"lines": summary.lines, "events": summary.events, "bytes": summary.bytes},
        "files": files,
        "incidents": incidents,
    }

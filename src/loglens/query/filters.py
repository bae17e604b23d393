"""The one way every front end (CLI, HTTP API, live views) turns its filter options into a query."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from loglens.query.language import (
    CompiledQuery,
    and_all,
    compile_query,
    grep_clause,
    level_clause,
    service_clause,
)
from loglens.query.timerange import time_clause


def record_filter(
    tz: tzinfo | None,
    query: str = "",
    grep: str | None = None,
    level: str | None = None,
    services: Sequence[str] = (),
    since: str | None = None,
    until: str | None = None,
) -> CompiledQuery:
    """The query and the shorthand options (`--grep`, `--level`, `--service`, `--since/--until`,
    times without a zone in `tz`), all of which must match."""
    parts = [compile_query(query)]
    if grep:
        parts.append(grep_clause(grep))
    if level:
        parts.append(level_clause(level))
    if services:
        parts.append(service_clause(list(services)))
    if since or until:
        parts.append(time_clause(since, until, tz=tz))
    return and_all(parts)

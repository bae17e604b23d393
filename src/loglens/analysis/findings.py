"""The detectors' findings over a stored range, as the views read them: one function per view, called
by the CLI on its own store and by the daemon's API on its store, so both print the same."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from loglens.analysis.detectors import SEVERITY_RANK
from loglens.analysis.report import anomaly_json
from loglens.analysis.watch import Replay, replay
from loglens.query.timerange import parse_time_bound
from loglens.store.base import Store

if TYPE_CHECKING:
    from loglens.config import Config


def replay_range(store: Store, config: Config, since: str | None, until: str | None) -> Replay:
    """The detectors run over the stored range given as `--since`/`--until` text (times without a
    zone in the config's timezone), as `loglens anomalies/incidents` run them."""
    tz = config.timezone
    since_ns = parse_time_bound(since, tz=tz) if since else None
    until_ns = parse_time_bound(until, tz=tz) if until else None
    return replay(store, since_ns, until_ns, config.analysis)


def template_texts(store: Store) -> dict[str, str]:
    """Every stored template's text by id: findings name templates by id, people read the text."""
    return {t.id: t.text for t in store.templates()}


def anomalies_view(
    store: Store,
    config: Config,
    since: str | None,
    until: str | None,
    services: Sequence[str],
    min_severity: str,
) -> list[dict[str, Any]]:
    """`loglens anomalies --json` and `GET /api/anomalies`: the anomalies at or above `min_severity`
    of `services` (all when empty), oldest first, each with its template's text."""
    found = replay_range(store, config, since, until).anomalies
    templates = template_texts(store)
    floor = SEVERITY_RANK[min_severity]
    return [
        anomaly_json(a) | {"template": templates.get(a.template_id or "")}
        for a in found
        if SEVERITY_RANK[a.severity] >= floor and (not services or a.service in services)
    ]

"""`loglens summary`: per service, what happened in a time range, and a health score.

Definitions (docs/cli.md repeats them):
- **errors**: distinct templates at error level or worse with at least one record in the range;
- **anomalies**: anomalies at warning or critical severity that began in the range (`loglens anomalies`);
- **restarts**: records whose template says a process started, restarted or became ready (the
  `RESTART` pattern below: "Started …", "Restarting …", "… ready.", "Server listening on …", "Booting");
- **health** = 100 − errors × 5 − anomalies × 10 − restarts × 3, clamped to 0–100.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loglens.analysis.detectors import Anomaly
from loglens.analysis.findings import replay_range
from loglens.formats.timestamp import to_iso_ms
from loglens.query.filters import record_filter
from loglens.record import Level
from loglens.store.base import RecordCounts, Store, TemplateCount

if TYPE_CHECKING:
    from loglens.config import Config

RESTART = re.compile(
    r"(?i)^(started|starting|restarting|booting|server listening on)\b"
    r"|\b(restart(ed|ing)? (worker|process|service|pool)|ready\.?$|started \S+ in \S+ seconds)"
)
"""Template text that marks a (re)start of a process."""


@dataclass(slots=True)
class ServiceSummary:
    """One service's figures over a range."""

    service: str
    total: int = 0
    levels: dict[str, int] = field(default_factory=dict)
    error_templates: int = 0
    anomalies: int = 0
    restarts: int = 0
    last_error: tuple[int, str] | None = None
    top: list[TemplateCount] = field(default_factory=list)

    @property
    def health(self) -> int:
        """100 − errors×5 − anomalies×10 − restarts×3, clamped to 0–100 (module docstring)."""
        return max(0, min(100, 100 - self.error_templates * 5 - self.anomalies * 10 - self.restarts * 3))


def is_restart(template: str) -> bool:
    """True when a template's text marks a process starting or restarting."""
    return bool(RESTART.search(template.strip()))


def summarise(
    counts: RecordCounts,
    anomalies: Iterable[Anomaly],
    last_errors: dict[str, tuple[int, str]],
    top: int = 3,
) -> list[ServiceSummary]:
    """Per-service summaries from the range's counts (`Store.counts`), its anomalies and each
    service's last error line (`Store.last_errors`); busiest service first."""
    services: dict[str, ServiceSummary] = {}
    for level in counts.levels:
        summary = services.setdefault(level.service, ServiceSummary(level.service))
        summary.total += level.count
        summary.levels[level.level] = summary.levels.get(level.level, 0) + level.count
    templates: dict[str, list[TemplateCount]] = {}
    for t in counts.templates:
        summary = services.setdefault(t.service, ServiceSummary(t.service))
        templates.setdefault(t.service, []).append(t)
        if Level.from_label(t.level) >= Level.ERROR:
            summary.error_templates += 1
        if is_restart(t.template):
            summary.restarts += t.count
    for anomaly in anomalies:
        if anomaly.severity != "info" and anomaly.service in services:
            services[anomaly.service].anomalies += 1
    for service, summary in services.items():
        summary.last_error = last_errors.get(service)
        summary.top = sorted(templates.get(service, []), key=lambda t: (-t.count, t.template_id))[:top]
    return sorted(services.values(), key=lambda s: (-s.total, s.service))


def summary_json(summary: ServiceSummary) -> dict[str, Any]:
    """One service's summary as `loglens summary --json` prints it (a contract: keys are stable)."""
    last_error = summary.last_error
    return {
        "service": summary.service,
        "total": summary.total,
        "levels": summary.levels,
        "error_templates": summary.error_templates,
        "anomalies": summary.anomalies,
        "restarts": summary.restarts,
        "health": summary.health,
        "last_error": {"ts": to_iso_ms(last_error[0]), "message": last_error[1]} if last_error else None,
        "top_patterns": [
            {"template_id": p.template_id, "template": p.template, "count": p.count} for p in summary.top
        ],
    }


def summary_view(
    store: Store, config: Config, services: Sequence[str], since: str | None, until: str | None
) -> list[dict[str, Any]]:
    """`loglens summary --json` and `GET /api/summary`: every service of the range (only `services`
    when given), busiest first."""
    where = record_filter(config.timezone, services=services, since=since, until=until)
    counts = store.counts(where.where, where.params)
    last_errors = store.last_errors(where.where, where.params)
    found = replay_range(store, config, since, until).anomalies
    return [summary_json(s) for s in summarise(counts, found, last_errors)]


def render_summary(summaries: Sequence[dict[str, Any]]) -> str:
    """`loglens summary` text, from the objects `summary_view` makes (so the daemon's answer prints
    the same): per service its health and figures, last error and top patterns."""
    if not summaries:
        return "no records in this range\n"
    out: list[str] = []
    for s in summaries:
        mix = ", ".join(
            f"{level} {count:,}" for level, count in sorted(s["levels"].items(), key=lambda kv: -kv[1])
        )
        out.append(f"{s['service']:<16} health {s['health']:>3}  {s['total']:,} lines ({mix})")
        out.append(
            f"{'':<16} {s['error_templates']} error templates, {s['anomalies']} anomalies, "
            f"{s['restarts']} restarts"
        )
        if s["last_error"]:
            out.append(f"{'':<16} last error {s['last_error']['ts']}  {s['last_error']['message'][:100]}")
        out += [f"{'':<16} {p['count']:>9,}  {p['template'][:90]}" for p in s["top_patterns"]]
    return "\n".join(out) + "\n"

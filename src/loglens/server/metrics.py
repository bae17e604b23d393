"""`/metrics` in the Prometheus text format: what the daemon took in, what it refused, how far behind.

Counters only grow (Prometheus computes rates); gauges are read now. Written out by hand: a dozen
lines of exposition text do not need a client library.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loglens.daemon import Daemon


def _line(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> str:
    out = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    out.extend(f"{name}{labels} {value:g}" for labels, value in samples)
    return "\n".join(out)


def metrics_text(daemon: Daemon) -> str:
    """The exposition text of the daemon's figures now."""
    stats = daemon.live.stats
    syslog = daemon.syslog_counters
    try:
        store_bytes = sum(
            os.path.getsize(p)
            for p in (daemon.store_path, daemon.store_path.with_name(daemon.store_path.name + ".wal"))
            if os.path.exists(p)
        )
    except OSError:
        store_bytes = 0
    figures: list[tuple[str, str, str, list[tuple[str, float]]]] = [
        ("loglens_records_ingested_total", "counter", "Records stored.", [("", stats.records)]),
        ("loglens_lines_read_total", "counter", "Lines read from files and pipes.", [("", stats.lines)]),
        ("loglens_parse_errors_total", "counter", "Records stored raw, unread by their format.",
         [("", stats.parse_errors)]),
        ("loglens_commits_total", "counter", "Store commits (each makes the records before durable).",
         [("", stats.commits)]),
        ("loglens_inbox_depth", "gauge", "Pushed records and lines waiting to be stored.",
         [("", daemon.inbox.depth)]),
        ("loglens_inbox_limit", "gauge", "The inbox bound ([server] inbox_records).",
         [("", daemon.inbox.max_records)]),
        ("loglens_dropped_total", "counter", "Input refused or dropped, by reason.",
         [('{reason="inbox_full_http_429"}', daemon.inbox.refused),
          ('{reason="inbox_full_syslog_udp"}', syslog.dropped)]),
        ("loglens_syslog_messages_total", "counter", "Syslog messages received.", [("", syslog.received)]),
        ("loglens_store_bytes", "gauge", "Size of the store file and its log.", [("", store_bytes)]),
        ("loglens_uptime_seconds", "gauge", "Seconds since the daemon started.",
         [("", time.time() - daemon.started)]),
    ]  # fmt: skip
    blocks = [_line(*figure) for figure in figures]
    return "\n".join(blocks) + "\n"

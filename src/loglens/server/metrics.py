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
    alerting = daemon.alerting
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
         [("", daemon.writer.commits)]),
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
        ("loglens_stage_seconds_total", "counter",
         "Seconds the pipeline thread spent per stage (parse, mine, filter, store, publish, commit).",
         [(f'{{stage="{stage}"}}', seconds) for stage, seconds in stats.stage_s.items()]),
        ("loglens_decoded_bodies_total", "counter",
         "Push bodies decoded, by where: a worker process (big bodies) or the server itself.",
         [('{where="worker"}', daemon.decoders.pooled), ('{where="in_place"}', daemon.decoders.in_place)]),
        ("loglens_live_subscribers", "gauge", "Live channel subscribers now.", [("", daemon.hub.count)]),
        ("loglens_anomalies_total", "counter", "Anomalies found live.", [("", daemon.watch.anomalies)]),
        ("loglens_incidents_total", "counter", "Incidents opened and closed live, by state.",
         [('{state="opened"}', daemon.watch.incidents_opened),
          ('{state="closed"}', daemon.watch.incidents_closed)]),
        ("loglens_alerts_open", "gauge", "Alerts open or acknowledged now.",
         [("", len(alerting.engine.active))]),
        ("loglens_alert_steps_total", "counter",
         "What the alert engine did: signals, opened, deduplicated, notifications, throttled, silenced, "
         "escalated, resolved.",
         [(f'{{step="{step}"}}', n) for step, n in alerting.engine.counts.items()]),
        ("loglens_alert_notifications_total", "counter", "Notifications per channel and outcome.",
         [(f'{{channel="{name}",outcome="{outcome}"}}', n)
          for outcome, per in (("sent", alerting.delivery.sent), ("failed", alerting.delivery.failed),
                               ("dropped", alerting.delivery.dropped))
          for name, n in per.items()]),
    ]  # fmt: skip
    blocks = [_line(*figure) for figure in figures]
    if daemon.live.volume_filter is not None:
        blocks.append("\n".join(daemon.live.volume_filter.metric_lines()))
    blocks.append("\n".join(daemon.ingestor.redactor.metric_lines()))
    return "\n".join(blocks) + "\n"

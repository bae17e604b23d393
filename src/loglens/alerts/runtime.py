"""The daemon's alerting: the engine fed by the pipeline, the channels built from `[alerts]` with
their background delivery, outcomes written to each alert's history, and every change pushed to
live subscribers (the dashboard, MCP agents)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from loglens.alerts.channels import ChannelContext, parse_channels
from loglens.alerts.delivery import Delivery, Outcome
from loglens.alerts.engine import AlertEngine, Enrich
from loglens.alerts.ledger import AlertLedger
from loglens.alerts.rules import AlertRule
from loglens.config import Config
from loglens.store.base import Store

LIVE_CHANNEL = "live"
"""Always there: the daemon's live hub, to which the dashboard and MCP agents subscribe."""


class Alerting:
    """`AlertEngine` + `Delivery`, built for one store and one live hub (`publish`)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        publish: Callable[[dict[str, Any]], None],
        enrich: Enrich | None = None,
    ) -> None:
        settings = config.alerts
        where = str(config.source_file or "config")
        channels = parse_channels(list(settings.channels), where, ChannelContext(publish=publish))
        self._publish = publish
        self.delivery = Delivery(
            channels,
            self._outcome,
            retries=settings.retries,
            backoff=settings.retry_backoff_ns / 1e9,
        )
        self.channels = tuple(channel.name for channel in channels)
        self.ledger = AlertLedger(store)
        last_seen = (
            _heard_lately(store, settings.rules) if any(r.kind == "absence" for r in settings.rules) else None
        )
        self.engine = AlertEngine(
            settings,
            self.ledger,
            self._notify,
            channels=self.channels,
            on_change=self._changed,
            enrich=enrich,
            known_templates=[template.id for template in store.templates()],
            last_seen=last_seen,
        )
        # A restart into silence must still notice a quiet service: stream time starts now, so the
        # clock moves it on even if nothing new ever arrives.
        self.engine.stream_ns = max(last_seen.values(), default=0) if last_seen else 0

    def _notify(self, channels: Sequence[str], notification: dict[str, Any]) -> None:
        for name in channels:
            if name == LIVE_CHANNEL and name not in self.channels:
                self._publish({"type": "alert", "change": "notification", "notification": notification})
            else:
                self.delivery.submit(name, notification)

    def _changed(self, what: str, alert: dict[str, Any]) -> None:
        self._publish({"type": "alert", "change": what, "alert": alert})

    def _outcome(self, outcome: Outcome) -> None:
        what = "notified" if outcome.ok else ("dropped" if outcome.attempts == 0 else "failed")
        detail = outcome.error or f"{outcome.event} after {outcome.attempts} attempt(s)"
        for alert_id in outcome.alert_ids:
            self.ledger.record(alert_id, what, channel=outcome.channel, detail=detail)

    def metrics(self) -> dict[str, Any]:
        """Figures for /metrics and /api/health."""
        return {
            "engine": dict(self.engine.counts),
            "open": len(self.engine.active),
            "sent": dict(self.delivery.sent),
            "failed": dict(self.delivery.failed),
            "dropped": dict(self.delivery.dropped),
            "pending": self.delivery.pending(),
        }

    def close(self) -> None:
        """Sends what waits for its group, then lets delivery finish (before the store closes: the
        outcomes are written to it)."""
        self.engine.flush()
        self.delivery.close()


def _heard_lately(store: Store, rules: Sequence[AlertRule], now_ns: int | None = None) -> dict[str, int]:
    """The services absence rules start out hearing: those with a stored record within the longest
    absence window, each as if heard from now — a daemon that was down kept them from sending, so
    their silence is counted from the restart, not from their last stored line."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    window = max(r.window_ns for r in rules if r.kind == "absence")
    _, rows = store.sql("SELECT service, epoch_ns(max(ts)) FROM records GROUP BY service")
    return {str(service): now_ns for service, ts in rows if now_ns - int(ts) < window}

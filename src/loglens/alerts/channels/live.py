"""The `live` channel (also `type = "mcp"`): hands each notification to the daemon's live hub, which
MCP agents and the dashboard subscribe to, as `{"type": "alert", "notification": …}`.

The daemon adds one itself; an entry in loglens.toml is only needed to name it or route rules to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loglens.alerts.channels.base import (
    ChannelContext,
    ChannelError,
    ChannelSettings,
    Notification,
    register_channel_kind,
)

LIVE_KEYS: tuple[str, ...] = ()


def live_envelope(notification: Notification) -> dict[str, Any]:
    """The message the live hub carries for an alert notification."""
    return {"type": "alert", "notification": notification}


class LiveChannel:
    """Publishes notifications to in-process subscribers; fails only if publishing raises."""

    kind = "live"

    def __init__(self, name: str, publish: Callable[[dict[str, Any]], None]) -> None:
        self.name = name
        self._publish = publish

    def send(self, notification: Notification) -> None:
        """Publishes it; ChannelError when the hub raises."""
        try:
            self._publish(live_envelope(notification))
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            raise ChannelError(f"live channel {self.name!r}: publishing failed: {reason}") from exc


def live_channel(settings: ChannelSettings, context: ChannelContext) -> LiveChannel:
    """Builds a live channel; only the daemon has a live hub to publish to."""
    if context.publish is None:
        raise settings.fail(
            f"a {settings.kind} channel publishes to the daemon's live hub, which only `loglens up` has;"
            " remove this entry when running without the daemon"
        )
    return LiveChannel(settings.name, context.publish)


register_channel_kind("live", LIVE_KEYS, live_channel)
register_channel_kind("mcp", LIVE_KEYS, live_channel)

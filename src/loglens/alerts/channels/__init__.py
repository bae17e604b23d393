"""Alert notification channels: one module per kind, each registered in `CHANNEL_KINDS`, and
`parse_channels` for `[[alerts.channels]]` in loglens.toml."""

from __future__ import annotations

# Importing each kind's module registers it; base first, so that they find the registry there.
from loglens.alerts.channels.base import (
    CHANNEL_KINDS,
    Channel,
    ChannelContext,
    ChannelError,
    ChannelKind,
    ChannelSettings,
    Notification,
    parse_channel,
    parse_channels,
    register_channel_kind,
)
from loglens.alerts.channels.command import CommandChannel, CommandConfig
from loglens.alerts.channels.email import EmailChannel, EmailConfig
from loglens.alerts.channels.live import LiveChannel
from loglens.alerts.channels.slack import SlackChannel, SlackConfig
from loglens.alerts.channels.webhook import WebhookChannel, WebhookConfig, verify_signature

__all__ = [
    "CHANNEL_KINDS",
    "Channel",
    "ChannelContext",
    "ChannelError",
    "ChannelKind",
    "ChannelSettings",
    "CommandChannel",
    "CommandConfig",
    "EmailChannel",
    "EmailConfig",
    "LiveChannel",
    "Notification",
    "SlackChannel",
    "SlackConfig",
    "WebhookChannel",
    "WebhookConfig",
    "parse_channel",
    "parse_channels",
    "register_channel_kind",
    "verify_signature",
]

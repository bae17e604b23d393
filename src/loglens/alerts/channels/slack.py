"""The `slack` channel: a Slack-style incoming webhook message (`text` and `blocks`), which Slack,
Mattermost, Rocket.Chat and Discord's `/slack` endpoint all accept.

`text` carries everything on its own (Mattermost and Discord show only it; Slack uses it for the
notification), and each alert also gets a `section` block; both stay within Slack's 3,000-character
section limit, long evidence lines being cut first so that the code block around them stays whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from loglens.alerts.channels.base import (
    ChannelContext,
    ChannelSettings,
    Notification,
    alerts_of,
    fix_steps,
    lines_of,
    log_line,
    one_line,
    register_channel_kind,
    shorten,
)
from loglens.alerts.channels.webhook import DEFAULT_TIMEOUT_S, USER_AGENT, post_json

SLACK_KEYS = ("url", "url_env", "timeout")
SECTION_LIMIT = 3000
"""Slack refuses a section's text past 3,000 characters."""
EVIDENCE_LINES = 3
EVIDENCE_LINE_CHARS = 300
MAX_ALERT_SECTIONS = 10
"""Sections past this are summarised in one line (a message has at most 50 blocks)."""


@dataclass(frozen=True, slots=True)
class SlackConfig:
    """A `type = "slack"` entry."""

    url: str
    """The incoming-webhook URL, from `url` or, better, the variable `url_env` (it is the secret)."""
    timeout_s: float = DEFAULT_TIMEOUT_S
    """Seconds to wait for the chat server to connect and answer."""


def escape(text: str) -> str:
    """`text` safe inside Slack mrkdwn: `&`, `<` and `>` would otherwise start entities and links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def alert_text(alert: Mapping[str, Any], event: str) -> str:
    """One alert as mrkdwn: marker, rule, title, count and event; first and last time; the first
    evidence lines in a code block; the fix; at most SECTION_LIMIT characters."""
    severity = str(alert.get("severity", "")).upper() or "ALERT"
    count = alert.get("count")
    times = f" (×{count})" if isinstance(count, int) and count > 1 else ""
    title = escape(one_line(str(alert.get("title", ""))))
    parts = [f"*[{severity}] {escape(str(alert.get('rule', '?')))}*: {title}{times} — {escape(event)}"]
    times_seen = (("first", "first_ts"), ("last", "last_ts"))
    when = [f"{label} {alert[key]}" for label, key in times_seen if alert.get(key)]
    labels = alert.get("labels")
    if isinstance(labels, dict) and labels:
        when.append(", ".join(f"{k}={v}" for k, v in labels.items()))
    if when:
        parts.append(escape(" · ".join(when)))
    evidence = [
        shorten(one_line(log_line(line)), EVIDENCE_LINE_CHARS).replace("```", "'''")
        for line in lines_of(alert.get("evidence"))[:EVIDENCE_LINES]
    ]
    if evidence:
        parts.append("```\n" + escape("\n".join(evidence)) + "\n```")
    fix = fix_steps(alert)
    if fix:
        parts.append("*Fix:* " + escape(" ".join(f"{n}. {step}" for n, step in enumerate(fix, 1))))
    return shorten("\n".join(parts), SECTION_LIMIT)


def slack_payload(notification: Notification) -> dict[str, Any]:
    """The webhook body: `text` (the whole message) and `blocks` (a section per alert, then the link)."""
    event = str(notification.get("event", ""))
    alerts = alerts_of(notification)
    sections = [alert_text(alert, event) for alert in alerts[:MAX_ALERT_SECTIONS]]
    if len(alerts) > MAX_ALERT_SECTIONS:
        sections.append(f"…and {len(alerts) - MAX_ALERT_SECTIONS} more alerts")
    if not sections:
        sections.append(f"*loglens* {escape(event)}: {escape(str(notification.get('group', '')))}")
    url = notification.get("url")
    link = f"<{url}|Open the loglens dashboard>" if isinstance(url, str) and url else None
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": section}} for section in sections
    ]
    if link:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": link}]})
    text = "\n\n".join(sections)
    if link:
        # The link goes last but must survive the cut, so the cut is made before it is added.
        text = shorten(text, SECTION_LIMIT - len(link) - 2) + "\n\n" + link
    return {"text": shorten(text, SECTION_LIMIT), "blocks": blocks}


class SlackChannel:
    """Posts a readable message to a chat room through its incoming webhook."""

    kind = "slack"

    def __init__(self, name: str, config: SlackConfig) -> None:
        self.name = name
        self.config = config

    def send(self, notification: Notification) -> None:
        """Posts it; ChannelError on a transport error or a non-2xx answer."""
        body = orjson.dumps(slack_payload(notification))
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        post_json(f"slack channel {self.name!r}", self.config.url, body, headers, self.config.timeout_s)


def slack_channel(settings: ChannelSettings, context: ChannelContext) -> SlackChannel:
    """Builds a slack channel from its `[[alerts.channels]]` entry."""
    config = SlackConfig(
        url=settings.url("url", "url_env"), timeout_s=settings.seconds("timeout", DEFAULT_TIMEOUT_S)
    )
    return SlackChannel(settings.name, config)


register_channel_kind("slack", SLACK_KEYS, slack_channel)

"""The `webhook` channel: POSTs each notification as JSON, signed with HMAC-SHA256 when given a secret,
and `verify_signature`, which a receiver (or a test) uses to check that a request came from loglens.

The signature covers the timestamp as well as the body (`"<timestamp>.<body>"`), so a receiver that
also refuses old timestamps cannot be fed a recorded request again later.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx
import orjson

from loglens.alerts.channels.base import (
    ChannelContext,
    ChannelError,
    ChannelSettings,
    Notification,
    register_channel_kind,
    shorten,
    url_for_messages,
)

WEBHOOK_KEYS = ("url", "url_env", "secret", "secret_env", "headers", "timeout")
DEFAULT_TIMEOUT_S = 10.0
SIGNATURE_HEADER = "X-Loglens-Signature"
TIMESTAMP_HEADER = "X-Loglens-Timestamp"
EVENT_HEADER = "X-Loglens-Event"
USER_AGENT = "loglens-alerts"


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """A `type = "webhook"` entry."""

    url: str
    """Where to POST (http or https), from `url` or the variable `url_env`; redirects are not followed."""
    secret: str | None = None
    """Signs each request (`X-Loglens-Signature`) when set, from `secret` or the variable `secret_env`."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Extra request headers, such as an Authorization a receiver wants."""
    timeout_s: float = DEFAULT_TIMEOUT_S
    """Seconds to wait for the receiver to connect and answer."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Loglens-Signature` value: `sha256=` and the hex HMAC-SHA256 of `<timestamp>.<body>`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str,
    timestamp: str | int,
    body: bytes,
    header: str,
    *,
    max_age_s: float | None = None,
    now: float | None = None,
) -> bool:
    """True when `header` (X-Loglens-Signature) signs `body` at `timestamp` (X-Loglens-Timestamp) with
    `secret`. Compared in constant time, so timing tells an attacker nothing; with `max_age_s`, a
    timestamp further than that from `now` (default: the clock) is refused too (replays)."""
    stamp = str(timestamp)
    if max_age_s is not None:
        try:
            age = abs((time.time() if now is None else now) - int(stamp))
        except ValueError:
            return False
        if age > max_age_s:
            return False
    return hmac.compare_digest(signature(secret, stamp, body).encode(), header.strip().encode())


def post_json(what: str, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> None:
    """POSTs `body` and returns on a 2xx answer; raises ChannelError naming `what` (the channel), the
    address (without its path, which may hold a secret) and the status or transport error."""
    where = url_for_messages(url)
    try:
        response = httpx.post(url, content=body, headers=dict(headers), timeout=timeout_s)
    except httpx.TimeoutException:
        raise ChannelError(f"{what}: {where} did not answer within {timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise ChannelError(f"{what}: cannot reach {where}: {type(exc).__name__}: {exc}") from None
    if not response.is_success:
        reply = shorten(" ".join(response.text.split()), 200)
        raise ChannelError(
            f"{what}: {where} answered HTTP {response.status_code} {response.reason_phrase}"
            + (f": {reply}" if reply else "")
        )


def encode_notification(what: str, notification: Notification) -> bytes:
    """The notification as JSON bytes; a value JSON cannot hold is the caller's bug, reported as such."""
    try:
        return orjson.dumps(notification)
    except orjson.JSONEncodeError as exc:
        raise ChannelError(f"{what}: the notification is not JSON-serialisable: {exc}") from None


class WebhookChannel:
    """POSTs the notification as it is, with headers saying what it is and, when a secret is set,
    a signature the receiver can check (docs/channels.md shows how)."""

    kind = "webhook"

    def __init__(self, name: str, config: WebhookConfig, clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self.config = config
        self._clock = clock

    def send(self, notification: Notification) -> None:
        """POSTs it; ChannelError on a transport error or a non-2xx answer."""
        what = f"webhook channel {self.name!r}"
        body = encode_notification(what, notification)
        timestamp = str(int(self._clock()))
        headers = {
            **self.config.headers,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: str(notification.get("event", "")),
            TIMESTAMP_HEADER: timestamp,
        }
        if self.config.secret:
            headers[SIGNATURE_HEADER] = signature(self.config.secret, timestamp, body)
        post_json(what, self.config.url, body, headers, self.config.timeout_s)


def webhook_channel(settings: ChannelSettings, context: ChannelContext) -> WebhookChannel:
    """Builds a webhook channel from its `[[alerts.channels]]` entry."""
    config = WebhookConfig(
        url=settings.url("url", "url_env"),
        secret=settings.secret("secret", "secret_env"),
        headers=settings.string_table("headers"),
        timeout_s=settings.seconds("timeout", DEFAULT_TIMEOUT_S),
    )
    return WebhookChannel(settings.name, config)


register_channel_kind("webhook", WEBHOOK_KEYS, webhook_channel)

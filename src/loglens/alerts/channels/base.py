"""What every alert channel is (a name, a kind and `send`), the one registry of channel kinds, and the
reading of `[[alerts.channels]]` entries into channels; plus the small text helpers channels share.

A kind registers itself here (`register_channel_kind`) the way a plugin would, so loglens's own kinds
and any added later go through the same door, and `tests/alerts/test_channels.py` can check that every
registered kind is documented in docs/channels.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from loglens.config_tables import table_entries
from loglens.errors import ConfigError, LoglensError, QueryError
from loglens.query.timerange import parse_duration

Notification = dict[str, Any]
"""An alert notification, a JSON-ready dict (docs/channels.md, "The payload"): `event`, `group` and
`alerts` are always there, and each alert has `id`, `rule`, `severity` and `title`; the rest may not be."""

COMMON_KEYS = ("name", "type")
"""Keys every `[[alerts.channels]]` entry may have, whatever its type."""

SEVERITIES = ("critical", "error", "warning", "info")


class ChannelError(LoglensError):
    """A channel could not deliver a notification; the message says which channel, and the HTTP
    status, exit code or SMTP reply that it got, so the failure can be acted on from the record."""


class Channel(Protocol):
    """Somewhere notifications go. `send` returns once the far side accepted the notification, or
    raises ChannelError; it may block (Delivery gives each channel a thread of its own)."""

    name: str
    kind: str

    def send(self, notification: Notification) -> None:
        """Delivers one notification, raising ChannelError with the reason when it cannot."""


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """What building a channel may need from the running program, passed to every kind's factory."""

    publish: Callable[[dict[str, Any]], None] | None = None
    """The daemon's live hub (MCP agents and the dashboard subscribe to it); None outside the daemon."""
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    """Where `*_env` keys are looked up, so secrets stay out of loglens.toml."""


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """One `[[alerts.channels]]` entry as its kind's factory reads it: typed getters whose errors
    name the file, the entry, the channel and the key, and say what a valid value looks like."""

    name: str
    kind: str
    here: str
    entry: Mapping[str, Any]
    env: Mapping[str, str]

    def fail(self, problem: str) -> ConfigError:
        """A ConfigError about this entry (raise it)."""
        return ConfigError(f"{self.here} ({self.name}): {problem}")

    def required_text(self, key: str, example: str) -> str:
        """A non-empty string that must be there; `example` shows a valid value in the error."""
        value = self.optional_text(key)
        if value is None:
            raise self.fail(f"a {self.kind} channel needs `{key}`, such as {key} = {example}")
        return value

    def optional_text(self, key: str, default: str | None = None) -> str | None:
        """A non-empty string, or `default` when the key is absent."""
        value = self.entry.get(key, default)
        if value is not None and (not isinstance(value, str) or not value):
            raise self.fail(f"`{key}` must be a non-empty string (got {value!r})")
        return value

    def url(self, key: str, env_key: str) -> str:
        """A required http(s) URL, given as `key` or as the name of an environment variable
        (`env_key`): a chat webhook's URL is itself the secret that lets anyone post."""
        value = self.secret(key, env_key)
        if value is None:
            raise self.fail(
                f'a {self.kind} channel needs `{key}`, such as {key} = "https://example.com/hook"'
                f" (or `{env_key}`, the environment variable holding it)"
            )
        parts = urlsplit(value)
        try:
            valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
        except ValueError:  # a port that is not a number
            valid = False
        if not valid:
            raise self.fail(f"`{key}` must be an http:// or https:// URL (got {value!r})")
        return value

    def flag(self, key: str, default: bool) -> bool:
        """true or false."""
        value = self.entry.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"`{key}` must be true or false (got {value!r})")
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        """A whole number within [low, high]."""
        value = self.entry.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(f"`{key}` must be a whole number from {low} to {high} (got {value!r})")
        return value

    def seconds(self, key: str, default: float) -> float:
        """A positive duration: a number of seconds (`10`, `2.5`) or a duration such as "30s", "2m"."""
        value = self.entry.get(key, default)
        if isinstance(value, str):
            try:
                value = parse_duration(value) / 1e9
            except QueryError as exc:
                raise self.fail(f"`{key}`: {exc}") from None
        if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
            raise self.fail(f'`{key}` must be a positive number of seconds or a duration such as "30s"')
        return float(value)

    def texts(self, key: str, example: str) -> tuple[str, ...]:
        """A required, non-empty list of non-empty strings."""
        value = self.entry.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise self.fail(
                f"a {self.kind} channel needs `{key}`, a list of strings such as {key} = {example}"
            )
        return tuple(value)

    def string_table(self, key: str) -> dict[str, str]:
        """A table of string values (empty when absent)."""
        value = self.entry.get(key, {})
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self.fail(f'`{key}` must be a table of strings, such as {key} = {{ "X-Team" = "ops" }}')
        return dict(value)

    def secret(self, key: str, env_key: str) -> str | None:
        """A secret given as `key` or, better, as the name of an environment variable (`env_key`)
        that must then be set; None when neither is given."""
        if key in self.entry and env_key in self.entry:
            raise self.fail(f"give `{key}` or `{env_key}`, not both")
        if env_key in self.entry:
            variable = self.required_text(env_key, '"VARIABLE"')
            value = self.env.get(variable, "")
            if not value:
                raise self.fail(f"`{env_key}` names the environment variable {variable}, which is not set")
            return value
        return self.optional_text(key)


ChannelFactory = Callable[[ChannelSettings, ChannelContext], Channel]


@dataclass(frozen=True, slots=True)
class ChannelKind:
    """A registered channel type: the keys its entries may have (besides `name` and `type`) and the
    factory that builds a channel from a checked entry."""

    keys: tuple[str, ...]
    build: ChannelFactory


CHANNEL_KINDS: dict[str, ChannelKind] = {}
"""Every channel type `type = "…"` accepts, filled by `register_channel_kind` as the kinds' modules are
imported (importing `loglens.alerts.channels` imports them all)."""


def register_channel_kind(kind: str, keys: Sequence[str], build: ChannelFactory) -> None:
    """Makes `type = kind` usable in `[[alerts.channels]]`; a kind registered twice is a bug."""
    if kind in CHANNEL_KINDS:
        raise ValueError(f"channel kind {kind!r} is already registered")
    CHANNEL_KINDS[kind] = ChannelKind(tuple(keys), build)


def parse_channel(entry: dict[str, Any], here: str, context: ChannelContext) -> Channel:
    """One `[[alerts.channels]]` table → a channel, or ConfigError naming `here`, the channel and the key."""
    kind = entry.get("type")
    known = ", ".join(sorted(CHANNEL_KINDS))
    if not isinstance(kind, str) or not kind:
        raise ConfigError(f'{here}: a channel needs a `type`, one of: {known} (such as type = "webhook")')
    if kind not in CHANNEL_KINDS:
        raise ConfigError(f"{here}: unknown channel type {kind!r}; known types: {known}")
    registered = CHANNEL_KINDS[kind]
    name = entry.get("name", kind)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{here}: `name` must be a non-empty string (got {name!r})")
    allowed = (*COMMON_KEYS, *registered.keys)
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{here} ({name}): unknown keys {unknown} for a {kind} channel; known: {', '.join(allowed)}"
        )
    return registered.build(ChannelSettings(name, kind, here, entry, context.env), context)


def parse_channels(entries: object, where: str, context: ChannelContext) -> tuple[Channel, ...]:
    """`[[alerts.channels]]` → channels, each with a name of its own (rules refer to channels by name)."""
    every_key = sorted({*COMMON_KEYS, *(key for kind in CHANNEL_KINDS.values() for key in kind.keys)})
    channels: list[Channel] = []
    for here, entry in table_entries(entries, where, "alerts.channels", every_key):
        channel = parse_channel(entry, here, context)
        if any(other.name == channel.name for other in channels):
            raise ConfigError(
                f"{here}: a channel named {channel.name!r} is already defined; give each a `name` of its own"
            )
        channels.append(channel)
    return tuple(channels)


# Text the human-facing channels (slack, email, command's environment) share.


def alerts_of(notification: Notification) -> list[dict[str, Any]]:
    """The notification's alerts (an empty list rather than an error when malformed)."""
    alerts = notification.get("alerts")
    return [a for a in alerts if isinstance(a, dict)] if isinstance(alerts, list) else []


def alert_ids(notification: Notification) -> tuple[str, ...]:
    """The ids of the notification's alerts, as strings."""
    return tuple(str(alert.get("id", "")) for alert in alerts_of(notification))


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in "…" when it was cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def alert_headline(alert: Mapping[str, Any]) -> str:
    """`CRITICAL db-errors: Connection refused (×3)`: severity, rule, title and, past one, the count."""
    count = alert.get("count")
    times = f" (×{count})" if isinstance(count, int) and count > 1 else ""
    severity = str(alert.get("severity", "")).upper() or "ALERT"
    return f"{severity} {alert.get('rule', '?')}: {one_line(str(alert.get('title', '')))}{times}"


def one_line(text: str) -> str:
    """`text` with its line breaks turned into spaces (titles and subjects must stay one line)."""
    return " ".join(text.split())


def log_line(line: object) -> str:
    """An evidence or context line (`{ts, service, level, message}`) as `ts service level: message`."""
    if not isinstance(line, dict):
        return str(line)
    head = " ".join(str(line[key]) for key in ("ts", "service", "level") if line.get(key))
    message = str(line.get("message", ""))
    return f"{head}: {message}" if head else message


def lines_of(value: object) -> list[object]:
    """A list found in the notification, or [] when it is missing or not a list."""
    return list(value) if isinstance(value, list) else []


def fix_steps(alert: Mapping[str, Any]) -> list[str]:
    """The explanation's fix steps, when the alert was explained."""
    explanation = alert.get("explanation")
    if not isinstance(explanation, dict):
        return []
    fix = explanation.get("fix")
    if isinstance(fix, str):
        return [fix] if fix else []
    return [str(step) for step in lines_of(fix) if step]


def url_for_messages(url: str) -> str:
    """`url` as errors and logs may show it: scheme, host and port only, since webhook paths and
    queries often hold the secret (Slack's do)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{rest}"

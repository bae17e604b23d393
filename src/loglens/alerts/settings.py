"""`[alerts]` in loglens.toml: the rules, the channels, and how notifications are grouped, throttled,
repeated and retried."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from loglens.alerts.channels import ChannelContext, parse_channels
from loglens.alerts.rules import AlertRule, parse_rules
from loglens.errors import ConfigError, LoglensError
from loglens.query.timerange import parse_duration

_DURATIONS = ("group_wait", "throttle_window", "repeat_interval", "retry_backoff")
_KEYS = (*_DURATIONS, "rules", "channels", "route", "throttle", "retries", "dashboard_url")


DEFAULT_RULES = (
    AlertRule(name="incidents", kind="incident", severity="critical", min_severity="warning",
              description="every incident the detectors open (the default while loglens.toml has no rules)"),
)  # fmt: skip
"""With no `[[alerts.rules]]` at all, every incident is an alert (told on the live channel, and to the
channels if any are configured); `rules = []` under `[alerts]` turns it off."""


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """How alerts are raised and told.

    `group_wait`: alerts of one group opened within it go out as one notification (Alertmanager's
    group_wait). `throttle` notifications per group per `throttle_window` at most; more are recorded
    as throttled, not sent. A still-open alert that keeps firing is told again after
    `repeat_interval`. `route`: the channels of rules that name none (all channels when empty).
    """

    rules: tuple[AlertRule, ...] = DEFAULT_RULES
    channels: tuple[dict[str, Any], ...] = ()
    route: tuple[str, ...] = ()
    group_wait_ns: int = 10 * 10**9
    throttle: int = 10
    throttle_window_ns: int = 10 * 60 * 10**9
    repeat_interval_ns: int = 4 * 3600 * 10**9
    retries: int = 3
    retry_backoff_ns: int = 2 * 10**9
    dashboard_url: str | None = None


class _AnyVariable(Mapping[str, str]):
    """The environment while the config is only checked: every variable set (the daemon reads the
    real one when it builds the channels, so `loglens logs` does not need the webhook's secret)."""

    def __getitem__(self, key: str) -> str:
        return "(set when the daemon starts)"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _nowhere(event: dict[str, Any]) -> None:
    """The live channel's hub while the config is only being checked (the daemon gives the real one)."""


def parse_alerts(table: dict[str, Any], where: str) -> AlertSettings:
    """`[alerts]`, `[[alerts.rules]]` and `[[alerts.channels]]` (channels are checked by their kind's
    factory when the config is loaded; see `loglens.alerts.channels`)."""
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise ConfigError(f"{where}: [alerts] has no setting {', '.join(unknown)}; known: {', '.join(_KEYS)}")
    values: dict[str, Any] = {}
    for key in _DURATIONS:
        if key in table:
            try:
                ns = parse_duration(str(table[key]))
            except LoglensError:
                ns = -1
            if ns < 0 or isinstance(table[key], bool):
                raise ConfigError(f'{where}: [alerts] {key} must be a duration such as "30s" or "10m"')
            values[f"{key}_ns"] = ns
    for key in ("throttle", "retries"):
        if key in table:
            value = table[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{where}: [alerts] {key} must be a whole number ≥ 0")
            values[key] = value
    if "route" in table:
        route = table["route"]
        if not isinstance(route, list) or not all(isinstance(name, str) for name in route):
            raise ConfigError(f"{where}: [alerts] route must be a list of channel names")
        values["route"] = tuple(route)
    if "dashboard_url" in table:
        values["dashboard_url"] = str(table["dashboard_url"])
    rules = parse_rules(table["rules"], where) if "rules" in table else DEFAULT_RULES
    channels = table.get("channels", [])
    if not isinstance(channels, list) or not all(isinstance(entry, dict) for entry in channels):
        raise ConfigError(f"{where}: alerts.channels must be a list of tables ([[alerts.channels]])")
    checked = parse_channels(channels, where, ChannelContext(publish=_nowhere, env=_AnyVariable()))
    names = [channel.name for channel in checked]
    for rule in rules:
        for name in (*rule.channels, *rule.escalate_to):
            if name not in names and name != "live":
                raise ConfigError(
                    f"{where}: rule {rule.name!r} names channel {name!r}, which [[alerts.channels]] does not "
                    f"define (defined: {', '.join(names) or 'none'})"
                )
    for name in values.get("route", ()):
        if name not in names and name != "live":
            raise ConfigError(f"{where}: [alerts] route names channel {name!r}, which is not defined")
    return AlertSettings(rules=rules, channels=tuple(channels), **values)

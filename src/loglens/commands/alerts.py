"""`loglens alerts list|show|ack|resolve|silence|unsilence|silences|rules|test`: the alerts the daemon
raised and what people do about them, through the daemon while it runs, else on the store itself."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from loglens.alerts.channels import ChannelContext, ChannelError, parse_channels
from loglens.alerts.engine import AlertEngine, UnknownAlertError
from loglens.alerts.ledger import AlertLedger
from loglens.alerts.model import ALERT_STATES
from loglens.alerts.replay import replay_rules
from loglens.alerts.rules import AlertRule
from loglens.client import DaemonClient, daemon_for
from loglens.commands.common import open_store, range_options, store_options, write_json
from loglens.config import Config, load_config, resolve_store_path
from loglens.errors import LoglensError
from loglens.formats.timestamp import to_iso_ms
from loglens.query.timerange import parse_duration, parse_time_bound
from loglens.store.duckdb import DuckDBStore

T = TypeVar("T")


def _daemon(store_path: str | None, config: Config) -> DaemonClient | None:
    return daemon_for(resolve_store_path(store_path, config), config)


def _with_engine(store_path: str | None, config: Config, act: Callable[[AlertEngine], T]) -> T:
    """`act` on an engine over the store opened for writing (no daemon runs): the same code the
    daemon's API runs, without channels (nothing is sent from here)."""
    store = open_store(store_path, config, read_only=False)
    try:
        engine = AlertEngine(config.alerts, AlertLedger(store), lambda channels, notification: None)
        return act(engine)
    finally:
        store.close()


def _line(alert: dict[str, Any]) -> str:
    silenced = "  (silenced)" if alert.get("silenced_by") else ""
    return (
        f"{alert['id']:>5}  {alert['state']:<12} {alert['severity']:<8} ×{alert['count']:<6} "
        f"{alert['first_ts']}  {alert['rule']}: {alert['title'][:110]}{silenced}"
    )


@click.group()
def alerts() -> None:
    """Alerts raised by the rules of [alerts] (docs/alerts.md): list, acknowledge, silence, test."""


@alerts.command("list")
@click.option("--state", type=click.Choice([*ALERT_STATES, "active", "all"]), default="active",
              help="active = open or acknowledged (default).")  # fmt: skip
@click.option("-n", "--limit", type=click.IntRange(1, 1000), default=100, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="The alerts as JSON.")
@store_options
def list_alerts(
    state: str, limit: int, as_json: bool, store_path: str | None, config_path: str | None
) -> None:
    """Alerts, most recently changed first."""
    config = load_config(config_path)
    daemon = _daemon(store_path, config)
    if daemon is not None:
        found = daemon.call("GET", "/api/alerts", {"state": state, "limit": limit})["alerts"]
    else:
        store = open_store(store_path, config, read_only=True)
        try:
            ledger = AlertLedger(store)
            if state == "active":
                found = [a.to_json() for a in reversed(ledger.active())][:limit]
            else:
                found = ledger.alerts(None if state == "all" else state, limit)
        finally:
            store.close()
    if as_json:
        write_json(found)
        return
    if not found:
        click.echo(f"no {state} alerts")
    for alert in found:
        click.echo(_line(alert))


@alerts.command("show")
@click.argument("alert_id")
@click.option("--json", "as_json", is_flag=True, help="The alert and its history as JSON.")
@store_options
def show(alert_id: str, as_json: bool, store_path: str | None, config_path: str | None) -> None:
    """One alert: evidence, context, explanation and history."""
    config = load_config(config_path)
    daemon = _daemon(store_path, config)
    if daemon is not None:
        found = daemon.call("GET", f"/api/alerts/{alert_id}")
    else:
        store = open_store(store_path, config, read_only=True)
        try:
            ledger = AlertLedger(store)
            body = ledger.alert(alert_id)
            if body is None:
                raise UnknownAlertError(f"no alert {alert_id!r} (see `loglens alerts list --state all`)")
            found = body | {"history": ledger.history(alert_id)}
        finally:
            store.close()
    if as_json:
        write_json(found)
        return
    out = [_line(found), f"       labels: {found['labels']}  last {found['last_ts']}"]
    for line in found["context"]["before"]:
        out.append(f"         {line['ts']}  {line['level']:<8} {line['message'][:140]}")
    for line in found["evidence"][:1]:
        out.append(f"       > {line['ts']}  {line['level']:<8} {line['message'][:140]}")
    for line in found["context"]["after"]:
        out.append(f"         {line['ts']}  {line['level']:<8} {line['message'][:140]}")
    explanation = found.get("explanation")
    if explanation:
        out.append(f"       {explanation['what_happened']}")
        out += [f"       fix: {step}" for step in explanation.get("fix", [])[:5]]
    out.append("       history:")
    out += [f"         {h['ts']}  {h['kind']:<12} {h.get('channel') or ''} {h.get('detail') or ''}"
            for h in found["history"]]  # fmt: skip
    click.echo("\n".join(out))


def _person(by: str | None) -> str:
    import getpass

    return by or getpass.getuser()


@alerts.command("ack")
@click.argument("alert_id")
@click.option("--by", metavar="NAME", help="Who is on it (default: your user name).")
@store_options
def ack(alert_id: str, by: str | None, store_path: str | None, config_path: str | None) -> None:
    """Acknowledge an alert: someone is on it (no more escalation or repeats)."""
    config = load_config(config_path)
    daemon = _daemon(store_path, config)
    if daemon is not None:
        found = daemon.call("POST", f"/api/alerts/{alert_id}/ack", body={"by": _person(by)})
    else:
        found = _with_engine(store_path, config, lambda engine: engine.acknowledge(alert_id, _person(by)))
    click.echo(_line(found))


@alerts.command("resolve")
@click.argument("alert_id")
@click.option("--by", metavar="NAME", help="Who resolves it (default: your user name).")
@store_options
def resolve(alert_id: str, by: str | None, store_path: str | None, config_path: str | None) -> None:
    """Resolve an alert by hand (it resolves on its own once its condition stops)."""
    config = load_config(config_path)
    daemon = _daemon(store_path, config)
    if daemon is not None:
        found = daemon.call("POST", f"/api/alerts/{alert_id}/resolve", body={"by": _person(by)})
    else:
        found = _with_engine(store_path, config, lambda engine: engine.resolve(alert_id, _person(by)))
    click.echo(_line(found))


def _matchers(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name or not value:
            raise LoglensError(f"--match {pair!r}: write LABEL=VALUE (or LABEL=~REGEX), such as service=api")
        out[name] = value
    return out


@alerts.command("silence")
@click.option("--match", "pairs", multiple=True, required=True, metavar="LABEL=VALUE",
              help="rule=NAME, service=api, severity=warning or any label; =~REGEX: a pattern.")  # fmt: skip
@click.option("--for", "duration", default="2h", show_default=True, help="How long: 30m, 2h, 1d.")
@click.option("--comment", default="", help="Why (shown with the silence).")
@click.option("--by", metavar="NAME", help="Who (default: your user name).")
@store_options
def silence(pairs: tuple[str, ...], duration: str, comment: str, by: str | None, store_path: str | None,
            config_path: str | None) -> None:  # fmt: skip
    """Mute matching alerts' notifications for a while (they are still raised and listed)."""
    config = load_config(config_path)
    matchers = _matchers(pairs)
    parse_duration(duration)
    daemon = _daemon(store_path, config)
    if daemon is not None:
        body = {"matchers": matchers, "duration": duration, "comment": comment, "author": _person(by)}
        found = daemon.call("POST", "/api/alerts/silences", body=body)
    else:
        found = _with_engine(
            store_path, config,
            lambda engine: engine.silence(matchers, parse_duration(duration), _person(by), comment).to_json(),
        )  # fmt: skip
    click.echo(f"silence {found['id']} until {found['until']}: {found['matchers']}")


@alerts.command("unsilence")
@click.argument("silence_id")
@store_options
def unsilence(silence_id: str, store_path: str | None, config_path: str | None) -> None:
    """End a silence now."""
    config = load_config(config_path)
    daemon = _daemon(store_path, config)
    if daemon is not None:
        daemon.call("DELETE", f"/api/alerts/silences/{silence_id}")
    elif not _with_engine(store_path, config, lambda engine: engine.unsilence(silence_id)):
        raise LoglensError(f"no silence {silence_id!r} (see `loglens alerts silences`)")
    click.echo(f"silence {silence_id} ended")


@alerts.command("silences")
@click.option("--json", "as_json", is_flag=True)
@store_options
def silences(as_json: bool, store_path: str | None, config_path: str | None) -> None:
    """Silences not yet expired."""
    config = load_config(config_path)
    daemon = _daemon(store_path, config)
    if daemon is not None:
        found = daemon.call("GET", "/api/alerts/silences")
    else:
        store = open_store(store_path, config, read_only=True)
        try:
            now = time.time_ns()
            found = [s.to_json() for s in AlertLedger(store).silences() if s.until_ns > now]
        finally:
            store.close()
    if as_json:
        write_json(found)
        return
    for item in found:
        click.echo(f"{item['id']:>5}  until {item['until']}  {item['matchers']}  {item['comment']}")
    if not found:
        click.echo("no silences")


def _rules(store_path: str | None, config: Config) -> list[AlertRule]:
    """loglens.toml's rules, then those made through the API (stored)."""
    rules = list(config.alerts.rules)
    path = resolve_store_path(store_path, config)
    if path.exists() and _daemon(store_path, config) is None:
        store = DuckDBStore(path, read_only=True)
        try:
            rules += AlertLedger(store).rules()
        finally:
            store.close()
    return rules


@alerts.command("rules")
@click.option("--json", "as_json", is_flag=True)
@store_options
def rules(as_json: bool, store_path: str | None, config_path: str | None) -> None:
    """The alert rules: loglens.toml's and those made through the API."""
    config = load_config(config_path)
    daemon = _daemon(store_path, config)
    found = daemon.call("GET", "/api/alerts/rules") if daemon is not None else [
        r.to_json() for r in _rules(store_path, config)
    ]  # fmt: skip
    if as_json:
        write_json(found)
        return
    for rule in found:
        click.echo(
            f"{rule['name']:<24} {rule['type']:<13} {rule['severity']:<8} {rule.get('description', '')}"
        )
    if not found:
        click.echo("no rules: add [[alerts.rules]] to loglens.toml (docs/alerts.md)")


def _send_test(config: Config, rule: AlertRule) -> list[tuple[str, str | None]]:
    """A `test` notification through the rule's channels, sent now: (channel, error or None)."""
    channels = parse_channels(
        list(config.alerts.channels), str(config.source_file or "config"), ChannelContext()
    )
    wanted = rule.channels or config.alerts.route or tuple(c.name for c in channels)
    now = time.time_ns()
    alert = {
        "id": "test", "rule": rule.name, "severity": rule.severity, "state": "open", "labels": rule.labels,
        "title": f"test of rule {rule.name} from `loglens alerts test`", "count": 1,
        "first_ts": to_iso_ms(now), "last_ts": to_iso_ms(now), "evidence": [],
    }  # fmt: skip
    notification = {"event": "test", "group": f"rule={rule.name}", "sent_at": to_iso_ms(now),
                    "url": config.alerts.dashboard_url, "alerts": [alert]}  # fmt: skip
    results: list[tuple[str, str | None]] = []
    for channel in channels:
        if channel.name in wanted:
            try:
                channel.send(notification)
                results.append((channel.name, None))
            except ChannelError as exc:
                results.append((channel.name, str(exc)))
    return results


@alerts.command("test")
@click.argument("rule_name", metavar="RULE")
@range_options
@click.option("--notify", is_flag=True, help="Also send a test notification through the rule's channels.")
@click.option("--json", "as_json", is_flag=True, help="The alerts it would have raised, as JSON.")
@store_options
def test(rule_name: str, since: str | None, until: str | None, notify: bool, as_json: bool,
         store_path: str | None, config_path: str | None) -> None:  # fmt: skip
    """What RULE would have raised over the stored logs (a dry run: nothing stored or sent), and
    with --notify, a test message through its channels."""
    config = load_config(config_path)
    daemon = _daemon(store_path, config)
    if daemon is not None:
        params = {k: v for k, v in (("since", since), ("until", until)) if v}
        found = daemon.call("POST", f"/api/alerts/rules/{rule_name}/test", params)
        raised, records = found["alerts"], found["records"]
        rule = next((r for r in config.alerts.rules if r.name == rule_name), None)
    else:
        rule = next((r for r in _rules(store_path, config) if r.name == rule_name), None)
        if rule is None:
            known = ", ".join(r.name for r in _rules(store_path, config)) or "none"
            raise LoglensError(f"no rule {rule_name!r}; the rules are: {known}")
        tz = config.timezone
        store = open_store(store_path, config, read_only=True)
        try:
            replayed = replay_rules(store, config, [rule], parse_time_bound(since, tz=tz) if since else None,
                                    parse_time_bound(until, tz=tz) if until else None)  # fmt: skip
        finally:
            store.close()
        raised, records = replayed.alerts, replayed.records
    if as_json:
        write_json({"rule": rule_name, "records": records, "alerts": raised})
    else:
        click.echo(f"rule {rule_name}: {len(raised)} alert(s) over {records:,} records")
        for alert in raised:
            click.echo(_line(alert))
    if notify:
        if rule is None:
            raise LoglensError(
                f"--notify needs rule {rule_name!r} in loglens.toml (the daemon's API rules: POST)"
            )
        for name, error in _send_test(config, rule):
            click.echo(f"  {name}: {'sent' if error is None else 'FAILED: ' + error}", err=True)
            if error is not None:
                sys.exit(1)

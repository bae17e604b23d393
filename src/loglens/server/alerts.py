"""`/api/alerts`: the alerts the daemon raised (list, one with its history, acknowledge, resolve),
silences, and the rules — those of loglens.toml and those made here, which are stored and survive a
restart. `loglens alerts …` goes through these while the daemon runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from loglens.alerts.engine import UnknownAlertError
from loglens.alerts.model import ALERT_STATES
from loglens.alerts.replay import replay_rules
from loglens.alerts.rules import parse_rule
from loglens.errors import QueryError
from loglens.query.timerange import parse_duration, parse_time_bound
from loglens.server.auth import require

if TYPE_CHECKING:
    from loglens.daemon import Daemon

router = APIRouter(prefix="/api/alerts")
admin = [Depends(require("admin"))]


class AckIn(BaseModel):
    """Who acknowledges (or resolves); the token's name when auth is on and none is given."""

    by: str | None = Field(default=None, max_length=200)


class SilenceIn(BaseModel):
    """Mute the notifications of alerts whose labels match (`rule`, `severity`, `service`, any
    label; a value starting with `~` is a regex) for a while."""

    matchers: dict[str, str] = Field(min_length=1)
    duration: str = Field(default="2h", description="15m, 2h, 1d …")
    comment: str = Field(default="", max_length=2000)
    author: str | None = Field(default=None, max_length=200)


def _daemon(request: Request) -> Daemon:
    daemon: Daemon = request.app.state.daemon
    return daemon


def _who(request: Request, given: str | None) -> str | None:
    token = getattr(request.state, "token", None)
    return given or (None if token is None else token.name)


@router.get("/rules", summary="The alert rules: loglens.toml's and those made through the API")
def rules(request: Request) -> list[dict[str, Any]]:
    """Each rule as JSON, with `source` ("config" or "api") and `enabled`."""
    daemon = _daemon(request)
    configured = {rule.name for rule in daemon.config.alerts.rules}
    engine = daemon.alerting.engine
    return [
        rule.to_json() | {"source": "config" if rule.name in configured else "api"}
        for rule in engine.rules.values()
    ]


@router.post("/rules", summary="Add or replace a rule (stored; survives a restart)", status_code=201,
             dependencies=admin)  # fmt: skip
def put_rule(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """The rule as loglens.toml would hold it, as JSON (`name`, `type`, …; docs/alerts.md). A rule
    of loglens.toml cannot be replaced here (400): edit the file."""
    daemon = _daemon(request)
    rule = parse_rule(body, "rule")
    if any(r.name == rule.name for r in daemon.config.alerts.rules):
        raise QueryError(f"rule {rule.name!r} comes from loglens.toml: change it there")
    unknown = [c for c in (*rule.channels, *rule.escalate_to) if c not in (*daemon.alerting.channels, "live")]
    if unknown:
        raise QueryError(f"rule {rule.name!r} names channels that do not exist: {', '.join(unknown)}")
    daemon.alerting.engine.put_rule(rule)
    return rule.to_json() | {"source": "api"}


@router.delete("/rules/{name}", summary="Remove a rule made through the API", status_code=204,
               dependencies=admin)  # fmt: skip
def delete_rule(request: Request, name: str) -> None:
    """404 when no API rule has this name (loglens.toml's rules are removed by editing the file)."""
    if not _daemon(request).alerting.engine.delete_rule(name):
        raise HTTPException(404, f"no rule {name!r} made through the API")


@router.post("/rules/{name}/test", summary="What a rule would have raised over the stored logs (dry run)")
def test_rule(
    request: Request,
    name: str,
    since: Annotated[str | None, Query(description="15m, 2h, 2d or a time.")] = None,
    until: Annotated[str | None, Query(description="Same forms as since; exclusive.")] = None,
) -> dict[str, Any]:
    """The alerts the rule would have opened over [since, until), found by the same engine fed the
    stored records in order; nothing is stored or sent."""
    daemon = _daemon(request)
    rule = daemon.alerting.engine.rules.get(name)
    if rule is None:
        raise HTTPException(404, f"no rule {name!r} (see GET /api/alerts/rules)")
    tz = daemon.config.timezone
    found = replay_rules(
        daemon.store, daemon.config, [rule],
        parse_time_bound(since, tz=tz) if since else None, parse_time_bound(until, tz=tz) if until else None,
    )  # fmt: skip
    return {"rule": rule.to_json(), "records": found.records, "alerts": found.alerts}


@router.get("/silences", summary="Silences not yet expired")
def silences(request: Request) -> list[dict[str, Any]]:
    """Each silence with its matchers, end, author and comment."""
    return [s.to_json() for s in _daemon(request).alerting.engine.active_silences()]


@router.post("/silences", summary="Mute matching alerts' notifications for a while", status_code=201)
def add_silence(request: Request, body: SilenceIn) -> dict[str, Any]:
    """The stored silence. Silenced alerts are still raised, counted and listed."""
    engine = _daemon(request).alerting.engine
    silence = engine.silence(
        body.matchers, parse_duration(body.duration), _who(request, body.author), body.comment
    )
    return silence.to_json()


@router.delete("/silences/{silence_id}", summary="End a silence now", status_code=204)
def delete_silence(request: Request, silence_id: str) -> None:
    """404 when there is no such silence."""
    if not _daemon(request).alerting.engine.unsilence(silence_id):
        raise HTTPException(404, f"no silence {silence_id!r}")


@router.get("", summary="Alerts, most recently changed first")
def alerts(
    request: Request,
    state: Annotated[
        str, Query(description="open, acknowledged, resolved, active (open or acknowledged) or all")
    ] = "active",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Alerts as stored (the open ones as they stand now), with the engine's counters."""
    daemon = _daemon(request)
    if state not in (*ALERT_STATES, "active", "all"):
        raise QueryError(f"state must be one of {', '.join((*ALERT_STATES, 'active', 'all'))}")
    engine = daemon.alerting.engine
    if state == "active":
        found = sorted(
            (a.to_json() for a in engine.active.values()), key=lambda a: a["last_ts"], reverse=True
        )
        found = found[:limit]
    else:
        found = daemon.alerting.ledger.alerts(None if state == "all" else state, limit)
        live = {a.id: a.to_json() for a in engine.active.values()}
        found = [live.get(a["id"], a) for a in found]
    return {"alerts": found, "counts": daemon.alerting.metrics()}


@router.get("/{alert_id}", summary="One alert with its history")
def alert(request: Request, alert_id: str) -> dict[str, Any]:
    """The alert and each step of its history (opened, notified, failed, throttled, silenced,
    escalated, acknowledged, resolved)."""
    try:
        return _daemon(request).alerting.engine.alert_json(alert_id)
    except UnknownAlertError as exc:
        raise HTTPException(404, str(exc)) from None


@router.post("/{alert_id}/ack", summary="Acknowledge: someone is on it (stops escalation)")
def acknowledge(request: Request, alert_id: str, body: AckIn | None = None) -> dict[str, Any]:
    """The alert as it stands after."""
    try:
        return _daemon(request).alerting.engine.acknowledge(
            alert_id, _who(request, body.by if body else None)
        )
    except UnknownAlertError as exc:
        raise HTTPException(404, str(exc)) from None


@router.post("/{alert_id}/resolve", summary="Resolve an alert by hand")
def resolve(request: Request, alert_id: str, body: AckIn | None = None) -> dict[str, Any]:
    """The alert as it stands after."""
    try:
        return _daemon(request).alerting.engine.resolve(alert_id, _who(request, body.by if body else None))
    except UnknownAlertError as exc:
        raise HTTPException(404, str(exc)) from None

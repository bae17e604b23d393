"""The detectors' findings over a stored range, as the views read them: one function per view, called
by the CLI on its own store and by the daemon's API on its store, so both print the same."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from itertools import chain
from typing import TYPE_CHECKING, Any

from loglens.analysis.detectors import SEVERITY_RANK, Anomaly
from loglens.analysis.report import anomaly_json
from loglens.analysis.watch import Replay, replay
from loglens.query.timerange import parse_time_bound
from loglens.store.base import Store

if TYPE_CHECKING:
    from loglens.config import Config


def replay_range(store: Store, config: Config, since: str | None, until: str | None) -> Replay:
    """The detectors run over the stored range given as `--since`/`--until` text (times without a
    zone in the config's timezone), as `loglens anomalies/incidents` run them."""
    tz = config.timezone
    since_ns = parse_time_bound(since, tz=tz) if since else None
    until_ns = parse_time_bound(until, tz=tz) if until else None
    return replay(store, since_ns, until_ns, config.analysis)


class ReplayCache:
    """Replays of stored ranges, shared while the store has not changed: the dashboard asks for a
    range's anomalies and its incidents at once, and each replay is a few hundred ms on a 100k-record
    store (seconds on a big one). Requests for the same range at the same time wait for one replay
    instead of running two; an answer is reused until the next commit, and for `ttl_s` at most
    (relative ranges such as `1h` move with the clock)."""

    def __init__(self, entries: int = 8, ttl_s: float = 5.0) -> None:
        self._entries = entries
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._found: OrderedDict[tuple[Any, ...], tuple[float, Future[Replay]]] = OrderedDict()

    def get(self, key: tuple[Any, ...], compute: Callable[[], Replay]) -> Replay:
        """The replay for `key` (the range and the store's version), computed once."""
        now = time.monotonic()
        with self._lock:
            held = self._found.get(key)
            if held is not None and now - held[0] <= self._ttl_s:
                self._found.move_to_end(key)
                future = held[1]
                mine = False
            else:
                future = Future()
                self._found[key] = (now, future)
                while len(self._found) > self._entries:
                    self._found.popitem(last=False)
                mine = True
        if mine:
            try:
                future.set_result(compute())
            except BaseException as exc:
                future.set_exception(exc)
                with self._lock:
                    self._found.pop(key, None)
        return future.result()


def named_templates(store: Store, anomalies: Iterable[Anomaly]) -> dict[str, str]:
    """The text of each template these anomalies name (findings name templates by id, people read
    the text), fetched by id rather than the whole table."""
    return store.template_texts({a.template_id for a in anomalies if a.template_id})


def replay_texts(store: Store, found: Replay) -> dict[str, str]:
    """The texts of the templates a replay's anomalies and incidents name."""
    members = (a for incident in found.incidents for a in incident.anomalies)
    return named_templates(store, chain(found.anomalies, members))


def anomalies_view(
    store: Store,
    config: Config,
    since: str | None,
    until: str | None,
    services: Sequence[str],
    min_severity: str,
    replayed: Replay | None = None,
) -> list[dict[str, Any]]:
    """`loglens anomalies --json` and `GET /api/anomalies`: the anomalies at or above `min_severity`
    of `services` (all when empty), oldest first, each with its template's text (`replayed`: the
    range's replay when the caller has it already)."""
    found = (replayed or replay_range(store, config, since, until)).anomalies
    templates = named_templates(store, found)
    floor = SEVERITY_RANK[min_severity]
    return [
        anomaly_json(a) | {"template": templates.get(a.template_id or "")}
        for a in found
        if SEVERITY_RANK[a.severity] >= floor and (not services or a.service in services)
    ]

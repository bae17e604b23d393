"""The generator's core: `demo_lines(spec)`, every file's lines in time order, as an iterator.

Each service is its own stream, made a minute at a time (baseline draws, scheduled lines, incident
effects) and ordered through a small heap of events not yet due (follow-ups such as an SSH session's
close wait there); `heapq.merge` interleaves the services. Memory is bounded by a minute of one
service plus the follow-ups in flight, whatever the span, so the same iterator feeds a 10 M-line
corpus, a live `--follow` tail or, later, a daemon's pipeline without files.

Same spec, same lines: every random draw comes from RNGs seeded by (seed, service), so output does
not depend on the machine, the time of day or the Python hash seed.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate, count
from typing import Final

from loglens.demo.baseline import MINUTE_NS, MinuteNoise, day_factor, poisson
from loglens.demo.events import Event, EventFactory
from loglens.demo.incidents import history_schedule, live_schedule
from loglens.demo.render import RENDERERS
from loglens.demo.scenario import Effect, ScheduledIncident, Service
from loglens.demo.services import SERVICES

DEFAULT_START_NS: Final = int(datetime(2026, 1, 12, tzinfo=UTC).timestamp()) * 10**9
"""Start of a corpus when none is given: a fixed moment, so that the same arguments give the same bytes."""
STARTUP_SPACING_NS: Final = 350_000_000
SCHEDULE_JITTER_NS: Final = 900_000_000
"""Scheduled lines (cron, health checks) land within this much after their second, as real ones do."""


@dataclass(frozen=True, slots=True)
class DemoLine:
    """One event of the corpus: when, which file (relative path), its text (several lines for a
    traceback, no trailing newline), and the incident that made or changed it, if any."""

    ts_ns: int
    path: str
    text: str
    incident: str | None = None


@dataclass(frozen=True, slots=True)
class DemoSpec:
    """What to generate.

    Attributes:
        start_ns: the first moment.
        seconds: the span; None for an endless stream (a live tail).
        lines_per_minute: physical lines a minute over all files on a day-average minute (the day
            curve makes nights quieter and afternoons busier; incidents add their own lines).
        seed: the same seed gives the same lines.
        incidents: incidents placed in the span.
        incident_every_s: for an endless stream, one more incident every this many seconds (in turn).
        startup: services log their start-up lines in the first seconds.
    """

    start_ns: int = DEFAULT_START_NS
    seconds: float | None = 6 * 3600.0
    lines_per_minute: float = 100_000 / 360
    seed: int = 42
    incidents: tuple[ScheduledIncident, ...] = ()
    incident_every_s: float | None = None
    startup: bool = True

    @property
    def end_ns(self) -> int | None:
        """The end of the span (exclusive), or None when endless."""
        return None if self.seconds is None else self.start_ns + round(self.seconds * 1e9)


def _span_day_factor(start_ns: int, seconds: float, services: Sequence[Service]) -> float:
    """The share-weighted day factor summed over the span's minutes (lines = this × lines_per_minute)."""
    minutes = max(1, math.ceil(seconds / 60))
    total = 0.0
    for m in range(minutes):
        length = min(60.0, seconds - 60 * m)
        mid = start_ns + m * MINUTE_NS + round(length * 5e8)
        total += sum(s.share * day_factor(mid, s.amplitude) for s in services) * length / 60
    return total


def history_spec(
    start_ns: int = DEFAULT_START_NS,
    hours: float = 6.0,
    lines: int = 100_000,
    seed: int = 42,
    services: Sequence[Service] = SERVICES,
    rate: float | None = None,
) -> DemoSpec:
    """A corpus of about `lines` physical lines over `hours` from `start_ns`, with the four incidents
    placed in it (for spans of two hours or more). With `rate`, `lines` is ignored: the corpus runs
    at about `rate` lines a second at its end, so that a live tail at that rate continues it."""
    seconds = hours * 3600
    if seconds <= 0:
        raise ValueError("a corpus needs a span: hours must be above 0")
    if rate is not None:
        level = _level_at(start_ns + round(seconds * 1e9), rate, services)
    else:
        level = lines / _span_day_factor(start_ns, seconds, services)
    return DemoSpec(start_ns, seconds, level, seed, history_schedule(start_ns, seconds, seed))


def _level_at(ts_ns: int, rate: float, services: Sequence[Service]) -> float:
    """`lines_per_minute` for about `rate` lines a second at `ts_ns`."""
    if rate <= 0:
        raise ValueError("the rate must be above 0 lines a second")
    return rate * 60 / sum(s.share * day_factor(ts_ns, s.amplitude) for s in services)


def live_spec(
    start_ns: int,
    rate: float,
    seed: int = 42,
    seconds: float | None = None,
    incident_every_s: float | None = 900.0,
    first_incident: int = 1,
    services: Sequence[Service] = SERVICES,
) -> DemoSpec:
    """A stream from `start_ns` at about `rate` lines a second at first (it follows the day curve from
    there), an incident every `incident_every_s` (None: none), numbered from `first_incident`."""
    incidents: tuple[ScheduledIncident, ...] = ()
    if incident_every_s is not None and seconds is not None:
        live = live_schedule(start_ns, incident_every_s, seed, first_incident)
        incidents = tuple(_until(live, start_ns + round(seconds * 1e9)))
    return DemoSpec(
        start_ns,
        seconds,
        _level_at(start_ns, rate, services),
        seed,
        incidents,
        incident_every_s if seconds is None else None,
        startup=False,
    )


def _until(schedule: Iterator[ScheduledIncident], end_ns: int) -> Iterator[ScheduledIncident]:
    for item in schedule:
        if item.start_ns >= end_ns:
            return
        yield item


class Schedule:
    """The incidents of a spec, asked minute by minute: the fixed ones, then (endless) the live ones,
    made as time reaches them and forgotten an hour after they end."""

    def __init__(self, spec: DemoSpec) -> None:
        self._known = list(spec.incidents)
        self._live: Iterator[ScheduledIncident] | None = None
        if spec.incident_every_s is not None:
            last = max((s.start_ns for s in spec.incidents), default=spec.start_ns)
            self._live = live_schedule(last, spec.incident_every_s, spec.seed, len(spec.incidents) + 1)

    def active(self, t0: int, t1: int) -> list[ScheduledIncident]:
        """The incidents with a change in [t0, t1] (sequences may sit on their last instant)."""
        while self._live is not None and (not self._known or self._known[-1].start_ns < t1):
            self._known.append(next(self._live))
        if self._live is not None:
            self._known = [s for s in self._known if s.end_ns >= t0 - 60 * MINUTE_NS]
        return [s for s in self._known if s.start_ns < t1 and s.end_ns >= t0]


def _ramp(effect: Effect, w0: int, w1: int, ts: int) -> float:
    """How strong an effect is at `ts`: rising over `ramp_s` after w0, falling over it before w1."""
    if effect.ramp_s <= 0:
        return 1.0
    ramp = effect.ramp_s * 1e9
    return max(0.0, min(1.0, (ts - w0) / ramp, (w1 - ts) / ramp))


class ServiceStream:
    """One service's events in time order (see the module docstring)."""

    def __init__(self, service: Service, spec: DemoSpec) -> None:
        self.service = service
        self.spec = spec
        self._rng = random.Random(f"loglens-demo/{spec.seed}/{service.name}")
        self._fx = random.Random(f"loglens-demo/{spec.seed}/{service.name}/incidents")
        factories = [EventFactory(t, service) for t in service.templates]
        self._drawn = [f for f in factories if not f.template.every_s and f.template.weight > 0]
        weights = [f.template.weight for f in self._drawn]
        self._cumulative = list(accumulate(weights))
        self._lines_per_draw = sum(
            w * f.template.physical_lines for w, f in zip(weights, self._drawn, strict=True)
        )
        self._lines_per_draw /= sum(weights)
        self._timed = [f for f in factories if f.template.every_s]
        self._timed_per_minute = sum(60 / f.template.every_s * f.template.physical_lines for f in self._timed)
        self._startup = [EventFactory(t, service) for t in service.startup]
        self._effects: dict[int, EventFactory] = {}
        self._noise = MinuteNoise(self._rng)
        self._pending: list[tuple[int, int, Event]] = []
        self._order = count()
        self._schedule = Schedule(spec)

    def usual_per_minute(self, ts_ns: int) -> float:
        """Events a minute the service draws at `ts_ns` before noise (scheduled lines aside)."""
        lines = self.spec.lines_per_minute * self.service.share * day_factor(ts_ns, self.service.amplitude)
        return max(0.0, lines - self._timed_per_minute) / self._lines_per_draw

    def _factory(self, effect: Effect, template_index: int = -1) -> EventFactory:
        template = effect.template if template_index < 0 else effect.sequence[template_index][1]
        assert template is not None
        key = id(template)
        factory = self._effects.get(key)
        if factory is None:
            factory = self._effects[key] = EventFactory(template, self.service)
        return factory

    def _push(self, events: list[Event]) -> None:
        for event in events:
            heapq.heappush(self._pending, (event.ts_ns, next(self._order), event))

    def __iter__(self) -> Iterator[Event]:
        spec = self.spec
        end = spec.end_ns
        if spec.startup:
            for i, factory in enumerate(self._startup):
                self._push(factory.draw(self._rng, spec.start_ns + (i + 1) * STARTUP_SPACING_NS, {}))
        for t0 in count(spec.start_ns, MINUTE_NS):
            if end is not None and t0 >= end:
                return
            t1 = t0 + MINUTE_NS if end is None else min(t0 + MINUTE_NS, end)
            self._minute(t0, t1)
            pending = self._pending
            while pending and pending[0][0] < t1:
                yield heapq.heappop(pending)[2]

    def _minute(self, t0: int, t1: int) -> None:
        """Draws the events of [t0, t1) into the pending heap."""
        rng = self._rng
        span = t1 - t0
        usual = self.usual_per_minute(t0 + span // 2)
        n = poisson(rng, usual * self._noise.next() * span / MINUTE_NS)
        baseline: list[Event] = []
        drawn, cumulative, total = self._drawn, self._cumulative, self._cumulative[-1]
        for _ in range(n):
            ts = t0 + int(rng.random() * span)
            baseline.extend(drawn[bisect(cumulative, rng.random() * total)].draw(rng, ts, {}))
        for factory in self._timed:
            every = round(factory.template.every_s * 1e9)
            phase = round(factory.template.phase_s * 1e9)
            first = t0 + (phase - t0) % every
            for ts in range(first, t1, every):
                baseline.extend(factory.draw(rng, ts + rng.randrange(SCHEDULE_JITTER_NS), {}))
        effects = self._incidents(t0, t1, baseline, usual)
        self._push(baseline)
        self._push(effects)

    def _incidents(self, t0: int, t1: int, baseline: list[Event], usual: float) -> list[Event]:
        """Applies the incidents active in [t0, t1): replaces and mutes baseline events in place and
        returns the events they add."""
        fx = self._fx
        added: list[Event] = []
        for scheduled in self._schedule.active(t0, t1):
            values = scheduled.values
            for effect in scheduled.incident.effects:
                if effect.service != self.service.name:
                    continue
                w0 = scheduled.start_ns + round(effect.start_s * 1e9)
                w1 = scheduled.start_ns + round(effect.end_s * 1e9)
                for i, (offset, _) in enumerate(effect.sequence):
                    ts = w0 + round(offset * 1e9)
                    if t0 <= ts < t1:
                        added.extend(self._factory(effect, i).draw(fx, ts, values, scheduled.id))
                lo, hi = max(t0, w0), min(t1, w1)
                if lo >= hi:
                    continue
                if effect.mute:
                    baseline[:] = [e for e in baseline if not (lo <= e.ts_ns < hi and e.incident is None)]
                if effect.template is None:
                    continue
                factory = self._factory(effect)
                if effect.share > 0:
                    for i, event in enumerate(baseline):
                        if (
                            event.tag == effect.match
                            and event.incident is None
                            and lo <= event.ts_ns < hi
                            and fx.random() < effect.share * _ramp(effect, w0, w1, event.ts_ns)
                        ):
                            baseline[i] = factory.replace(fx, event, values, scheduled.id, effect.keep_fields)
                if effect.per_minute > 0 or effect.relative > 0:
                    rate = (effect.per_minute + effect.relative * usual) * _ramp(
                        effect, w0, w1, (lo + hi) // 2
                    )
                    for _ in range(poisson(fx, rate * (hi - lo) / MINUTE_NS)):
                        ts = lo + int(fx.random() * (hi - lo))
                        added.extend(factory.draw(fx, ts, values, scheduled.id))
        return added


def service_lines(service: Service, spec: DemoSpec) -> Iterator[DemoLine]:
    """One service's file as `DemoLine`s, in time order."""
    render = RENDERERS[service.format]
    path = service.path
    for event in ServiceStream(service, spec):
        yield DemoLine(event.ts_ns, path, render(event), event.incident)


def _ts(line: DemoLine) -> int:
    return line.ts_ns


def demo_lines(spec: DemoSpec, services: Sequence[Service] = SERVICES) -> Iterator[DemoLine]:
    """Every file's lines of the demo corpus, in time order across files (ties: `services` order)."""
    return heapq.merge(*(service_lines(s, spec) for s in services), key=_ts)

"""The demo scenario's vocabulary as data: templates, services, incident effects and incidents.

Everything the generator knows about the fictional shop (`services.py`) and what goes wrong in it
(`incidents.py`) is written with these frozen dataclasses, so the story can be read, changed and
tested without touching the generator's machinery (`stream.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

Pairs = tuple[tuple[str, str], ...]
"""(name, template) pairs, in order: later ones may use earlier ones as `{$name}`."""

LEVELS = ("debug", "info", "warning", "error", "critical")


@dataclass(frozen=True, slots=True)
class Template:
    """One kind of event a service logs.

    Attributes:
        text: the message, with `{generator}` and `{$bound}` placeholders (see `values.py`); for
            access logs the request path. Empty in a replacement: the replaced event keeps its text.
        level: what the event means (debug … critical); each format writes it its own way.
        weight: share among the service's randomly drawn events (0: only scheduled or injected).
        source: the logger (Python, Java), `program[pid]` (syslog) or severity word (PostgreSQL).
        thread: the thread (Java).
        let: values drawn first, usable as `{$name}` in everything else (and in follow-ups).
        fields: structured fields (JSON, logfmt, access log parts), in order.
        trace: continuation lines (a traceback or stack trace), joined to the event.
        then: follow-up events of the same story, each with its delay in seconds (a template).
        tag: what the event is about, so that incidents can degrade matching events (`Effect.match`).
        every_s: emitted on a schedule, every this many seconds of wall time (0: drawn by weight).
        phase_s: offset of the schedule within each period (a cron job at minute 17 of the hour).
    """

    text: str
    level: str = "info"
    weight: float = 0.0
    source: str = ""
    thread: str = ""
    let: Pairs = ()
    fields: Pairs = ()
    trace: str = ""
    then: tuple[tuple[str, Template], ...] = ()
    tag: str = ""
    every_s: float = 0.0
    phase_s: float = 0.0

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"template level must be one of {LEVELS}, not {self.level!r}")

    @property
    def physical_lines(self) -> int:
        """Lines this event and its follow-ups take in a file."""
        own = 1 + (self.trace.count("\n") + 1 if self.trace else 0)
        return own + sum(t.physical_lines for _, t in self.then)


@dataclass(frozen=True, slots=True)
class Service:
    """One log file and the service writing it.

    Attributes:
        name: the service (the JSON `service` field; elsewhere loglens names it from the path).
        path: the file, relative to the corpus folder.
        format: the loglens format the file must be detected as (`formats.registry()` names).
        host: the host name (an expression: `api-{pick:1|2}`).
        share: this file's share of the corpus' lines.
        amplitude: how strongly its volume follows the day (0 flat, 0.7: 0.3× at night, 1.7× at peak).
        templates: what it logs.
        fields: fields every event gets unless its template sets them (defaults such as a client IP).
        startup: events logged when the service starts (the first seconds of a corpus).
    """

    name: str
    path: str
    format: str
    host: str
    share: float
    amplitude: float
    templates: tuple[Template, ...]
    fields: Pairs = ()
    startup: tuple[Template, ...] = ()


@dataclass(frozen=True, slots=True)
class Effect:
    """One change an incident makes to one service, over `[start_s, end_s)` after the incident starts.

    An effect does one or more of: inject `template` events at `per_minute` plus `relative` × the
    service's usual events per minute; replace a `share` of the service's usual events tagged `match`
    with `template` (keeping their text, and with `keep_fields` their fields, unless the template sets
    them: a failed request keeps its route, a failed render drops the send's fields); log `sequence`, a
    fixed story of events at given offsets; or `mute` the service's usual events (it is down). Rates
    and shares rise over `ramp_s` at the start and fall over it at the end.

    `shows_as` is the service loglens will see the change in (for syslog files: the program).
    """

    service: str
    shows_as: str
    start_s: float
    end_s: float
    template: Template | None = None
    per_minute: float = 0.0
    relative: float = 0.0
    share: float = 0.0
    match: str = ""
    sequence: tuple[tuple[float, Template], ...] = ()
    mute: bool = False
    ramp_s: float = 30.0
    keep_fields: bool = True


@dataclass(frozen=True, slots=True)
class Incident:
    """Something that goes wrong: its effects, the services it shows in (in onset order), its cause.

    `let` draws values shared by all its effects (the attacker's address, the killed pid).
    """

    kind: str
    title: str
    description: str
    root_cause: str
    services: tuple[str, ...]
    effects: tuple[Effect, ...]
    let: Pairs = ()

    @property
    def duration_s(self) -> float:
        """From its first change to its last."""
        return max(e.end_s for e in self.effects) - min(e.start_s for e in self.effects)

    def windows(self) -> dict[str, tuple[float, float]]:
        """Per service it shows in, the offsets (s) of its first and last change."""
        found: dict[str, tuple[float, float]] = {}
        for e in self.effects:
            start, end = found.get(e.shows_as, (e.start_s, e.end_s))
            found[e.shows_as] = (min(start, e.start_s), max(end, e.end_s))
        return found


@dataclass(frozen=True, slots=True)
class ScheduledIncident:
    """An incident placed in time: `INC-<n>` starting at `start_ns`."""

    id: str
    incident: Incident
    start_ns: int
    values: dict[str, str | int | float | None] = field(default_factory=dict, compare=False)

    @property
    def end_ns(self) -> int:
        """When its last effect ends."""
        return self.start_ns + int(max(e.end_s for e in self.incident.effects) * 1e9)

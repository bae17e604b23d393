"""Templates compiled once into event factories: a drawn `Event` is what a renderer turns into text.

An event is format-free (a level name, a message, a source, fields, a trace); the file's format is
applied later by `render.py`, so one scenario can be written as nginx, JSON, logback or syslog.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from loglens.demo.scenario import Pairs, Service, Template
from loglens.demo.values import Bindings, Draw, Value, compile_text


@dataclass(slots=True)
class Event:
    """One log event before rendering.

    `fields` are the structured values (JSON/logfmt keys, access-log parts, a PostgreSQL pid);
    `trace` the continuation lines; `incident` the id of the incident that made or changed it.
    """

    ts_ns: int
    service: str
    host: str
    level: str
    text: str
    source: str
    thread: str
    fields: dict[str, Value]
    trace: str
    tag: str
    incident: str | None = None


def _compile_pairs(pairs: Pairs) -> tuple[tuple[str, Draw], ...]:
    return tuple((name, compile_text(text)) for name, text in pairs)


class EventFactory:
    """One template of one service, compiled: `draw` makes its event and follow-ups.

    The service's default fields are drawn only for the keys the template leaves unset, after the
    template's own (so JSON keys come out in the template's order, defaults last). Follow-ups see
    the values their parent drew (`let`), so an SSH session's close names its own pid and port.
    """

    __slots__ = ("_defaults", "_fields", "_host", "_let", "_service", "_source", "_text", "_thread",
                 "_trace", "template", "then")  # fmt: skip

    def __init__(self, template: Template, service: Service) -> None:
        self.template = template
        self._service = service.name
        self._host = compile_text(service.host)
        self._text = compile_text(template.text)
        self._source = compile_text(template.source)
        self._thread = compile_text(template.thread)
        self._trace = compile_text(template.trace) if template.trace else None
        self._let = _compile_pairs(template.let)
        self._fields = _compile_pairs(template.fields)
        own = {name for name, _ in template.fields}
        self._defaults = tuple((n, d) for n, d in _compile_pairs(service.fields) if n not in own)
        self.then = tuple((compile_text(delay), EventFactory(t, service)) for delay, t in template.then)

    def bind(self, rng: random.Random, bound: Bindings) -> Bindings:
        """The template's `let` values drawn on top of `bound` (an incident's or a parent's values)."""
        if not self._let:
            return bound
        values = dict(bound)
        for name, draw in self._let:
            values[name] = draw(rng, values)
        return values

    def fields(self, rng: random.Random, values: Bindings, defaults: bool = True) -> dict[str, Value]:
        """The template's fields, then (with `defaults`) the service's for keys still missing."""
        out = {name: draw(rng, values) for name, draw in self._fields}
        if defaults:
            for name, draw in self._defaults:
                out[name] = draw(rng, values)
        return out

    def draw(
        self, rng: random.Random, ts_ns: int, bound: Bindings, incident: str | None = None
    ) -> list[Event]:
        """The event at `ts_ns` and its follow-ups (each at its delay), in the order drawn."""
        values = self.bind(rng, bound)
        t = self.template
        event = Event(
            ts_ns=ts_ns,
            service=self._service,
            host=str(self._host(rng, values)),
            level=t.level,
            text=str(self._text(rng, values)),
            source=str(self._source(rng, values)),
            thread=str(self._thread(rng, values)),
            fields=self.fields(rng, values),
            trace=str(self._trace(rng, values)) if self._trace is not None else "",
            tag=t.tag,
            incident=incident,
        )
        events = [event]
        for delay, factory in self.then:
            later = ts_ns + round(float(delay(rng, values) or 0) * 1e9)
            events.extend(factory.draw(rng, later, values, incident))
        return events

    def replace(
        self, rng: random.Random, original: Event, bound: Bindings, incident: str, keep_fields: bool = True
    ) -> Event:
        """`original` turned into this template's event: what the template sets wins, the rest (a
        request's path, client and route; with `keep_fields`, its fields) is kept, so a failing
        request is still that request."""
        values = self.bind(rng, bound)
        t = self.template
        fields = self.fields(rng, values, defaults=not keep_fields)
        return replace(
            original,
            level=t.level,
            text=str(self._text(rng, values)) if t.text else original.text,
            source=str(self._source(rng, values)) if t.source else original.source,
            thread=str(self._thread(rng, values)) if t.thread else original.thread,
            fields={**original.fields, **fields} if keep_fields else fields,
            trace=str(self._trace(rng, values)) if self._trace is not None else "",
            incident=incident,
        )

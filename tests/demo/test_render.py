"""Tests for loglens.demo.render: every service's lines read back by loglens's own parsers."""

from __future__ import annotations

from datetime import UTC

import pytest

from loglens.demo.events import Event
from loglens.demo.render import RENDERERS, logfmt_value, render_syslog
from loglens.demo.scenario import Service
from loglens.demo.services import SERVICES
from loglens.demo.stream import DemoSpec, ServiceStream, history_spec
from loglens.formats import registry
from loglens.formats.base import SourceContext
from loglens.formats.level import LevelClassifier
from loglens.formats.logfmt import split_pairs
from loglens.formats.multiline import EventFramer
from loglens.formats.timestamp import TimestampParser
from loglens.record import Level

# What each format writes for a demo level, as loglens reads it back (formats that state a level).
STATED = {
    "json": {"debug": Level.DEBUG, "info": Level.INFO, "warning": Level.WARNING, "error": Level.ERROR,
             "critical": Level.FATAL},
    "logfmt": {"debug": Level.DEBUG, "info": Level.INFO, "warning": Level.WARNING, "error": Level.ERROR,
               "critical": Level.FATAL},
    "python": {"debug": Level.DEBUG, "info": Level.INFO, "warning": Level.WARNING, "error": Level.ERROR,
               "critical": Level.CRITICAL},
    "java": {"debug": Level.DEBUG, "info": Level.INFO, "warning": Level.WARNING, "error": Level.ERROR,
             "critical": Level.ERROR},
}  # fmt: skip
# Stamps these formats write to the second only.
SECONDS_ONLY = {"clf", "syslog"}


def context(spec: DemoSpec) -> SourceContext:
    return SourceContext(
        source="demo",
        service="demo",
        host="test",
        observed_ns=0,
        timestamps=TimestampParser(tz=UTC, reference_ns=spec.start_ns + 86_400 * 10**9),
        levels=LevelClassifier(()),
    )


def events_of(service: Service, spec: DemoSpec) -> list[Event]:
    return list(ServiceStream(service, spec))


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
class TestReadBack:
    # Two hours around the causal chain of a 6 h corpus, so incident lines are rendered too.
    spec = history_spec(hours=6, lines=100_000, seed=3)

    def test_each_event_frames_and_parses(self, service: Service) -> None:
        """Each rendered event is one event to loglens's framer, parsed without error, at its time."""
        spec = self.spec
        events = [
            e for e in events_of(service, spec) if 2 * 3600 <= (e.ts_ns - spec.start_ns) / 1e9 < 3 * 3600
        ]
        fmt = registry()[service.format]
        render = RENDERERS[service.format]
        lines = [line for e in events for line in render(e).split("\n")]
        framer = EventFramer(fmt)
        framed = framer.feed(lines) + framer.flush()
        assert len(framed) == len(events)
        records = fmt.parse(framed, context(spec))
        assert [r.parse_error for r in records if r.parse_error] == []
        for event, record in zip(events, records, strict=True):
            precision = 10**9 if service.format in SECONDS_ONLY else 10**6
            assert record.ts == event.ts_ns - event.ts_ns % precision
            if service.format in STATED:
                assert record.level == STATED[service.format][event.level], record.raw

    def test_multiline_events_keep_their_trace(self, service: Service) -> None:
        """An event with a trace is stored whole: its raw text holds every trace line."""
        spec = self.spec
        traced = [e for e in events_of(service, spec) if e.trace]
        if service.format not in ("python", "java"):
            assert traced == []
            return
        assert traced, "the service logs tracebacks"
        fmt = registry()[service.format]
        render = RENDERERS[service.format]
        framer = EventFramer(fmt)
        framed = framer.feed([line for e in traced for line in render(e).split("\n")]) + framer.flush()
        records = fmt.parse(framed, context(spec))
        assert [r.raw.count("\n") for r in records] == [e.trace.count("\n") + 1 for e in traced]
        assert all(r.fields and ("exception" in r.fields or "root_cause" in r.fields) for r in records)


class TestFormatDetails:
    def test_logfmt_values_round_trip(self) -> None:
        """Quoted logfmt values (spaces, quotes, backslashes) read back as written."""
        tricky = 'template: x.html:27: executing "x.html" at <.Order>: can\'t evaluate \\ field'
        line = (
            f"msg={logfmt_value(tricky)} n={logfmt_value(5)} empty={logfmt_value('')} ok={logfmt_value('a')}"
        )
        pairs, _ = split_pairs(line)
        assert pairs == {"msg": tricky, "n": 5, "empty": "", "ok": "a"}

    def test_kernel_lines_carry_an_uptime(self) -> None:
        """Kernel lines in syslog have the ring buffer's `[seconds.micros]` stamp after `kernel:`."""
        event = Event(1_768_176_000 * 10**9, "host", "app-1", "info", "Call Trace:", "kernel", "", {}, "", "")
        line = render_syslog(event)
        assert line.startswith("Jan 12 00:00:00 app-1 kernel: [")
        record = registry()["syslog"].parse([line], context(history_spec()))[0]
        assert record.service == "kernel" and record.fields and record.fields["uptime"] > 0
        assert record.message == "Call Trace:"

"""Tests for loglens.tui.data: the figures, lines and rows `loglens monit` shows, made from API
answers; and the supervised command's CPU and memory that /api/health now reports."""

from __future__ import annotations

import sys
import time
from typing import Any, ClassVar

import pytest
from rich.text import Text

from loglens.formats.timestamp import from_iso_ms, to_iso_ms
from loglens.sources.supervised import CommandSpec, SupervisedCommand
from loglens.tui.data import (
    Header,
    HostFigures,
    LogFeed,
    LogFilter,
    Window,
    announcement,
    command_rows,
    compact,
    describe_window,
    header_text,
    human_bytes,
    incident_rows,
    key_series,
    line_level,
    log_line,
    next_due,
    next_service,
    pattern_rows,
    printable,
    resample,
    rest_width,
    service_rows,
    sparkline,
    window_for,
)
from loglens.tui.logs import SeverityHighlighter

HOUR_NS = 3600 * 10**9
NOW = from_iso_ms("2026-11-27T12:00:00Z")


def record(msg: str, ts: str = "2026-11-21T05:59:59.268Z", **kw: Any) -> dict[str, Any]:
    return {"ts": ts, "lvl": "info", "svc": "api", "host": "vm", "pid": None, "msg": msg, "fields": {}, **kw}


class TestWindow:
    def test_live_when_the_newest_record_is_recent(self) -> None:
        """Records within the window's length of now: it ends now and is asked as a duration."""
        window = window_for(to_iso_ms(NOW - 10**9), NOW, HOUR_NS)
        assert window.live and window.end_ns == NOW
        assert window.params() == {"since": "1h"}

    def test_an_old_store_shows_its_last_hour(self) -> None:
        """A store whose newest record is days old: the hour up to and including that record."""
        window = window_for("2026-11-21T05:59:59.970Z", NOW, HOUR_NS)
        assert not window.live
        assert window.params() == {"since": "2026-11-21T04:59:59.971Z", "until": "2026-11-21T05:59:59.971Z"}
        assert describe_window(window) == "1h to 11-21 05:59 UTC"

    def test_an_empty_store_is_live(self) -> None:
        """No records yet: the window ends now (records may start arriving)."""
        assert window_for(None, NOW, HOUR_NS).live

    def test_sparkline_buckets(self) -> None:
        """About sixty buckets per window, in whole seconds."""
        assert Window(0, HOUR_NS, True).bucket() == "1m"
        assert Window(0, 24 * HOUR_NS, True).bucket() == "24m"
        assert Window(0, 10 * 10**9, True).bucket() == "1s"


class TestNextDue:
    def test_cheap_fetches_follow_the_refresh(self) -> None:
        """A fetch much shorter than the refresh comes back after the refresh."""
        assert next_due(100.0, 0.1, 2.0) == 102.0

    def test_slow_fetches_wait_four_times_as_long(self) -> None:
        """A fetch taking 3 s is next due 12 s later: at most a fifth of the daemon's time."""
        assert next_due(100.0, 3.0, 2.0) == 112.0


class TestSeries:
    STATS: ClassVar[dict[str, Any]] = {
        "bucket_ms": 60_000,
        "by": "service",
        "buckets": [
            {"start": "2026-11-21T05:00:00.000Z", "counts": {"api": 3, "db": 1}},
            {"start": "2026-11-21T05:02:00.000Z", "counts": {"api": 5}},
            {"start": "2026-11-21T07:00:00.000Z", "counts": {"api": 99}},
        ],
    }

    def test_buckets_land_in_place_with_zeros_between(self) -> None:
        """Each key gets one value per bucket of the window; missing buckets are 0; outside is left out."""
        window = Window(from_iso_ms("2026-11-21T05:00:00Z"), from_iso_ms("2026-11-21T05:04:00Z"), False)
        series = key_series(self.STATS, window)
        assert series == {"api": [3, 0, 5, 0], "db": [1, 0, 0, 0]}

    def test_resample_averages_into_the_width(self) -> None:
        """Sixty points into four cells are the means of fifteen each; fewer points stay as they are."""
        assert resample([1.0] * 15 + [3.0] * 45, 4) == [1.0, 3.0, 3.0, 3.0]
        assert resample([1, 2], 4) == [1, 2]

    def test_sparkline_scales_to_the_largest_and_blanks_nothing(self) -> None:
        """The largest value is a full block, zero is blank, and short series sit at the right."""
        assert sparkline([0, 4, 8], 5) == "   ▄█"
        assert sparkline([3], 3, top=100) == "  ▁"
        assert sparkline([], 3) == "   "


class TestServiceRows:
    def test_figures_from_summary_and_stats(self) -> None:
        """Lines, errors (error and worse), health and restarts come from the summary; the rate is
        per minute of the window since its first records; the sparklines from the two stats."""
        window = Window(from_iso_ms("2026-11-21T05:00:00Z"), from_iso_ms("2026-11-21T05:10:00Z"), False)
        summary = [
            {"service": "api", "total": 100, "levels": {"info": 90, "error": 6, "critical": 2, "warning": 2},
             "health": 85, "restarts": 1,
             "last_error": {"ts": "2026-11-21T05:09:00.000Z", "message": "boom\x1b[2J"}},
            {"service": "db", "total": 5, "levels": {"info": 5}, "health": 100, "restarts": 0,
             "last_error": None},
        ]  # fmt: skip
        volume = {"bucket_ms": 60_000, "buckets": [
            {"start": "2026-11-21T05:05:00.000Z", "counts": {"api": 60, "db": 5}},
            {"start": "2026-11-21T05:09:00.000Z", "counts": {"api": 40}},
        ]}  # fmt: skip
        errors = {
            "bucket_ms": 60_000,
            "buckets": [{"start": "2026-11-21T05:09:00.000Z", "counts": {"api": 8}}],
        }
        api, db = service_rows(summary, volume, errors, window)
        assert (api.service, api.lines, api.errors, api.health, api.restarts) == ("api", 100, 8, 85, 1)
        assert api.error_pct == 8.0
        assert api.per_minute == 20.0  # 100 lines over the 5 minutes since 05:05
        assert api.volume == [0, 0, 0, 0, 0, 60, 0, 0, 0, 40]
        assert api.error_volume[-1] == 8 and sum(api.error_volume) == 8
        assert api.last_error == "05:09:00 boom\ufffd[2J"
        assert db.error_volume == [0] * 10 and db.last_error is None

    def test_rest_width_fits_80_columns(self) -> None:
        """The flexible columns get what the fixed ones and the padding leave."""
        assert rest_width(80, [12, 6, 5, 6, 3], shares=2) == 16
        assert rest_width(20, [12, 6, 5, 6, 3], shares=2) == 4


class TestNumbers:
    def test_compact(self) -> None:
        """Counts fit five columns."""
        assert [compact(n) for n in (0, 7.5, 950, 12_345, 4_100_000)] == ["0", "7.5", "950", "12.3k", "4.1M"]

    def test_human_bytes(self) -> None:
        """Memory reads as top shows it; unknown is a dash."""
        assert [human_bytes(n) for n in (None, 512, 8_912_896, 3 * 2**30)] == [
            "–",
            "512 B",
            "8.5 MB",
            "3.0 GB",
        ]


class TestLogLine:
    def test_fixed_columns(self) -> None:
        """Time of day with ms, a five-letter level, the service in ten columns, the message."""
        line = log_line(record("hello", lvl="warning", svc="systemd-logind"))
        assert line == "05:59:59.268 WARN  systemd-l… hello"
        assert line_level(line) == "warning"

    def test_escape_sequences_are_shown_not_obeyed(self) -> None:
        """A log line carrying terminal escapes cannot drive the screen: control characters are replaced."""
        line = log_line(record("evil \x1b]0;title\x07 \x1b[2J done\tx"))
        assert "\x1b" not in line and "\x07" not in line
        assert line.endswith("evil \ufffd]0;title\ufffd \ufffd[2J done x")
        assert printable("plain") == "plain"

    def test_multiline_events_show_their_first_line(self) -> None:
        """A traceback shows its first line, marked as having more."""
        assert log_line(record("Traceback\n  File x")).endswith("Traceback …")

    def test_the_highlighter_colours_by_severity(self) -> None:
        """An error line's level and message take the error colour; an info line's message stays plain."""
        error = Text(log_line(record("db down", lvl="error")))
        SeverityHighlighter().highlight(error)
        styles = {str(span.style) for span in error.spans}
        assert "#ff6b6b" in styles and "dim" in styles
        info = Text(log_line(record("fine")))
        SeverityHighlighter().highlight(info)
        assert not any(span.start >= 30 for span in info.spans)


class TestLogFeed:
    def test_overlapping_deliveries_show_once(self) -> None:
        """The backlog and the live channel both carry a record stored in between: one line."""
        feed = LogFeed(10)
        assert len(feed.offer([record("a"), record("b")])) == 2
        assert [line[-1] for line in feed.offer([record("b"), record("c")])] == ["c"]
        assert feed.newest_ts == "2026-11-21T05:59:59.268Z"

    def test_twins_in_one_batch_both_show(self) -> None:
        """Two identical lines logged in the same second are two lines; re-reading one of them is not."""
        feed = LogFeed(10)
        assert len(feed.offer([record("GET /healthz"), record("GET /healthz")])) == 2
        assert len(feed.offer([record("GET /healthz"), record("GET /healthz"), record("GET /healthz")])) == 1

    def test_pause_holds_and_resume_releases(self) -> None:
        """While paused nothing is written and lines are held; resuming hands them over in order."""
        feed = LogFeed(3)
        feed.pause()
        assert feed.offer([record(str(i), ts=f"2026-11-21T06:00:0{i}.000Z") for i in range(5)]) == []
        assert (len(feed.held), feed.dropped) == (3, 2)
        released = feed.resume()
        assert [line[-1] for line in released] == ["2", "3", "4"]
        assert not feed.paused and list(feed.shown) == released

    def test_memory_is_bounded(self) -> None:
        """However many records pass, the feed keeps `limit` lines and `2×limit` keys."""
        feed = LogFeed(5)
        for i in range(100):
            feed.offer([record(f"m{i}")])
        assert len(feed.shown) == 5 and len(feed._keys) == 10 and len(feed._known) == 10

    def test_reset_forgets(self) -> None:
        """A new filter starts from nothing: records seen before show again."""
        feed = LogFeed(5)
        feed.offer([record("a")])
        feed.reset()
        assert len(feed.offer([record("a")])) == 1


class TestLogFilter:
    def test_params_and_description(self) -> None:
        """The filter becomes the API's `q` and `service` parameters and a title."""
        assert LogFilter().params() == {"q": ""}
        chosen = LogFilter("api", "level:error")
        assert chosen.params() == {"q": "level:error", "service": ["api"]}
        assert chosen.describe() == "service api · filter level:error"

    def test_next_service_cycles_then_all(self) -> None:
        """`l` on the logs pane goes through the services in order, then back to all."""
        names = ["api", "db"]
        assert [next_service(names, s) for s in (None, "api", "db", "gone")] == ["api", "db", None, None]


class TestRows:
    def test_incidents_newest_first(self) -> None:
        """Incidents are listed newest first with their span, services and root cause."""
        incidents: list[dict[str, Any]] = [
            {"id": "i1", "start": "2026-11-21T01:12:00.000Z", "end": "2026-11-21T01:20:00.000Z",
             "severity": "critical", "services": ["nginx", "sshd"],
             "root_cause": {"service": "nginx", "template": "GET /x"}},
            {"id": "i2", "start": "2026-11-21T02:24:00.000Z", "end": None, "severity": "warning",
             "services": ["billing"], "root_cause": None},
        ]  # fmt: skip
        rows = incident_rows(incidents)
        assert [r.id for r in rows] == ["i2", "i1"]
        assert rows[1].when == "11-21 01:12–01:20" and rows[1].root_cause == "nginx: GET /x"
        assert (rows[1].cause_service, rows[0].cause_service) == ("nginx", None)
        assert rows[0].when == "11-21 02:24" and rows[0].root_cause == "?: "

    def test_patterns(self) -> None:
        """Patterns keep the API's order with the share in percent."""
        pattern = {"template_id": "api-5", "template": "request <*>", "service": "api", "count": 2112,
                   "share": 0.071647, "trend": "Stable", "level": "info"}  # fmt: skip
        rows = pattern_rows([pattern])
        assert (rows[0].template_id, rows[0].count, round(rows[0].share_pct, 2)) == ("api-5", 2112, 7.16)

    def test_commands_from_health(self) -> None:
        """A running command shows its uptime, CPU and memory; a failed one is flagged."""
        health = {"commands": [
            {"name": "web", "pid": 41, "running": True, "up_s": 300.0, "restarts": 2, "last_exit": 1,
             "error": None, "cpu_percent": 12.5, "rss_bytes": 1024},
            {"name": "job", "pid": None, "running": False, "up_s": None, "restarts": 0, "last_exit": 3,
             "error": None},
        ]}  # fmt: skip
        web, job = command_rows(health)
        assert (web.state, web.cpu_percent, web.rss_bytes, web.failing) == ("up 5m", 12.5, 1024, False)
        assert (job.state, job.cpu_percent, job.failing) == ("exited", None, True)
        assert command_rows(None) == []


class TestAnnouncement:
    def test_incidents_and_alert_changes_are_announced(self) -> None:
        """An incident opening and an alert opening are toasts; an alert's notification is not."""
        incident = {"type": "incident", "state": "opened", "incident": {"id": "inc-1"}}
        assert announcement(incident) == "incident opened: inc-1"
        opened = {"type": "alert", "change": "opened", "alert": {"id": "a1", "title": "db down"}}
        assert announcement(opened) == "alert opened: db down"
        assert announcement({"type": "alert", "change": "notification", "notification": {}}) is None
        assert announcement({"type": "anomaly", "anomaly": {}}) is None


class TestHeaderText:
    def test_store_mode_says_there_is_no_daemon(self) -> None:
        """Without a daemon the top line names the store and says host figures are not there."""
        header = Header(None, None, None, None, None, [])
        window = Window(0, HOUR_NS, live=True)
        assert header_text(header, "s.duckdb", window).plain == (
            "loglens store s.duckdb (read-only, no daemon) · last 1h"
        )

    def test_daemon_mode_shows_host_and_alerts(self) -> None:
        """With a daemon: its address, the host's CPU and memory, open alerts, records and uptime."""
        host = HostFigures(12.0, 43.0, [10.0, 12.0], [43.0, 43.0])
        header = Header("http://127.0.0.1:9000", 1234, 300.0, host, 2, [])
        plain = header_text(header, "s.duckdb", None).plain
        assert plain.startswith("loglens daemon 127.0.0.1:9000 · cpu 12% mem 43% · ")
        longer = HostFigures(100.0, 43.0, [0.0] * 5 + [100.0], [43.0] * 6)
        with_course = header_text(Header("http://x", None, None, longer, None, []), "s", None).plain
        assert with_course == "loglens daemon x · cpu 100%      █ mem 43% ▄▄▄▄▄▄"
        assert "mem 43%" in plain and "2 open alerts" in plain and "1,234 records" in plain
        assert plain.endswith("up 5m")


class TestSupervisedCommandUsage:
    def test_running_command_reports_cpu_and_memory(self) -> None:
        """/api/health's entry for a running command carries its CPU % (a busy one shows some) and
        resident memory; once it has ended both are None."""
        busy = "import time\nend = time.time() + 30\nwhile time.time() < end: pass"
        command = SupervisedCommand(CommandSpec("spin", (sys.executable, "-c", busy)))
        running = command.start(time.monotonic())
        assert running is not None
        try:
            first = command.status()
            assert first["pid"] == running.process.pid
            assert isinstance(first["rss_bytes"], int) and first["rss_bytes"] > 0
            deadline = time.monotonic() + 10
            while True:
                time.sleep(0.3)
                later = command.status()
                cpu = later["cpu_percent"]
                assert isinstance(cpu, float)
                if cpu > 0 or time.monotonic() > deadline:
                    break
            assert cpu > 0
            row = command_rows({"commands": [later]})[0]
            assert row.pid == running.process.pid and row.cpu_percent == cpu
        finally:
            running.process.kill()
        code, seconds = running.wait()
        for pipe in (running.process.stdout, running.process.stderr):
            assert pipe is not None
            pipe.close()
        command.ended(code, seconds, time.monotonic())
        assert (command.status()["cpu_percent"], command.status()["rss_bytes"]) == (None, None)


@pytest.mark.parametrize(
    "level", ["trace", "debug", "info", "notice", "warning", "error", "critical", "fatal"]
)
def test_every_level_reads_back(level: str) -> None:
    """The highlighter finds every level's colour from the line it was written in."""
    assert line_level(log_line(record("x", lvl=level))) == level

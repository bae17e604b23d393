"""Tests for loglens.sources.journald: real journal files (made by systemd-journal-remote), real journalctl.

Journal files are written from journal export format by Debian's `systemd-journal-remote` package; the
tests that need it skip, saying so, where it is not installed (`make test` installs it).
"""

from __future__ import annotations

import select
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import spawned
from journal_files import BASE_US, BOOT_ID, entry, export_format, journal_remote, needs_journal, write_journal
from loglens.errors import ConfigError, LoglensError
from loglens.formats.multiline import TRUNCATION_MARK
from loglens.record import Level, Record
from loglens.sources.file import Checkpoint
from loglens.sources.journald import (
    JournalSettings,
    JournalSource,
    cursor_of,
    journal_checkpoint,
    journalctl_argv,
    parse_journald,
    parse_line,
    record_from_entry,
)

OBSERVED = 1_800_000_000_000_000_000


def fake_journalctl(tmp_path: Path, output: bytes, status: int = 0, stderr: str = "") -> str:
    """A stand-in journalctl that prints `output` (and `stderr`) and exits with `status`."""
    data = tmp_path / "fake-output"
    data.write_bytes(output)
    script = tmp_path / "fake-journalctl"
    script.write_text(f"#!/bin/sh\ncat '{data}'\nprintf '%s' '{stderr}' >&2\nexit {status}\n")
    script.chmod(0o755)
    return str(script)


@pytest.fixture
def open_source() -> Iterator[Callable[..., JournalSource]]:
    """Starts JournalSources; every one is closed (journalctl stopped and reaped) at teardown."""
    started: list[JournalSource] = []

    def start(settings: JournalSettings, cursor: str | None = None, **options: Any) -> JournalSource:
        source = JournalSource(settings, cursor, **options)
        started.append(source)
        source.start()
        return source

    yield start
    for source in started:
        source.close()


def read_records(source: JournalSource, count: int, timeout: float = 5.0) -> tuple[list[Record], str | None]:
    """Polls until `count` records came (or `timeout`), returning them and the last cursor handed out."""
    records: list[Record] = []
    cursor = None
    deadline = time.monotonic() + timeout
    while len(records) < count and time.monotonic() < deadline and not source.done:
        batch = source.poll(time.monotonic())
        records += batch.records
        cursor = batch.cursor or cursor
        if not batch.records:
            select.select([source.fd], [], [], 0.05)
    return records, cursor


def quiet_for(source: JournalSource, seconds: float) -> list[Record]:
    """Whatever the source hands out within `seconds` (used to show that nothing more comes)."""
    return read_records(source, 1_000_000, timeout=seconds)[0]


def messages(records: list[Record]) -> list[str]:
    return [record.message for record in records]


# ---------------------------------------------------------------------------------------- tests


class TestRecordFromEntry:
    def test_columns_and_fields(self) -> None:
        """An entry's message, time, level, service, host, pid and kept fields land where they belong."""
        record = record_from_entry(
            {
                "__CURSOR": "s=1;i=2",
                "__REALTIME_TIMESTAMP": "1763640000123456",
                "__MONOTONIC_TIMESTAMP": "99",
                "__SEQNUM": "2",
                "__SEQNUM_ID": "abc",
                "_BOOT_ID": BOOT_ID,
                "MESSAGE": "disk full",
                "PRIORITY": "3",
                "SYSLOG_IDENTIFIER": "backup",
                "SYSLOG_FACILITY": "3",
                "_HOSTNAME": "db1",
                "_PID": "812",
                "_UID": "0",
                "_COMM": "backup.sh",
                "_SYSTEMD_UNIT": "backup.service",
                "_TRANSPORT": "journal",
                "_CAP_EFFECTIVE": "1ffffffffff",
                "_SOURCE_REALTIME_TIMESTAMP": "1763640000123000",
                "CODE_FILE": "main.c",
                "CODE_LINE": "42",
                "ERRNO": "28",
                "DEVICE": "/dev/sda1",
                "TRACE_ID": "4bf92f3577b34da6a3ce929d0e0e4736",
                "SPAN_ID": "00f067aa0ba902b7",
            },
            OBSERVED,
        )
        assert (record.message, record.raw, record.level) == ("disk full", "disk full", Level.ERROR)
        assert (record.service, record.host, record.pid, record.source) == ("backup", "db1", 812, "journald")
        assert (record.ts, record.observed_ts) == (1_763_640_000_123_456_000, OBSERVED)
        assert (record.trace_id, record.span_id) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
        assert record.fields == {
            "_BOOT_ID": BOOT_ID,
            "SYSLOG_FACILITY": "3",
            "_UID": "0",
            "_SYSTEMD_UNIT": "backup.service",
            "_TRANSPORT": "journal",
            "CODE_FILE": "main.c",
            "CODE_LINE": "42",
            "ERRNO": "28",
            "DEVICE": "/dev/sda1",
        }
        assert record.parse_error is None

    @pytest.mark.parametrize(
        ("priority", "level"),
        [
            ("0", Level.FATAL),
            ("1", Level.CRITICAL),
            ("2", Level.CRITICAL),
            ("3", Level.ERROR),
            ("4", Level.WARNING),
            ("5", Level.NOTICE),
            ("6", Level.INFO),
            ("7", Level.DEBUG),
            (None, Level.INFO),
            ("9", Level.INFO),
            ("loud", Level.INFO),
        ],
    )
    def test_priority_to_level(self, priority: str | None, level: Level) -> None:
        """PRIORITY 0–7 maps as syslog severities do elsewhere in loglens; missing or odd values are info."""
        fields = {"MESSAGE": "x"} | ({"PRIORITY": priority} if priority is not None else {})
        assert record_from_entry(fields, OBSERVED).level is level

    @pytest.mark.parametrize(
        ("fields", "service"),
        [
            ({"SYSLOG_IDENTIFIER": "sshd", "_SYSTEMD_UNIT": "ssh.service", "_COMM": "sshd-session"}, "sshd"),
            ({"_SYSTEMD_UNIT": "nginx.service", "_COMM": "nginx"}, "nginx"),
            ({"_SYSTEMD_UNIT": "backup.timer"}, "backup.timer"),
            ({"_COMM": "cron"}, "cron"),
            ({}, "journald"),
        ],
    )
    def test_service_fallbacks(self, fields: dict[str, str], service: str) -> None:
        """The service is the syslog identifier, else the unit without `.service`, else the command."""
        assert record_from_entry({"MESSAGE": "x", **fields}, OBSERVED).service == service

    def test_message_bytes_not_utf8(self) -> None:
        """A MESSAGE that is not UTF-8 arrives as a list of bytes and is decoded with replacement marks."""
        record = record_from_entry({"MESSAGE": list(b"bad \xff\xfe end"), "_PID": [52, 50]}, OBSERVED)
        assert record.message == record.raw == "bad \ufffd\ufffd end"
        assert record.pid == 42  # every field can come as bytes

    def test_missing_message_and_timestamp(self) -> None:
        """No MESSAGE gives an empty message; no realtime stamp gives the time the entry was read."""
        record = record_from_entry({"PRIORITY": "5"}, OBSERVED)
        assert (record.message, record.ts, record.host, record.pid, record.fields) == (
            "",
            OBSERVED,
            None,
            None,
            None,
        )

    def test_repeated_field(self) -> None:
        """A field journald holds twice comes as a list of values, each decoded; MESSAGE joins them."""
        record = record_from_entry(
            {"MESSAGE": ["one", list(b"tw\xffo")], "TAG": ["a", "b"], "OTEL_TRACE_ID": "t1"}, OBSERVED
        )
        assert record.message == "one\ntw\ufffdo"
        assert record.fields == {"TAG": ["a", "b"]}
        assert record.trace_id == "t1"


class TestParseLine:
    def test_json_entry_and_cursor(self) -> None:
        """A JSON line gives its record and its cursor."""
        record, cursor = parse_line('{"__CURSOR":"s=a;i=1","MESSAGE":"hi"}', OBSERVED)
        assert (record.message, cursor) == ("hi", "s=a;i=1")

    def test_not_json_is_kept(self) -> None:
        """A line that is not JSON is stored as read, marked as a parse error, with no cursor."""
        line = "Failed to open something"
        record, cursor = parse_line(line, OBSERVED)
        assert record.message == record.raw == line
        assert record.parse_error is not None and "not a JSON journal entry" in record.parse_error
        assert (record.ts, record.service, record.source, cursor) == (OBSERVED, "journald", "journald", None)

    def test_not_an_object(self) -> None:
        """Valid JSON that is no object is no entry either."""
        record, cursor = parse_line("[1, 2]", OBSERVED)
        assert (record.raw, record.parse_error is not None, cursor) == ("[1, 2]", True, None)

    def test_cut_line_keeps_its_cursor(self) -> None:
        """An entry cut at the length bound is no JSON, but the cursor in its head still moves reading on."""
        line = '{"__CURSOR":"s=a;i=9","MESSAGE":"' + "x" * 100 + TRUNCATION_MARK.format(5000)
        record, cursor = parse_line(line, OBSERVED)
        assert (record.raw, record.parse_error is not None, cursor) == (line, True, "s=a;i=9")


class TestParseJournald:
    def test_defaults(self) -> None:
        """An empty table follows the system journal from now on, under the name `journald`."""
        settings = parse_journald({}, "loglens.toml")
        assert settings == JournalSettings()
        assert (settings.since, settings.checkpoint_key) == (None, "journald:journald")

    def test_full_table(self) -> None:
        """Every setting is read; a lone string is a list of one; an integer priority is allowed."""
        settings = parse_journald(
            {
                "name": "web",
                "directory": "/var/log/journal/remote",
                "units": "nginx.service",
                "identifiers": ["nginx", "php-fpm"],
                "priority": 4,
                "since": "yesterday",
                "journalctl": "/usr/bin/journalctl",
            },
            "loglens.toml",
        )
        assert settings == JournalSettings(
            name="web",
            directory="/var/log/journal/remote",
            units=("nginx.service",),
            identifiers=("nginx", "php-fpm"),
            priority="4",
            since="yesterday",
            journalctl="/usr/bin/journalctl",
        )
        assert parse_journald({"since": "now", "priority": "Emerg..ERR"}, "x").since is None
        assert parse_journald({"priority": "Emerg..ERR"}, "x").priority == "emerg..err"

    @pytest.mark.parametrize(
        ("table", "complaint"),
        [
            ({"unit": ["a"]}, "has no setting 'unit'; known: name, directory, files"),
            ({"units": [1]}, "units must be a list of strings"),
            ({"files": "x.journal", "directory": "/d"}, "not both"),
            ({"name": ""}, "name must be a non-empty string"),
            ({"since": 3}, "since must be a non-empty string"),
            ({"priority": "warn"}, "priority must be 0–7"),
            ({"priority": 8}, "priority must be 0–7"),
            ({"priority": True}, "priority must be 0–7"),
            ({"priority": "3.."}, "priority must be 0–7"),
        ],
    )
    def test_wrong_settings_are_named(self, table: dict[str, Any], complaint: str) -> None:
        """An unknown key or a wrong value is a ConfigError saying where and what."""
        with pytest.raises(ConfigError, match=complaint) as info:
            parse_journald(table, "/etc/loglens.toml")
        assert str(info.value).startswith("/etc/loglens.toml: [journald]")


class TestJournalctlArgv:
    def test_cursor_wins_and_reads_the_whole_backlog(self) -> None:
        """With a cursor, reading starts after it and `--no-tail` keeps follow mode from skipping to the
        last 10 entries; `since` is ignored."""
        argv = journalctl_argv(JournalSettings(since="yesterday", units=("a", "b")), "s=1;i=2")
        assert argv[:6] == ["journalctl", "--output=json", "--follow", "--no-pager", "--all", "--quiet"]
        assert argv[6:] == ["--unit", "a", "--unit", "b", "--after-cursor", "s=1;i=2", "--no-tail"]

    @pytest.mark.parametrize(
        ("since", "tail"),
        [
            (None, ["--lines=0"]),
            ("now", ["--lines=0"]),
            ("all", ["--no-tail"]),
            ("boot", ["--boot", "--no-tail"]),
            ("-1h", ["--since", "-1h", "--no-tail"]),
        ],
    )
    def test_since_without_cursor(self, since: str | None, tail: list[str]) -> None:
        """Without a cursor, `since` says where to start."""
        argv = journalctl_argv(JournalSettings(since=since, files=("a.journal",), priority="err"), None)
        assert argv[6:] == ["--file", "a.journal", "--priority", "err", *tail]


class TestCheckpoint:
    def test_round_trip(self) -> None:
        """Its checkpoint keeps the cursor in `fingerprint` under `journald:{name}` and gives it back."""
        checkpoint = journal_checkpoint("web", "s=1;i=2")
        assert checkpoint == Checkpoint("journald:web", 0, 0, "s=1;i=2", 0)
        assert cursor_of(checkpoint) == "s=1;i=2"
        source = JournalSource(JournalSettings(name="web"), None)
        assert source.checkpoint("s=1;i=2") == checkpoint

    def test_no_cursor(self) -> None:
        """No checkpoint, or a file's checkpoint, holds no journal cursor."""
        assert cursor_of(None) is None
        assert cursor_of(Checkpoint("/var/log/syslog", 12, 400, "abcd", 4)) is None


@needs_journal
class TestJournalSource:
    def test_reads_a_journal_file(self, tmp_path: Path, open_source: Callable[..., JournalSource]) -> None:
        """Entries of a real journal file become records with their message, level, service, host, pid,
        time and fields, in order, including a non-UTF-8 and a multi-line message."""
        journal = write_journal(
            tmp_path / "one.journal",
            [
                entry(0, PRIORITY="3", MESSAGE="connection refused", CODE_FILE="net.c", ERRNO="111"),
                entry(1, MESSAGE=b"bad \xff\xfe bytes", PRIORITY="4"),
                entry(2, MESSAGE="first line\nsecond line", TRACE_ID="abc123"),
                {
                    key: value
                    for key, value in entry(
                        3, _SYSTEMD_UNIT="cron.service", _COMM="cron", PRIORITY="7"
                    ).items()
                    if key != "SYSLOG_IDENTIFIER"
                },
            ],
        )
        source = open_source(JournalSettings(files=(str(journal),), since="all"))
        records, cursor = read_records(source, 4)
        assert messages(records) == [
            "connection refused",
            "bad \ufffd\ufffd bytes",
            "first line\nsecond line",
            "entry 3",
        ]
        assert [r.level for r in records] == [Level.ERROR, Level.WARNING, Level.INFO, Level.DEBUG]
        assert [r.service for r in records] == ["app", "app", "app", "cron"]
        assert {(r.host, r.pid, r.source) for r in records} == {("h1", 4242, "journald")}
        assert [r.ts for r in records] == [(BASE_US + i * 1000) * 1000 for i in range(4)]
        assert records[0].fields == {"_BOOT_ID": BOOT_ID, "CODE_FILE": "net.c", "ERRNO": "111"}
        assert records[2].trace_id == "abc123"
        assert records[3].fields == {"_BOOT_ID": BOOT_ID, "_SYSTEMD_UNIT": "cron.service"}
        assert cursor is not None and cursor == source.cursor
        assert not source.done and source.error is None  # --follow keeps running on a closed file

    def test_restart_resumes_after_the_stored_cursor(
        self, tmp_path: Path, open_source: Callable[..., JournalSource]
    ) -> None:
        """Stopped after 7 of 12 entries with its cursor stored, a restart reads the other 5 and those of
        a journal file added meanwhile — each exactly once — even with more than 10 unseen entries."""
        directory = tmp_path / "journal"
        directory.mkdir()
        write_journal(directory / "one.journal", [entry(i) for i in range(12)])
        settings = JournalSettings(name="test", directory=str(directory), since="all")
        # Under one entry's JSON per poll: each poll hands out at most one record.
        first = open_source(settings, read_bytes=200)
        seen, cursor = read_records(first, 7)
        assert messages(seen) == [f"entry {i}" for i in range(7)]
        assert cursor is not None and first.cursor == cursor
        stored = first.checkpoint(cursor)  # what the store persists with those 7 records
        first.close()

        write_journal(directory / "two.journal", [entry(i) for i in range(12, 20)])
        second = open_source(settings, cursor_of(stored))
        rest, _ = read_records(second, 13)
        rest += quiet_for(second, 0.5)
        assert messages(rest) == [f"entry {i}" for i in range(7, 20)]

    def test_cursor_at_the_end_reads_nothing_again(
        self, tmp_path: Path, open_source: Callable[..., JournalSource]
    ) -> None:
        """Restarted from the cursor of the last entry, nothing is read twice."""
        journal = write_journal(tmp_path / "one.journal", [entry(i) for i in range(3)])
        settings = JournalSettings(files=(str(journal),), since="all")
        _, cursor = read_records(open_source(settings), 3)
        assert cursor is not None
        assert quiet_for(open_source(settings, cursor), 0.5) == []

    def test_follows_a_journal_being_written(
        self, tmp_path: Path, open_source: Callable[..., JournalSource]
    ) -> None:
        """Entries written while the source runs arrive as they are written; with no cursor and the default
        `since`, entries written before the start do not."""
        remote = journal_remote()
        assert remote is not None
        directory = tmp_path / "live"
        directory.mkdir()
        writer = spawned(
            subprocess.Popen(
                [remote, "-o", str(directory / "live.journal"), "-"],
                stdin=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        )
        assert writer.stdin is not None

        def write(*entries: dict[str, str | bytes]) -> None:
            assert writer.stdin is not None
            writer.stdin.write(export_format(list(entries)))
            writer.stdin.flush()

        write(entry(0, MESSAGE="before the start"))
        # The file appears before its first entry is written: journalctl refuses a journal without
        # entries (no boot to follow), so wait until one can be read back.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and b"before the start" not in journal_text(directory):
            time.sleep(0.05)
        source = open_source(JournalSettings(directory=str(directory)))
        write(entry(1, MESSAGE="live one"))
        first, _ = read_records(source, 1)
        write(entry(2, MESSAGE="live two"), entry(3, MESSAGE="live three"))
        later, cursor = read_records(source, 2)
        assert messages(first + later) == ["live one", "live two", "live three"]
        assert cursor == source.cursor
        writer.stdin.close()
        writer.wait(timeout=5)

    def test_missing_journalctl(self, tmp_path: Path) -> None:
        """A journalctl that does not exist is a LoglensError that says so and what to do."""
        source = JournalSource(JournalSettings(journalctl=str(tmp_path / "no-journalctl")), None)
        with pytest.raises(LoglensError, match="not found; install systemd's journalctl"):
            source.start()

    @pytest.mark.parametrize(
        ("settings", "says"),
        [
            (JournalSettings(since="not a time", files=("x.journal",)), "Failed to parse timestamp"),
            (JournalSettings(directory="/nonexistent/journal"), "Failed to open"),
        ],
    )
    def test_journalctl_failing_at_once(self, settings: JournalSettings, says: str) -> None:
        """journalctl refusing its options is a LoglensError with its own message and the command line."""
        with pytest.raises(LoglensError, match=f"exited at once with status 1: {says}.*command: journalctl"):
            JournalSource(settings, None).start()

    def test_bad_cursor(self, tmp_path: Path) -> None:
        """A stored cursor journalctl cannot use is an error at start, not a silent read from elsewhere."""
        journal = write_journal(tmp_path / "one.journal", [entry(0)])
        with pytest.raises(LoglensError, match="Failed to seek to cursor"):
            JournalSource(JournalSettings(files=(str(journal),)), "garbage").start()


class TestJournalSourceProcess:
    """The process side with a stand-in journalctl: output that ends, a failure, over-long lines."""

    def test_ends_and_is_done(self, tmp_path: Path, open_source: Callable[..., JournalSource]) -> None:
        """When journalctl ends, what it wrote is handed out (a last line without newline too), then done."""
        output = b'{"__CURSOR":"c1","MESSAGE":"one"}\nnot json\n{"__CURSOR":"c2","MESSAGE":"two"}'
        source = open_source(JournalSettings(journalctl=fake_journalctl(tmp_path, output)))
        records, cursor = read_records(source, 3)
        assert messages(records) == ["one", "not json", "two"]
        assert records[1].parse_error is not None
        assert cursor == "c2"
        deadline = time.monotonic() + 5
        while not source.done and time.monotonic() < deadline:
            source.poll(time.monotonic())
        assert source.done and source.error is None
        assert source.poll(time.monotonic()).records == []

    def test_later_failure_is_reported(
        self, tmp_path: Path, open_source: Callable[..., JournalSource]
    ) -> None:
        """journalctl failing after its start ends the source with `error` holding its message."""
        script = fake_journalctl(tmp_path, b'{"MESSAGE":"x"}\n', status=3, stderr="journal vanished")
        script_path = Path(script)
        script_path.write_text(script_path.read_text().replace("cat ", "sleep 0.5; cat "))
        source = open_source(JournalSettings(journalctl=script))
        records, cursor = read_records(source, 2)
        assert (messages(records), cursor, source.done) == (["x"], None, True)
        assert source.error == "journalctl exited with status 3: journal vanished"

    def test_over_long_entry_is_cut(self, tmp_path: Path, open_source: Callable[..., JournalSource]) -> None:
        """An entry over the line bound is stored cut, as a parse error, and its cursor still counts."""
        big = b'{"__CURSOR":"c1","MESSAGE":"' + b"x" * 5000 + b'"}'
        output = big + b'\n{"__CURSOR":"c2","MESSAGE":"small"}\n'
        source = open_source(
            JournalSettings(journalctl=fake_journalctl(tmp_path, output)), max_line_bytes=1024
        )
        records, cursor = read_records(source, 2)
        assert records[0].parse_error is not None
        assert records[0].raw == big[:1024].decode() + TRUNCATION_MARK.format(len(big) - 1024)
        assert (records[1].message, cursor, source.truncated) == ("small", "c2", 1)

    def test_close_stops_journalctl(self, tmp_path: Path) -> None:
        """close() ends a journalctl that keeps running, and may be called twice."""
        script = tmp_path / "forever"
        script.write_text("#!/bin/sh\nexec sleep 60\n")
        script.chmod(0o755)
        source = JournalSource(JournalSettings(journalctl=str(script)), None, startup_wait=0.05)
        source.start()
        started = time.monotonic()
        source.close()
        source.close()
        assert time.monotonic() - started < 1.5
        assert source.done and source.error is None


def journal_text(directory: Path) -> bytes:
    """What journalctl reads from the journal files in `directory` now (b"" while it reads none)."""
    done = subprocess.run(
        ["journalctl", "--directory", str(directory), "--output=cat", "--no-pager", "--quiet"],
        capture_output=True,
        check=False,
        timeout=10,
    )
    return done.stdout

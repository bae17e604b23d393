"""Tests for the syslog format: RFC 3164 variants, SysLogHandler, RFC 5424 structured data, sniffing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from loglens.formats.base import SourceContext
from loglens.formats.level import LevelClassifier
from loglens.formats.syslog import SyslogFormat, parse_structured_data
from loglens.formats.timestamp import TimestampParser
from loglens.record import Level, Record

OBSERVED_NS = 1_795_305_600_000_000_000  # 2026-11-22T00:00:00Z

RFC5424_SD = (
    "<165>1 2026-11-21T22:14:15.003Z mymachine.example.com evntslog - ID47 "
    '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]'
    '[examplePriority@32473 class="high" note="a \\"quoted\\" \\] x \\\\ y"] '
    "\ufeffAn application event log entry"
)

OTHER_FORMATS = [
    '{"ts":"2026-11-21T00:00:37.165Z","level":"info","msg":"sshd[1]: x","service":"api"}',
    'ts=2026-11-21T00:01:22.082Z level=debug msg="message acked" queue=notifications',
    '91.73.10.99 - - [21/Nov/2026:00:00:25 +0000] "GET / HTTP/1.1" 200 207 "-" "curl/8.5.0" 0.039',
    "[ 1234.567890] usb 1-1: new high-speed USB device number 2 using xhci_hcd",
    "[Sun Nov 22 02:27:33 2026] eth0: link up",
    "6,339,5140900,-;NET: Registered PF_INET6 protocol family",
    "2026-11-21 00:01:36,014 INFO [worker.tasks] Invoice PDF rendered for INV-2026-812297 in 18ms",
    "2026-11-21 00:01:21.438 INFO  [http-nio-8080-exec-6] c.a.b.service.PaymentService - Payment captured",
    "2026-11-21T00:01:21.438Z INFO starting worker pool",
]


def ns(text: str) -> int:
    """Exact ns since the epoch of an ISO 8601 string (no float rounding)."""
    dt = datetime.fromisoformat(text)
    return int(dt.replace(microsecond=0).timestamp()) * 1_000_000_000 + dt.microsecond * 1000


def make_ctx() -> SourceContext:
    """A UTC context whose reference time puts `Nov 21` stamps in 2026."""
    return SourceContext(
        source="syslog/auth.log",
        service="auth",
        host="collector",
        observed_ns=OBSERVED_NS,
        timestamps=TimestampParser(tz=UTC, reference_ns=ns("2026-11-22T12:00:00+00:00")),
        levels=LevelClassifier(),
    )


def parse_one(line: str) -> Record:
    """Parses a single line."""
    records = SyslogFormat().parse([line], make_ctx())
    assert len(records) == 1
    return records[0]


class TestRfc3164:
    def test_tag_with_pid(self) -> None:
        """Host, tag (as service and app), pid and a year-inferred stamp; level from the words."""
        record = parse_one("Nov 21 00:05:08 bastion-01 systemd-logind[644]: New session 485 of user jenkins.")
        assert record.parse_error is None
        assert record.ts == ns("2026-11-21T00:05:08+00:00")
        assert record.host == "bastion-01"
        assert record.service == "systemd-logind"
        assert record.pid == 644
        assert record.message == "New session 485 of user jenkins."
        assert record.fields == {"app": "systemd-logind"}
        assert record.level is LevelClassifier().classify(record.message)

    def test_sudo_leading_spaces(self) -> None:
        """A tag without pid; sudo's column padding is stripped from the message."""
        record = parse_one(
            "Nov 21 00:00:53 app-02 sudo:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; "
            "COMMAND=/usr/bin/systemctl restart nginx"
        )
        assert record.service == "sudo"
        assert record.pid is None
        assert record.message.startswith("deploy : TTY=pts/0 ; PWD=/home/deploy")

    def test_no_tag_and_padded_day(self) -> None:
        """`Nov  3` (space-padded day) with no tag: the source's service, the whole text as message."""
        record = parse_one("Nov  3 07:01:02 nas-1 link state changed to up")
        assert record.ts == ns("2026-11-03T07:01:02+00:00")
        assert record.host == "nas-1"
        assert record.service == "auth"
        assert record.message == "link state changed to up"
        assert record.fields is None

    def test_with_pri(self) -> None:
        """`<PRI>` gives the level and facility."""
        record = parse_one(
            "<38>Nov 21 00:05:09 bastion-01 sshd[1234]: Failed password for root from 1.2.3.4 port 22 ssh2"
        )
        assert record.level is Level.INFO
        assert record.fields == {"app": "sshd", "facility": "auth"}
        assert record.pid == 1234

    def test_kernel_uptime(self) -> None:
        """kern.log lines move `[uptime]` into fields and keep the text after it."""
        record = parse_one(
            "Nov 21 00:09:17 app-02 kernel: [1209153.450814] docker0: port 8(vetha1b2c3d) "
            "entered forwarding state"
        )
        assert record.service == "kernel"
        assert record.message == "docker0: port 8(vetha1b2c3d) entered forwarding state"
        assert record.fields == {"app": "kernel", "uptime": 1209153.450814}

    def test_kernel_message_starting_with_space(self) -> None:
        """A kernel message beginning with a space (` <TASK>`) is stripped after the uptime."""
        record = parse_one("Nov 21 03:45:45 worker-01 kernel: [3201.000120]  <TASK>")
        assert record.message == "<TASK>"
        assert record.fields == {"app": "kernel", "uptime": 3201.00012}

    def test_rsyslog_high_precision(self) -> None:
        """rsyslog's ISO stamp variant parses like the classic one."""
        record = parse_one(
            "2026-11-22T02:27:33.123456+00:00 web-1 nginx[77]: worker process 81 exited on signal 9"
        )
        assert record.ts == ns("2026-11-22T02:27:33.123456+00:00")
        assert record.host == "web-1"
        assert record.service == "nginx"
        assert record.pid == 77

    def test_sysloghandler(self) -> None:
        """Python's SysLogHandler: no stamp or host, trailing NUL removed, level from PRI."""
        record = parse_one("<12>billing-worker[4321]: disk almost full on /var/lib/billing\x00")
        assert record.message == "disk almost full on /var/lib/billing"
        assert record.level is Level.WARNING
        assert record.service == "billing-worker"
        assert record.pid == 4321
        assert record.host == "collector"
        assert record.ts == OBSERVED_NS
        assert record.fields == {"app": "billing-worker", "facility": "user"}

    def test_sysloghandler_without_ident(self) -> None:
        """SysLogHandler without an ident: the whole text is the message."""
        record = parse_one("<11>payment gateway unreachable\x00")
        assert record.message == "payment gateway unreachable"
        assert record.level is Level.ERROR
        assert record.service == "auth"


class TestRfc5424:
    def test_structured_data_with_escapes(self) -> None:
        """SD elements become fields["sd"] with `\\"`, `\\]` and `\\\\` undone; the BOM is dropped."""
        record = parse_one(RFC5424_SD)
        assert record.parse_error is None
        assert record.ts == ns("2026-11-21T22:14:15.003+00:00")
        assert record.level is Level.NOTICE
        assert record.host == "mymachine.example.com"
        assert record.service == "evntslog"
        assert record.pid is None
        assert record.message == "An application event log entry"
        assert record.fields == {
            "app": "evntslog",
            "facility": "local4",
            "msgid": "ID47",
            "sd": {
                "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"},
                "examplePriority@32473": {"class": "high", "note": 'a "quoted" ] x \\ y'},
            },
        }

    def test_nil_values(self) -> None:
        """`-` timestamp, host, app, procid, msgid and SD fall back to the source; no MSG is empty."""
        record = parse_one("<34>1 - - - - - -")
        assert record.ts == OBSERVED_NS
        assert record.host == "collector"
        assert record.service == "auth"
        assert record.message == ""
        assert record.level is Level.CRITICAL
        assert record.fields == {"facility": "auth"}

    def test_procid(self) -> None:
        """A numeric PROCID is the pid; another one is kept as a field."""
        numeric = parse_one("<14>1 2026-11-21T00:00:00Z h app 8812 - - started")
        named = parse_one("<14>1 2026-11-21T00:00:00Z h app worker-3 - - started")
        assert numeric.pid == 8812
        assert named.pid is None
        assert named.fields == {"app": "app", "facility": "user", "procid": "worker-3"}

    def test_parse_structured_data(self) -> None:
        """A backslash before any other character is literal (RFC 5424 §6.3.3)."""
        assert parse_structured_data('[a@1 p="C:\\temp" q=""][b@2]') == {
            "a@1": {"p": "C:\\temp", "q": ""},
            "b@2": {},
        }

    def test_mixed_batch_keeps_order(self) -> None:
        """RFC 5424 and 3164 lines mixed in one batch, and a bad line, all land in order."""
        lines = [
            "<14>1 2026-11-21T00:00:00Z h a - - - one",
            "Nov 21 00:00:01 h b: two",
            "not syslog at all",
            "<14>1 2026-11-21T00:00:02Z h a - - - three",
            "Nov 21 00:00:03 h b: four",
        ]
        records = SyslogFormat().parse(lines, make_ctx())
        assert [r.raw for r in records] == lines
        assert [r.message for r in records] == ["one", "two", "not syslog at all", "three", "four"]
        assert records[2].parse_error == "syslog: no <PRI> or timestamp at the start"
        assert records[2].ts == OBSERVED_NS
        assert [r.parse_error is None for r in records] == [True, True, False, True, True]


class TestSyslogSniff:
    def test_own_format(self) -> None:
        """Every syslog variant sniffs as syslog."""
        fmt = SyslogFormat()
        for line in [
            "Nov 21 00:05:08 bastion-01 systemd-logind[644]: New session 485 of user jenkins.",
            "Nov 21 00:09:17 app-02 kernel: [1209153.450814] docker0: port 8 entered forwarding state",
            "<12>app[12]: message\x00",
            "2026-11-22T02:27:33.123456+00:00 web-1 nginx[77]: started",
            RFC5424_SD,
        ]:
            assert fmt.sniff(line), line

    def test_other_formats(self) -> None:
        """JSON, logfmt, access, dmesg, kmsg, Python and logback lines do not."""
        fmt = SyslogFormat()
        for line in OTHER_FORMATS:
            assert not fmt.sniff(line), line


class TestSyslogCorpus:
    def test_generated_syslog_files(self, corpus: Path) -> None:
        """Every line of the generated auth.log and kernel.log parses, with host, app and a stamp."""
        for name in ("auth.log", "kernel.log"):
            lines = (corpus / "syslog" / name).read_text(encoding="utf-8").splitlines()
            records = SyslogFormat().parse(lines, make_ctx())
            assert len(records) == len(lines)
            for record in records:
                assert record.parse_error is None, record.raw
                assert record.ts != OBSERVED_NS
                assert record.host != "collector"
                assert record.fields is not None and "app" in record.fields
                assert record.message == record.message.strip()

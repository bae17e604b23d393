"""Tests for the kernel format: dmesg, dmesg -T, dmesg -r and /dev/kmsg records, sniffing."""

from __future__ import annotations

from datetime import UTC, datetime

from loglens.formats.base import SourceContext
from loglens.formats.kernel import KernelFormat
from loglens.formats.level import LevelClassifier
from loglens.formats.timestamp import TimestampParser
from loglens.record import Level, Record

OBSERVED_NS = 1_795_305_600_000_000_000  # 2026-11-22T00:00:00Z

OTHER_FORMATS = [
    '{"ts":"2026-11-21T00:00:37.165Z","level":"info","msg":"[ 1.0] x","service":"api"}',
    'ts=2026-11-21T00:01:22.082Z level=debug msg="message acked" queue=notifications',
    '91.73.10.99 - - [21/Nov/2026:00:00:25 +0000] "GET / HTTP/1.1" 200 207 "-" "curl/8.5.0" 0.039',
    "Nov 21 00:09:17 app-02 kernel: [1209153.450814] docker0: port 8 entered forwarding state",
    "<165>1 2026-11-21T22:14:15.003Z host app - ID47 - message",
    "2026-11-21 00:01:36,014 INFO [worker.tasks] Invoice PDF rendered for INV-2026-812297 in 18ms",
    "2026-11-21 00:01:21.438 INFO  [http-nio-8080-exec-6] c.a.b.service.PaymentService - Payment captured",
    "[INFO] build finished",
]


def ns(text: str) -> int:
    """Exact ns since the epoch of an ISO 8601 string (no float rounding)."""
    dt = datetime.fromisoformat(text)
    return int(dt.replace(microsecond=0).timestamp()) * 1_000_000_000 + dt.microsecond * 1000


def make_ctx() -> SourceContext:
    """A context as a file source builds it: UTC stamps, default classifier."""
    return SourceContext(
        source="dmesg.txt",
        service="host-logs",
        host="worker-01",
        observed_ns=OBSERVED_NS,
        timestamps=TimestampParser(tz=UTC),
        levels=LevelClassifier(),
    )


def parse_one(line: str) -> Record:
    """Parses a single line."""
    records = KernelFormat().parse([line], make_ctx())
    assert len(records) == 1
    return records[0]


class TestKernelParse:
    def test_plain_dmesg(self) -> None:
        """No wall clock: timed when read, uptime kept, service kernel, level from the words."""
        record = parse_one("[ 1234.567890] usb 1-1: new high-speed USB device number 2 using xhci_hcd")
        assert record.parse_error is None
        assert record.ts == OBSERVED_NS
        assert record.service == "kernel"
        assert record.host == "worker-01"
        assert record.message == "usb 1-1: new high-speed USB device number 2 using xhci_hcd"
        assert record.fields == {"uptime": 1234.56789}
        assert record.level is LevelClassifier().classify(record.message)

    def test_message_starting_with_space(self) -> None:
        """An indented line of an oops (` <TASK>`) is stripped."""
        record = parse_one("[13622.451200]  <TASK>")
        assert record.message == "<TASK>"

    def test_dmesg_human_time(self) -> None:
        """`dmesg -T` stamps are wall-clock time in the source's zone."""
        record = parse_one("[Sun Nov 22 02:27:33 2026] eth0: Link is Up - 1Gbps/Full - flow control off")
        assert record.ts == ns("2026-11-22T02:27:33+00:00")
        assert record.fields is None
        assert record.message == "eth0: Link is Up - 1Gbps/Full - flow control off"

    def test_dmesg_raw_level(self) -> None:
        """`dmesg -r` prefixes carry the level."""
        record = parse_one("<3>[   12.000001] ata1.00: failed command: READ FPDMA QUEUED")
        assert record.level is Level.ERROR
        assert record.fields == {"uptime": 12.000001, "facility": "kern"}

    def test_kmsg_record(self) -> None:
        """/dev/kmsg: level from the prefix, sequence and µs uptime in fields."""
        record = parse_one("6,339,5140900,-;NET: Registered PF_INET6 protocol family")
        assert record.level is Level.INFO
        assert record.message == "NET: Registered PF_INET6 protocol family"
        assert record.fields == {"seq": 339, "uptime": 5.1409, "facility": "kern"}
        assert record.ts == OBSERVED_NS

    def test_kmsg_with_caller_field(self) -> None:
        """Newer kernels add `,caller=…` after the flags."""
        record = parse_one("4,1021,99000123,-,caller=T412;EXT4-fs (sda1): warning: mounting fs with errors")
        assert record.level is Level.WARNING
        assert record.message == "EXT4-fs (sda1): warning: mounting fs with errors"

    def test_mixed_and_bad_lines(self) -> None:
        """Shapes may alternate in one batch; other lines are parse errors, order kept."""
        lines = ["[    0.000000] Linux version 6.8.0", "6,1,100,-;one", "SUBSYSTEM=net", "[    0.100000] two"]
        records = KernelFormat().parse(lines, make_ctx())
        assert [r.raw for r in records] == lines
        assert [r.parse_error is None for r in records] == [True, True, False, True]
        assert records[2].parse_error == "kernel: not a dmesg line or /dev/kmsg record"
        assert records[3].message == "two"


class TestKernelSniff:
    def test_own_format(self) -> None:
        """Each kernel shape sniffs as kernel."""
        fmt = KernelFormat()
        for line in [
            "[ 1234.567890] usb 1-1: new device",
            "[Sun Nov 22 02:27:33 2026] eth0: link up",
            "<6>[    1.000000] console [tty0] enabled",
            "6,339,5140900,-;NET: Registered PF_INET6 protocol family",
        ]:
            assert fmt.sniff(line), line

    def test_other_formats(self) -> None:
        """JSON, logfmt, access, syslog (kernel lines included), Python and logback lines do not."""
        fmt = KernelFormat()
        for line in OTHER_FORMATS:
            assert not fmt.sniff(line), line

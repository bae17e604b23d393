"""Tests for loglens.formats.apache_error: Apache httpd's error log, 2.2 and 2.4 layouts."""

from __future__ import annotations

from datetime import UTC, datetime

from loglens.formats.apache_error import ApacheErrorFormat
from loglens.formats.base import SourceContext
from loglens.formats.level import LevelClassifier
from loglens.formats.timestamp import TimestampParser
from loglens.record import Level


def ctx() -> SourceContext:
    return SourceContext(
        source="error.log", service="apache", host="h", observed_ns=1,
        timestamps=TimestampParser(tz=UTC), levels=LevelClassifier(),
    )  # fmt: skip


class TestApacheError:
    def test_22_layout(self) -> None:
        """`[ctime] [level] message`: stamp, level and message."""
        (rec,) = ApacheErrorFormat().parse(
            ["[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/x"], ctx()
        )
        assert rec.ts == int(datetime(2005, 12, 4, 4, 47, 44, tzinfo=UTC).timestamp()) * 10**9
        assert rec.level is Level.NOTICE
        assert rec.message == "workerEnv.init() ok /etc/x"
        assert rec.parse_error is None

    def test_24_layout(self) -> None:
        """`[ctime.usec] [module:level] [pid:tid] [client] message`: module, pid, tid and client kept."""
        line = (
            "[Sun Dec 04 04:47:44.123456 2005] [core:error] [pid 42:tid 7] "
            "[client 1.2.3.4:5] File does not exist"
        )
        (rec,) = ApacheErrorFormat().parse([line], ctx())
        assert rec.level is Level.ERROR and rec.pid == 42
        assert rec.fields == {"module": "core", "tid": 7, "client": "1.2.3.4:5"}
        assert rec.message == "File does not exist"
        assert rec.ts % 10**9 == 123_456_000

    def test_sniff_and_bad_line(self) -> None:
        """dmesg -T lines are not Apache's; an unknown line is kept with parse_error."""
        fmt = ApacheErrorFormat()
        assert fmt.sniff("[Sun Dec 04 04:47:44 2005] [warn] x")
        assert not fmt.sniff("[Sun Nov 22 02:27:33 2026] usb 1-1: new device")
        (rec,) = fmt.parse(["garbage"], ctx())
        assert rec.parse_error is not None and rec.raw == "garbage"

"""Tests for loglens.analysis.run_report: counts and the first error's context of a wrapped command."""

from __future__ import annotations

from loglens.analysis.run_report import RunReport
from loglens.record import Level, Record

BASE_NS = 1_763_683_200_000_000_000


def rec(text: str, level: Level = Level.INFO, stream: str | None = "stdout") -> Record:
    return Record(
        ts=BASE_NS,
        observed_ts=BASE_NS,
        service="make",
        source=f"make:{stream}",
        message=text,
        raw=text,
        level=level,
        fields={"stream": stream} if stream else None,
    )


def fed_in_calls(context: int) -> RunReport:
    """A report fed eight records over three calls; the first error is the 4th record."""
    report = RunReport(["make", "all"], context=context)
    report([rec("compiling a"), rec("compiling b"), rec("deprecated flag", Level.WARNING)])
    report([rec("undefined symbol foo", Level.ERROR, "stderr"), rec("in file x.c")])
    report([rec("in file y.c"), rec("linker failed", Level.CRITICAL, "stderr"), rec("make: *** [all]")])
    return report


class TestRunReport:
    def test_counts_errors_and_warnings(self) -> None:
        """Records at ERROR or above count as errors, WARNING ones as warnings, across all calls."""
        report = fed_in_calls(context=2)
        assert report.records == 8
        assert report.errors == 2
        assert report.warnings == 1

    def test_first_error_context_spans_calls(self) -> None:
        """The first error keeps `context` records before and after it, even from other calls."""
        report = fed_in_calls(context=2)
        assert report.first_error is not None
        assert report.first_error.number == 4
        assert report.first_error.text == "undefined symbol foo"
        assert report.first_error.stream == "stderr"
        assert [line.text for line in report.before] == ["compiling b", "deprecated flag"]
        assert [line.text for line in report.after] == ["in file x.c", "in file y.c"]
        assert [line.number for line in report.after] == [5, 6]

    def test_later_errors_counted_not_shown(self) -> None:
        """A later error is counted but neither replaces the first nor appears in its context."""
        report = fed_in_calls(context=5)
        assert report.errors == 2
        assert report.first_error is not None and report.first_error.text == "undefined symbol foo"
        assert [line.text for line in report.after] == [
            "in file x.c",
            "in file y.c",
            "linker failed",
            "make: *** [all]",
        ]
        report_small = fed_in_calls(context=2)
        assert "linker failed" not in report_small.render()

    def test_context_before_is_shorter_near_start(self) -> None:
        """An error in the first records keeps only the records that came before it."""
        report = RunReport(["x"], context=3)
        report([rec("one")])
        report([rec("boom", Level.FATAL)])
        assert [line.text for line in report.before] == ["one"]

    def test_context_zero_shows_only_the_error(self) -> None:
        """With context 0 the report keeps the error line alone."""
        report = fed_in_calls(context=0)
        assert report.before == [] and report.after == []
        assert report.first_error is not None and report.first_error.number == 4

    def test_render_shows_exit_counts_and_arrow(self) -> None:
        """render() names the command, exit code and counts and marks the first error line with an arrow."""
        report = fed_in_calls(context=1)
        report.exit_code = 2
        report.seconds = 3.26
        text = report.render()
        lines = text.splitlines()
        assert lines[0].startswith("── make all · exit 2 · 3.3 s · 8 records · 2 errors · 1 warning")
        assert "first error (record 4, stderr):" in text
        marked = [line for line in lines if "→" in line]
        assert marked == [" →       4  undefined symbol foo"]
        assert "       3  deprecated flag" in text
        assert "       5  in file x.c" in text
        assert "compiling b" not in text
        assert report.failed

    def test_render_without_errors_is_one_line(self) -> None:
        """A clean run renders as the single summary line, with `still running` before the exit."""
        report = RunReport(["pytest"])
        report([rec("ok"), rec("careful", Level.WARNING), rec("careful again", Level.WARNING)])
        assert report.render() == ("── pytest · still running · 0.0 s · 3 records · 0 errors · 2 warnings")
        report.exit_code = 0
        assert "exit 0" in report.render()
        assert not report.failed

    def test_render_indents_multiline_error(self) -> None:
        """The other lines of a multi-line error are indented under its text."""
        report = RunReport(["py"], context=0)
        report([rec("Traceback\n  File x\nValueError", Level.ERROR)])
        lines = report.render().splitlines()
        assert lines[2:] == [" →       1  Traceback", " " * 12 + "  File x", " " * 12 + "ValueError"]

    def test_stream_defaults_to_output(self) -> None:
        """A record without a `stream` field is reported as coming from `output`."""
        report = RunReport(["x"])
        report([rec("fail", Level.ERROR, stream=None)])
        assert report.first_error is not None and report.first_error.stream == "output"

    def test_to_json(self) -> None:
        """to_json() gives the summary keys and the first error with its context texts."""
        report = fed_in_calls(context=1)
        report.exit_code = 1
        report.seconds = 1.23456
        data = report.to_json()
        assert set(data) == {
            "command",
            "exit_code",
            "seconds",
            "records",
            "errors",
            "warnings",
            "first_error",
        }
        assert data["command"] == ["make", "all"]
        assert data["exit_code"] == 1
        assert data["seconds"] == 1.235
        assert (data["records"], data["errors"], data["warnings"]) == (8, 2, 1)
        assert data["first_error"] == {
            "record": 4,
            "stream": "stderr",
            "text": "undefined symbol foo",
            "before": ["deprecated flag"],
            "after": ["in file x.c"],
        }

    def test_to_json_without_error(self) -> None:
        """to_json() has first_error None when no record was an error."""
        report = RunReport(["true"])
        report([rec("fine")])
        assert report.to_json()["first_error"] is None
        assert report.to_json()["errors"] == 0

"""`loglens demo`: the click command over `write_corpus` and `follow` (registered by `loglens.cli`).

Kept apart from cli.py so that the CLI only has to `cli.add_command(demo)`; everything here is
argument handling and the closing line, the work is in `writer.py`.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from loglens.demo.stream import DEFAULT_START_NS, history_spec
from loglens.demo.truth import DemoSummary, rfc3339
from loglens.demo.writer import TRUTH_FILE, follow, write_corpus

DEFAULT_LINES = 100_000
DEFAULT_HOURS = 6.0
DEFAULT_FOLLOW_HOURS = 1.0
DEFAULT_RATE = 50.0
DEFAULT_INCIDENT_EVERY_MIN = 15.0


def parse_start(text: str) -> int:
    """An ISO 8601 moment (`2026-01-12T00:00:00Z`, `…+01:00`; no zone: UTC) as ns since the epoch."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO 8601 time such as 2026-01-12T00:00:00Z", param_hint="--start"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp()) * 10**9


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} B"


def _zone_hint() -> str:
    """A reminder where it matters: on a machine whose local time is not UTC."""
    return (
        "" if time.localtime().tm_gmtoff == 0 else '; stamps are UTC: ingest with TZ=UTC or timezone = "UTC"'
    )


def summary_line(summary: DemoSummary, out_dir: Path, verb: str = "wrote") -> str:
    """The one line printed after a run."""
    files = len(summary.files)
    incidents = len(summary.incidents)
    return (
        f"demo: {verb} {summary.events:,} events ({summary.lines:,} lines, {_size(summary.bytes)}) "
        f"to {files} file{'s' if files != 1 else ''} in {out_dir}, {rfc3339(summary.start_ns)} → "
        f"{rfc3339(summary.end_ns)}, {incidents} incident{'s' if incidents != 1 else ''} ({TRUTH_FILE}), "
        f"in {summary.seconds:.1f} s{_zone_hint()}"
    )


@click.command()
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the corpus into (created; its demo files are overwritten).",
)
@click.option("--seed", default=42, show_default=True, help="Same seed and options, same bytes.")
@click.option(
    "--lines",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help=f"About this many lines of history [default: {DEFAULT_LINES:,}; with --follow: as --rate].",
)
@click.option(
    "--hours",
    type=click.FloatRange(min=0),
    default=None,
    metavar="H",
    help=f"Span of the history [default: {DEFAULT_HOURS:g}; with --follow: {DEFAULT_FOLLOW_HOURS:g}].",
)
@click.option(
    "--start",
    metavar="ISO8601",
    help="Start of the history [default: 2026-01-12T00:00:00Z; with --follow: H hours ago].",
)
@click.option(
    "--follow",
    "following",
    is_flag=True,
    help="After the history, keep appending lines in real time until Ctrl-C or --duration.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="LINES/S",
    help=f"With --follow: lines a second [default: {DEFAULT_RATE:g}].",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="With --follow: stop after this long [default: until Ctrl-C].",
)
@click.option(
    "--incident-every",
    type=click.FloatRange(min=0),
    default=None,
    metavar="MINUTES",
    help=f"With --follow: inject an incident this often; 0: never [default: {DEFAULT_INCIDENT_EVERY_MIN:g}].",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing (errors aside).")
def demo(
    out_dir: Path,
    seed: int,
    lines: int | None,
    hours: float | None,
    start: str | None,
    following: bool,
    rate: float | None,
    duration: float | None,
    incident_every: float | None,
    quiet: bool,
) -> None:
    """Write a realistic demo corpus: seven services in six formats, incidents with a known cause.

    Files: edge/access.log (nginx), api/api.jsonl (JSON), checkout/checkout.log (Python),
    inventory/inventory.log (Java), db/postgresql.log, mailer/mailer.log (logfmt), host/syslog;
    truth.json says what was injected where. Times are UTC. See docs/cli.md.
    """
    if not following:
        live_only = (("--rate", rate), ("--duration", duration), ("--incident-every", incident_every))
        given = [name for name, value in live_only if value is not None]
        if given:
            raise click.UsageError(f"{', '.join(given)}: only with --follow")
    live_rate = rate if rate is not None else DEFAULT_RATE
    span_h = hours if hours is not None else (DEFAULT_FOLLOW_HOURS if following else DEFAULT_HOURS)
    if span_h <= 0 and not following:
        raise click.BadParameter("must be above 0 (a corpus needs a span)", param_hint="--hours")
    if span_h > 0:
        start_ns = parse_start(start) if start is not None else _default_start(following, span_h)
        # With --follow and no --lines, the history runs at the live rate: the tail continues it.
        rate_for_history = live_rate if following and lines is None else None
        wanted = lines if lines is not None else DEFAULT_LINES
        spec = history_spec(start_ns, span_h, wanted, seed, rate=rate_for_history)
        summary = write_corpus(out_dir, spec, None if rate_for_history else wanted)
        if not quiet:
            click.echo(summary_line(summary, out_dir), err=True)
    if following:
        every_min = incident_every if incident_every is not None else DEFAULT_INCIDENT_EVERY_MIN
        _follow(out_dir, live_rate, seed, duration, every_min, quiet)


def _default_start(following: bool, hours: float) -> int:
    """The fixed default start, or with --follow `hours` before the current minute (history ends now)."""
    if not following:
        return DEFAULT_START_NS
    now = time.time_ns()
    return now - now % (60 * 10**9) - round(hours * 3600) * 10**9


def _follow(
    out_dir: Path, rate: float, seed: int, duration: float | None, every_min: float, quiet: bool
) -> None:
    """The live tail, with its opening and closing lines."""
    if not quiet:
        click.echo(
            f"demo: appending to {out_dir} at {rate:g} lines/s"
            + (f", an incident every {every_min:g} min" if every_min else "")
            + (f", for {duration:g} s" if duration else "; Ctrl-C stops"),
            err=True,
        )
    stop = threading.Event()
    with _stop_on_interrupt(stop):
        summary = follow(out_dir, rate, seed, duration, stop, every_min * 60 or None)
    if not quiet:
        click.echo(summary_line(summary, out_dir, "appended"), err=True)


@contextmanager
def _stop_on_interrupt(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C sets `stop` instead of raising, so that `follow` ends its tick, closes its files and
    updates truth.json. (Only the main thread can take signals; elsewhere Ctrl-C is not ours.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)

"""The `loglens` command: thin commands over the library (ingest, logs, sql).

No traceback reaches the user: loglens errors print one line saying what to do, and anything
unexpected prints one line too (set LOGLENS_DEBUG=1 to see the traceback).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import orjson

from loglens.allocation import return_arrow_memory
from loglens.client import daemon_for
from loglens.commands.common import open_store, range_options, store_options, view, write_json
from loglens.config import Config, load_config, resolve_store_path
from loglens.errors import LoglensError
from loglens.mining.dedup import dedupe as dedupe_records
from loglens.output import format_dedup_group, format_json, format_line, use_colour
from loglens.pipeline import Ingestor, IngestReport, StoreWriter
from loglens.query.filters import record_filter
from loglens.query.timerange import parse_duration
from loglens.store.base import Store, StoredRecord
from loglens.store.duckdb import DuckDBStore

if TYPE_CHECKING:
    from loglens.analysis.watch import Replay

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="loglens")
def cli() -> None:
    """loglens: read logs from anywhere, search them, and see what changed."""


# -- ingest ----------------------------------------------------------------------------------------


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    started = time.monotonic()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("reading…", total=None)

        def update(bytes_done: int, records: int) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            progress.update(
                task,
                description=(
                    f"{records:,} records · {bytes_done / 1e6:,.1f} MB · "
                    f"{records / elapsed:,.0f} lines/s · {bytes_done / 1e6 / elapsed:,.1f} MB/s"
                ),
            )

        yield update


def _size(n: int) -> str:
    """Bytes for people: 812 B, 14.2 KB, 368.9 MB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} B"


def _summary(report: IngestReport) -> str:
    rate = report.records / report.seconds if report.seconds > 0 else 0.0
    files = len(report.sources)
    parse_errors = sum(s.parse_errors for s in report.sources)
    truncated = sum(s.truncated for s in report.sources)
    parts = [
        f"ingested {report.records:,} records from {files} source{'s' if files != 1 else ''} "
        f"({_size(report.bytes)}) in {report.seconds:.1f} s ({rate:,.0f} lines/s)",
        f"{parse_errors:,} unparsed (stored raw)",
    ]
    if truncated:
        parts.append(f"{truncated:,} over-long lines truncated")
    if report.redacted:
        found = ", ".join(f"{count:,} {rule}" for rule, count in sorted(report.redacted.items()))
        parts.append(f"redacted {found}")
    parts.append(f"{len(report.skipped)} skipped")
    parts.append(f"{len(report.errors)} error{'s' if len(report.errors) != 1 else ''}")
    return "; ".join(parts)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--from-start", is_flag=True, help="Re-read files from the start, ignoring checkpoints.")
@click.option("-q", "--quiet", is_flag=True, help="Print only problems.")
@click.option("-v", "--verbose", is_flag=True, help="List every source with its format and counts.")
@store_options
def ingest(
    paths: tuple[str, ...],
    from_start: bool,
    quiet: bool,
    verbose: bool,
    store_path: str | None,
    config_path: str | None,
) -> None:
    """Read log files, globs, folders (recursively) or `-` (stdin) into the store.

    Ingesting a file again reads only what was appended since (per-file checkpoint).
    """
    return_arrow_memory()
    config = load_config(config_path)
    store = open_store(store_path, config, read_only=False)
    try:
        with _progress(not quiet and sys.stderr.isatty()) as progress:
            ingestor = Ingestor(store, config, progress)
            if list(paths) == ["-"]:
                report = ingestor.ingest_stream(sys.stdin.buffer)
            else:
                report = ingestor.ingest_paths([p for p in paths if p != "-"], from_start=from_start)
    finally:
        store.close()
    err = sys.stderr
    for skipped in report.skipped:
        if verbose or not quiet:
            click.echo(f"skipped {skipped.display}: {skipped.reason}", file=err)
    for source in report.sources:
        if source.error:
            click.echo(f"error   {source.display}: {source.error}", file=err)
        elif verbose:
            resumed = f", resumed at byte {source.resumed_at:,}" if source.resumed_at else ""
            click.echo(
                f"read    {source.display}: {source.format}, {source.records:,} records, "
                f"{source.parse_errors:,} unparsed{resumed}",
                file=err,
            )
    if not quiet:
        click.echo(_summary(report), file=err)
    if report.nothing_read:
        sys.exit(1)


# -- tail ------------------------------------------------------------------------------------------


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by Ctrl-C or SIGTERM: live commands stop, commit what they read, and exit."""
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def _live_store(
    store_path: str | None, config: Config, no_store: bool
) -> Iterator[tuple[Ingestor, StoreWriter | None]]:
    """The ingestor and writer of a live command (no writer with --no-store), closed in order."""
    store: Store
    if no_store:
        store = DuckDBStore(":memory:")  # nothing is written: the ingestor only needs a store to read
        try:
            yield Ingestor(store, config), None
        finally:
            store.close()
        return
    store = open_store(store_path, config, read_only=False)
    try:
        ingestor = Ingestor(store, config)
        ingestor.start_mining(0)
        writer = StoreWriter(store)
        try:
            yield ingestor, writer
        finally:
            writer.close()
    finally:
        store.close()


@cli.command(context_settings={"ignore_unknown_options": False})
@click.argument("paths", nargs=-1, required=True)
@click.option("--query", "-Q", "query", default="", metavar="QUERY", help="Only records matching QUERY.")
@click.option("--grep", "grep", metavar="REGEX", help="Only messages matching this regular expression.")
@click.option("--level", "level", metavar="LEVELS", help="error,warning  or  '>=warning'.")
@click.option(
    "--service", "-s", "services", multiple=True, metavar="NAME", help="Only this service (repeatable)."
)
@click.option(
    "--lines",
    "-n",
    "lines",
    default="10",
    show_default=True,
    metavar="N|all",
    help="Records already written to show before following.",
)
@click.option("--no-store", is_flag=True, help="Show only; store nothing.")
@click.option("--from-end", is_flag=True, help="Start files never read before at their end (tail -f).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per record (see docs/cli.md).")
@click.option("-v", "--verbose", is_flag=True, help="Say on stderr where files start and how they rotate.")
@store_options
def tail(
    paths: tuple[str, ...],
    query: str,
    grep: str | None,
    level: str | None,
    services: tuple[str, ...],
    lines: str,
    no_store: bool,
    from_end: bool,
    as_json: bool,
    verbose: bool,
    store_path: str | None,
    config_path: str | None,
) -> None:
    """Follow files, globs, folders or `-` (stdin) live: rotation-safe, stored as read.

    Files resume from their checkpoint (or their start); new files matching a glob or inside a
    folder are picked up. Ctrl-C stops after committing what was read.
    """
    from loglens.live import LiveIngest
    from loglens.query.matcher import RecordMatcher
    from loglens.view import LivePrinter

    config = load_config(config_path)
    where = record_filter(config.timezone, query, grep, level, services)
    matcher = RecordMatcher(where)
    with _stop_on_signals() as stop, _live_store(store_path, config, no_store) as (ingestor, writer):
        printer = LivePrinter(
            sys.stdout, use_colour(sys.stdout), as_json, matcher, _lines_option(lines), on_closed=stop.set
        )
        live = LiveIngest(
            ingestor,
            writer,
            config.follow,
            on_records=printer,
            on_notice=(lambda text: click.echo(f"loglens: {text}", err=True)) if verbose else None,
            on_warning=lambda text: click.echo(f"loglens: {text}", err=True),
            on_caught_up=printer.caught_up,
        )
        files = [p for p in paths if p != "-"]
        if files:
            live.follow_paths(files, from_end=from_end)
        if "-" in paths:
            live.add_pipe(sys.stdin.fileno(), "-", "stdin")
        live.run(stop)
    matcher.close()


# -- up --------------------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--listen", default="127.0.0.1:8080", show_default=True, metavar="HOST:PORT", help="Port 0: any free one."
)
@click.option("--demo", is_flag=True, help="Also feed the demo generator's live stream in.")
@click.option("--syslog", metavar="HOST:PORT", help="Also take syslog on this port (UDP and TCP; 0: any).")
@click.option(
    "--role",
    type=click.Choice(["all", "ingest", "process", "query"]),
    default="all",
    show_default=True,
    help="Scale-out (needs [bus] and a shared [store] url): take logs in, mine and store them, or "
    "serve queries (docs/scale-out.md).",
)
@store_options
def up(
    listen: str, demo: bool, syslog: str | None, role: str, store_path: str | None, config_path: str | None
) -> None:
    """Run the daemon: the store's one writer, the [[sources]] of loglens.toml followed live, and an
    HTTP server taking logs in (POST /ingest) and answering queries (/api/…, /docs).

    Writes daemon.json beside the store while it runs. Ctrl-C stops after committing.
    """
    import uvicorn

    from loglens.daemon import Daemon, Listen
    from loglens.server.app import create_app

    config = load_config(config_path)
    where = Listen.parse(listen)
    syslog_at = Listen.parse(syslog) if syslog else None
    if not where.loopback and not config.server.tokens:
        raise LoglensError(
            f"--listen {where.host}:{where.port}: beyond this machine loglens needs access tokens "
            "(anyone who can connect could read and write every log): add [[server.tokens]] to "
            "loglens.toml (docs/api.md, Access), or listen on 127.0.0.1"
        )
    daemon = Daemon(resolve_store_path(store_path, config), config, demo=demo, syslog=syslog_at, role=role)
    app = create_app(daemon)
    # MCP over streamable HTTP beside the API (docs/mcp.md); routed here, not in create_app, which
    # the in-process API of `loglens.access` builds per call. Starlette serves an endpoint that is
    # not a function as an ASGI app (a Mount would redirect /mcp to /mcp/); its types only know
    # request handlers.
    from loglens.mcp import mcp_http_app

    endpoint = mcp_http_app(daemon.store_path, config, host=where.host)
    app.add_route("/mcp", endpoint, include_in_schema=False)  # type: ignore[arg-type]
    server = uvicorn.Server(
        # No per-message deflate on /api/live: compressing every record cost the daemon ~15% of its
        # ingest rate at 20k lines/s (bench/live.py); live records are for local screens and agents.
        uvicorn.Config(
            app,
            host=where.host,
            port=where.port,
            log_level="warning",
            lifespan="off",
            ws_per_message_deflate=False,
            ssl_certfile=config.server.tls_cert,
            ssl_keyfile=config.server.tls_key,
        )
    )

    def announce() -> None:
        while not server.started:
            if daemon.failure is not None or server.should_exit:
                return
            time.sleep(0.02)
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        scheme = "https" if config.server.tls_cert else "http"
        url = f"{scheme}://{'[' + host + ']' if ':' in host else host}:{port}"
        daemon.announce(url)
        feeding = "; feeding the demo stream" if demo else ""
        feeding += f"; syslog on UDP and TCP {daemon.syslog_port}" if daemon.syslog_port else ""
        store = daemon.store_path
        click.echo(f"loglens is up: {url} (API docs: {url}/docs; store {store}){feeding}", err=True)

    def exit_on_failure() -> None:
        # A pipeline that stopped (the store or the bus refused a write it cannot give back) ends the
        # process, with the error: a supervisor restarts it, and it resumes from its checkpoints.
        while not server.should_exit:
            if daemon.failure is not None:
                server.should_exit = True
            time.sleep(0.2)

    daemon.start()
    threading.Thread(target=announce, name="loglens-announce", daemon=True).start()
    threading.Thread(target=exit_on_failure, name="loglens-failure-watch", daemon=True).start()
    # uvicorn stops on SIGINT/SIGTERM, then raises the signal again for the handler it found: a
    # quiet one here, so the process goes on to commit, close the store and remove daemon.json.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: None)
    try:
        server.run()
    finally:
        daemon.stop()
    if daemon.failure is not None:
        raise LoglensError(f"the pipeline stopped: {daemon.failure}")


# -- run -------------------------------------------------------------------------------------------

RUN_QUIET_FLUSH_S = 0.2
RUN_DRAIN_S = 2.0


@cli.command(
    context_settings={
        "ignore_unknown_options": True,
        "allow_interspersed_args": False,
        "help_option_names": ["--help"],
    }
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--service", metavar="NAME", help="Service of its records (default: the program's name).")
@click.option("--no-store", is_flag=True, help="Show and summarise only; store nothing.")
@click.option("-q", "--quiet", is_flag=True, help="Show only the closing summary, not the output.")
@click.option(
    "--context", default=3, show_default=True, metavar="N", help="Lines shown around the first error."
)
@click.option("--json", "as_json", is_flag=True, help="Records as JSON lines; the summary as JSON on stderr.")
@click.option(
    "--format",
    "fmt",
    default="plain",
    show_default=True,
    metavar="NAME|auto",
    help="Format of its output (auto: chosen from its first lines; see docs/formats).",
)
@store_options
def run(
    command: tuple[str, ...],
    service: str | None,
    no_store: bool,
    quiet: bool,
    context: int,
    as_json: bool,
    fmt: str,
    store_path: str | None,
    config_path: str | None,
) -> None:
    """Run COMMAND, capturing its stdout and stderr as a live source: `loglens run -- make -j4`.

    Shows the output like `tail`, stores it (service = the program's name, `stream` = stdout or
    stderr), records the exit code and duration, and ends with a summary on stderr: errors and
    warnings seen and the first error with its context. Exits with the command's exit code.
    """
    from loglens.analysis.run_report import RunReport
    from loglens.live import LiveIngest
    from loglens.record import Record
    from loglens.sources.command import start_command, strip_terminal_codes
    from loglens.sources.supervised import exit_record
    from loglens.view import LivePrinter

    config = load_config(config_path)
    report = RunReport(list(command), context)
    printer = None if quiet else LivePrinter(sys.stdout, use_colour(sys.stdout), as_json, backlog=None)

    def on_records(records: list[Record]) -> None:
        report(records)
        if printer is not None:
            printer(records)

    with _live_store(store_path, config, no_store) as (ingestor, writer):
        try:
            running = start_command(list(command))
        except LoglensError as exc:
            click.echo(f"loglens: {exc}", err=True)
            sys.exit(127)
        name = service or running.name
        # A command's two streams are shown as they come: an open event is closed after a short
        # pause so that one stream's last event does not wait behind the other's.
        settings = replace(config.follow, quiet_flush=min(config.follow.quiet_flush, RUN_QUIET_FLUSH_S))
        live = LiveIngest(ingestor, writer, settings, on_records=on_records)
        forced = None if fmt == "auto" else fmt
        for stream, pipe in (("stdout", running.process.stdout), ("stderr", running.process.stderr)):
            assert pipe is not None
            fields = {"stream": stream}
            live.add_pipe(pipe.fileno(), f"{name}:{stream}", name, fields, strip_terminal_codes, forced)
        with _forward_signals(running.process):
            live.run(_stop_after_exit(running.process))  # until both streams close, or soon after exit
            code, seconds = running.wait()
        report.exit_code, report.seconds = code, seconds
        now = time.time_ns()
        live.store([exit_record(name, running.command_line, code, seconds, now)])
    if as_json:
        click.echo(orjson.dumps(report.to_json()).decode(), err=True)
    else:
        click.echo(report.render(), err=True)
    sys.exit(code)


def _stop_after_exit(process: Any) -> threading.Event:
    """An event set `RUN_DRAIN_S` after the command exits: a child it left behind (`sh -c 'x &'`)
    may hold its streams open long after, and the run is over when the command is."""
    stop = threading.Event()

    def watch() -> None:
        process.wait()
        stop.wait(RUN_DRAIN_S)
        stop.set()

    threading.Thread(target=watch, name="loglens-run-exit", daemon=True).start()
    return stop


@contextmanager
def _forward_signals(process: Any) -> Iterator[None]:
    """While a wrapped command runs: SIGTERM is passed on to it; Ctrl-C reaches it from the terminal
    by itself (same process group), so loglens only keeps reading — a second Ctrl-C kills it."""
    interrupts = 0

    def on_term(signum: int, frame: object) -> None:
        process.send_signal(signum)

    def on_int(signum: int, frame: object) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            process.kill()

    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, on_term),
        signal.SIGINT: signal.signal(signal.SIGINT, on_int),
    }
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# -- logs ------------------------------------------------------------------------------------------


def _lines_option(value: str) -> int | None:
    if value == "all":
        return None
    try:
        n = int(value)
    except ValueError:
        raise click.BadParameter("give a number of lines or 'all'") from None
    if n < 0:
        raise click.BadParameter("must not be negative")
    return n


# Negated query terms (`-healthcheck`) look like options: unknown ones pass through to QUERY, and
# only `--help` (not `-h`) asks for help here.
@cli.command(context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]})
@click.argument("query", nargs=-1, type=click.UNPROCESSED)
@click.option("--grep", "grep", metavar="REGEX", help="Only messages matching this regular expression.")
@click.option("--level", "level", metavar="LEVELS", help="error,warning  or  '>=warning'.")
@range_options
@click.option(
    "--lines", "-n", "lines", default="100", show_default=True, metavar="N|all", help="Print the last N."
)
@click.option(
    "--service", "-s", "services", multiple=True, metavar="NAME", help="Only this service (repeatable)."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per record (see docs/cli.md).")
@click.option("--raw", is_flag=True, help="Print each record's raw text as read.")
@click.option(
    "--dedupe", is_flag=True, help="One line per run of the same event: `msg (xN, first: …, last: …)`."
)
@click.option(
    "--window", default="60s", show_default=True, metavar="DURATION", help="Largest gap in a --dedupe run."
)
@store_options
def logs(
    query: tuple[str, ...],
    grep: str | None,
    level: str | None,
    since: str | None,
    until: str | None,
    lines: str,
    services: tuple[str, ...],
    as_json: bool,
    raw: bool,
    dedupe: bool,
    window: str,
    store_path: str | None,
    config_path: str | None,
) -> None:
    """Show stored records matching QUERY (see docs/query.md), oldest first."""
    limit = _lines_option(lines)
    window_ns = parse_duration(window)
    config = load_config(config_path)
    text = " ".join(query)
    daemon = daemon_for(resolve_store_path(store_path, config), config)
    if daemon is not None:  # the daemon holds the store: ask it
        records = daemon.logs(text, grep, level, services, since, until, limit)
        _print_records(records, as_json, raw, dedupe, window_ns)
        return
    where = record_filter(config.timezone, text, grep, level, services, since, until)
    store = open_store(store_path, config, read_only=True)
    try:
        _print_records(store.search(where.where, where.params, limit), as_json, raw, dedupe, window_ns)
    finally:
        store.close()


def _print_records(
    records: Iterable[StoredRecord], as_json: bool, raw: bool, dedupe: bool, window_ns: int
) -> None:
    """`loglens logs` output, the same whether the records came from the store or the daemon."""
    write = sys.stdout.write
    colour = use_colour(sys.stdout)
    if dedupe:
        for group in dedupe_records(records, window_ns):
            write(format_dedup_group(group, as_json, colour) + "\n")
        return
    for record in records:
        if as_json:
            write(format_json(record) + "\n")
        elif raw:
            write(record.raw + "\n")
        else:
            write(format_line(record, colour) + "\n")


# -- patterns --------------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--service", "-s", "services", multiple=True, metavar="NAME", help="Only this service (repeatable)."
)
@range_options
@click.option("--top", default=20, show_default=True, metavar="N", help="How many patterns to show.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per pattern.")
@store_options
def patterns(
    services: tuple[str, ...],
    since: str | None,
    until: str | None,
    top: int,
    as_json: bool,
    store_path: str | None,
    config_path: str | None,
) -> None:
    """The message templates behind the records, most frequent first, with share and trend.

    Trend: Rising, Stable or Declining, comparing the last fifth of the time span with the rest
    (rule in docs/cli.md).
    """
    from loglens.analysis.patterns import RECENT_SHARE, pattern_json
    from loglens.analysis.patterns import patterns as find_patterns

    config = load_config(config_path)
    daemon = daemon_for(resolve_store_path(store_path, config), config)
    if daemon is not None:  # the daemon holds the store: ask it
        found = daemon.patterns(since, until, services, top)
    else:
        where = record_filter(config.timezone, services=services, since=since, until=until)
        store = open_store(store_path, config, read_only=True)
        try:
            found = [
                pattern_json(p)
                for p in find_patterns(store.pattern_stats(where.where, where.params, RECENT_SHARE))
            ]
        finally:
            store.close()
    out = sys.stdout
    for pattern in found[:top]:
        if as_json:
            out.write(orjson.dumps(pattern).decode() + "\n")
            continue
        p = pattern
        out.write(
            f"{p['count']:>9,}  {p['share'] * 100:5.1f}%  {p['trend']:<9} {p['level']:<8} "
            f"{p['service'][:12]:<12} {p['template']}\n"
            f"{'':>18}first {p['first']}  last {p['last']}  e.g. {p['sample'][:100]}\n"
        )


# -- anomalies, incidents, explain, summary --------------------------------------------------------


def _replayed(
    store_path: str | None, config_path: str | None, since: str | None, until: str | None
) -> tuple[Replay, dict[str, str]]:
    """Opens the store, runs the detectors over the range, and returns what they found with the
    text of the templates it names (for printing)."""
    from loglens.analysis.findings import replay_range, replay_texts

    config = load_config(config_path)
    store = open_store(store_path, config, read_only=True)
    try:
        found = replay_range(store, config, since, until)
        return found, replay_texts(store, found)
    finally:
        store.close()


_SEVERITY_STYLE = {"critical": "!!", "warning": "! ", "info": "  "}


@cli.command()
@range_options
@click.option("--service", "services", multiple=True, metavar="S", help="Only these services (repeatable).")
@click.option(
    "--min-severity",
    type=click.Choice(["info", "warning", "critical"]),
    default="warning",
    show_default=True,
    help="Leave out anomalies below this severity.",
)
@click.option("--json", "as_json", is_flag=True, help="A JSON array of anomalies.")
@store_options
def anomalies(
    since: str | None,
    until: str | None,
    services: tuple[str, ...],
    min_severity: str,
    as_json: bool,
    store_path: str | None,
    config_path: str | None,
) -> None:
    """What the detectors found unusual, per service and minute (rules in docs/analysis.md)."""
    from loglens.analysis.findings import anomalies_view

    config = load_config(config_path)
    chosen = view(
        store_path,
        config,
        lambda store: anomalies_view(store, config, since, until, services, min_severity),
        lambda daemon: daemon.anomalies(since, until, services, min_severity),
    )
    if as_json:
        write_json(chosen)
        return
    if not chosen:
        sys.stdout.write("no anomalies\n")
    for a in chosen:
        template = a["template"]
        sys.stdout.write(
            f"{_SEVERITY_STYLE[a['severity']]}{a['start']}  {a['severity']:<8} {a['service'][:14]:<14} "
            f"{a['kind']:<16} {a['detail']}{'  ' + template[:80] if template else ''}\n"
        )


@cli.command()
@range_options
@click.option("--service", "services", multiple=True, metavar="S", help="Only incidents involving these.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of incidents (schema in docs/cli.md).")
@store_options
def incidents(
    since: str | None,
    until: str | None,
    services: tuple[str, ...],
    as_json: bool,
    store_path: str | None,
    config_path: str | None,
) -> None:
    """Anomalies grouped across services into incidents, with the ranked root cause."""
    from loglens.analysis.report import incident_json

    config = load_config(config_path)
    daemon = daemon_for(resolve_store_path(store_path, config), config)
    if daemon is not None:  # the daemon holds the store: ask it
        chosen = daemon.incidents(since, until, services)
    else:
        replayed, templates = _replayed(store_path, config_path, since, until)
        found = replayed.incidents
        chosen = [
            incident_json(i, templates) for i in found if not services or set(services) & set(i.services)
        ]
    if as_json:
        write_json(chosen)
        return
    if not chosen:
        sys.stdout.write("no incidents\n")
    for item in chosen:
        cause = item["root_cause"]
        sys.stdout.write(
            f"{item['id']}  {item['severity']:<8} {item['start']} → {item['end']}  "
            f"services {', '.join(item['services'])}\n"
            f"    root cause: {cause['service']} (confidence {cause['confidence']:.2f})"
            f"{'  ' + cause['template'][:90] if cause['template'] else ''}\n"
        )


@cli.command()
@click.argument("incident_id")
@click.option(
    "--context",
    "context_lines",
    default=5,
    show_default=True,
    type=click.IntRange(min=0),
    metavar="N",
    help="Lines of the same service before and after the root cause's first sign.",
)
@click.option("--json", "as_json", is_flag=True, help="The incident, its evidence and context as JSON.")
@store_options
def explain(
    incident_id: str, context_lines: int, as_json: bool, store_path: str | None, config_path: str | None
) -> None:
    """One incident: timeline, root-cause candidates with their evidence, evidence lines and context."""
    from loglens.ai.incident_report import incident_report, render_incident_report

    config = load_config(config_path)
    explanation = view(
        store_path,
        config,
        lambda store: incident_report(store, config, incident_id, context_lines),
        lambda daemon: daemon.explain(incident_id, context_lines),
    )
    if as_json:
        write_json(explanation)
        return
    sys.stdout.write(render_incident_report(explanation))


@cli.command()
@click.option("--service", "services", multiple=True, metavar="S", help="Only these services (repeatable).")
@range_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per service.")
@store_options
def summary(
    services: tuple[str, ...],
    since: str | None,
    until: str | None,
    as_json: bool,
    store_path: str | None,
    config_path: str | None,
) -> None:
    """Per service: lines, levels, top patterns, anomalies, last error, restarts and a health score."""
    from loglens.analysis.summary import render_summary, summary_view

    config = load_config(config_path)
    found = view(
        store_path,
        config,
        lambda store: summary_view(store, config, services, since, until),
        lambda daemon: daemon.summary(services, since, until),
    )
    if as_json:
        write_json(found)
        return
    sys.stdout.write(render_summary(found))


# -- diff ------------------------------------------------------------------------------------------


@cli.command()
@click.option("--a", "a_range", metavar="START..END", help="Build A's time range: '1h..', '..30m', 'T1..T2'.")
@click.option("--b", "b_range", metavar="START..END", help="Build B's time range (same forms).")
@click.option("--a-source", metavar="PATH", help="Build A's source: the path as ingested, or a glob with *.")
@click.option("--b-source", metavar="PATH", help="Build B's source (same forms).")
@click.option(
    "--service", "-s", "services", multiple=True, metavar="NAME", help="Only this service (repeatable)."
)
@click.option(
    "--top", default=20, show_default=True, type=click.IntRange(min=0), metavar="N", help="How many per list."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: a, b, new, gone, changed, levels.")
@store_options
def diff(
    a_range: str | None,
    b_range: str | None,
    a_source: str | None,
    b_source: str | None,
    services: tuple[str, ...],
    top: int,
    as_json: bool,
    store_path: str | None,
    config_path: str | None,
) -> None:
    """Build A vs build B: templates new in B, gone from A, changed in frequency, and the level mix.

    Give two time ranges (--a, --b: START..END, either end open, times as for --since) or two
    ingested sources (--a-source, --b-source). Rules in docs/cli.md.
    """
    from loglens.analysis.diff import SidesError, check_sides, diff_view, render_diff

    try:
        check_sides(a_range, b_range, a_source, b_source)
    except SidesError as exc:  # a usage error (exit 2), found before any store or daemon is asked
        raise click.UsageError(str(exc)) from None
    config = load_config(config_path)
    found = view(
        store_path,
        config,
        lambda store: diff_view(
            store,
            config.timezone,
            a_range=a_range,
            b_range=b_range,
            a_source=a_source,
            b_source=b_source,
            services=services,
            top=top,
            now_ns=time.time_ns(),
        ),
        lambda daemon: daemon.diff(a_range, b_range, a_source, b_source, services, top),
    )
    if as_json:  # `totals` serves the text's "top N of M"; --json keeps its documented keys
        click.echo(orjson.dumps({k: v for k, v in found.items() if k != "totals"}).decode())
        return
    sys.stdout.write(render_diff(found))


# -- metrics ---------------------------------------------------------------------------------------


@cli.command()
@click.argument("names", nargs=-1, metavar="[NAME]...")
@range_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per window and group.")
@store_options
def metrics(
    names: tuple[str, ...],
    since: str | None,
    until: str | None,
    as_json: bool,
    store_path: str | None,
    config_path: str | None,
) -> None:
    """The [[metrics]] of loglens.toml (all, or the NAMEs given) over the stored records.

    Windows, percentiles and rates are defined in docs/cli.md. While `loglens up` runs, its
    loglens.toml defines the metrics.
    """
    from loglens.analysis.metrics import metrics_view, render_series

    config = load_config(config_path)
    found = view(
        store_path,
        config,
        lambda store: metrics_view(store, config, names, since, until),
        lambda daemon: daemon.metric_series(names, since, until),
    )
    out = sys.stdout
    for i, series in enumerate(found):
        if as_json:
            for point in series["points"]:
                out.write(orjson.dumps(point).decode() + "\n")
            continue
        out.write(("\n" if i else "") + render_series(series))


# -- sql -------------------------------------------------------------------------------------------


@cli.command()
@click.argument("statement")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row.")
@store_options
def sql(statement: str, as_json: bool, store_path: str | None, config_path: str | None) -> None:
    """Run a read-only SQL query on the store (tables: records, templates, checkpoints; see docs/store.md)."""
    config = load_config(config_path)
    daemon = daemon_for(resolve_store_path(store_path, config), config)
    if daemon is not None:  # the daemon holds the store: ask it
        columns, rows, text = daemon.sql(statement)
    else:
        store = open_store(store_path, config, read_only=True)
        try:
            columns, rows = store.sql(statement)
        finally:
            store.close()
        text = [["" if v is None else str(v) for v in row] for row in rows]
    if as_json:
        for row in rows:
            click.echo(orjson.dumps(dict(zip(columns, row, strict=True)), default=str).decode())
        return
    if use_colour(sys.stdout):
        from rich.console import Console
        from rich.table import Table

        table = Table(*columns, show_lines=False)
        for cells in text:
            table.add_row(*cells)
        Console().print(table)
        return
    click.echo("\t".join(columns))
    for cells in text:
        click.echo("\t".join(cells))


# -- mine ------------------------------------------------------------------------------------------


@cli.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--message-only", is_flag=True, help="Take each line whole as the message (no header parsing).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), help="Write JSONL here.")
def mine(path: Path, message_only: bool, out_path: Path | None) -> None:
    """Mine PATH's templates in a fresh state: one JSON object per input line (see docs/cli.md)."""
    from loglens.mine import mine_file

    out = out_path.open("w", encoding="utf-8") if out_path else sys.stdout
    try:
        for mined in mine_file(path, message_only):
            out.write(orjson.dumps(mined.to_json()).decode() + "\n")
    finally:
        if out_path:
            out.close()


@cli.command()
@store_options
def mcp(store_path: str | None, config_path: str | None) -> None:
    """Serve MCP on stdin/stdout for an AI agent (docs/mcp.md): tools to find, read, explain and
    watch the store's logs, through the daemon when it runs."""
    from loglens.mcp import run_stdio

    config = load_config(config_path)
    run_stdio(resolve_store_path(store_path, config), config)


@cli.command()
@click.option("--refresh", default="2s", show_default=True, metavar="DURATION",
              help="How often the panes are read again: 1s, 2s, 500ms …")  # fmt: skip
@store_options
def monit(refresh: str, store_path: str | None, config_path: str | None) -> None:
    """The terminal dashboard: services, live logs, incidents and patterns (docs/tui.md)."""
    from loglens.tui import run_monit

    config = load_config(config_path)
    run_monit(resolve_store_path(store_path, config), config, parse_duration(refresh) / 1e9)


def _register_commands() -> None:
    from loglens.commands.alerts import alerts
    from loglens.commands.export import export
    from loglens.commands.knowledge import ask, kb
    from loglens.commands.retention import retention
    from loglens.commands.search import search
    from loglens.demo.command import demo

    cli.add_command(demo)
    cli.add_command(alerts)
    cli.add_command(kb)
    cli.add_command(ask)
    cli.add_command(search)
    cli.add_command(retention)
    cli.add_command(export)


_register_commands()


def main() -> None:
    """Console entry point: runs the CLI and turns every failure into one readable line."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except LoglensError as exc:
        click.echo(f"loglens: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # `loglens logs | head`: the reader left; not an error.
        sys.stderr.close()
        sys.exit(0)
    except Exception as exc:
        if os.environ.get("LOGLENS_DEBUG"):
            raise
        click.echo(
            f"loglens: unexpected {type(exc).__name__}: {exc} (set LOGLENS_DEBUG=1 for details)", err=True
        )
        sys.exit(1)

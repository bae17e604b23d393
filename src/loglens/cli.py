"""The `loglens` command: thin commands over the library (ingest, logs, sql).

No traceback reaches the user: loglens errors print one line saying what to do, and anything
unexpected prints one line too (set LOGLENS_DEBUG=1 to see the traceback).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from loglens.allocation import return_arrow_memory
from loglens.config import Config, load_config, resolve_store_path
from loglens.errors import LoglensError
from loglens.formats.timestamp import to_iso_ms
from loglens.mining.dedup import dedupe as dedupe_records
from loglens.output import format_dedup_group, format_json, format_line, use_colour
from loglens.pipeline import Ingestor, IngestReport
from loglens.query.language import (
    CompiledQuery,
    and_all,
    compile_query,
    grep_clause,
    level_clause,
    service_clause,
)
from loglens.query.timerange import parse_duration, time_clause
from loglens.store.duckdb import DuckDBStore

F = TypeVar("F", bound=Callable[..., Any])


def _store_options(func: F) -> F:
    func = click.option("--config", "config_path", metavar="PATH", help="Config file (default: see docs).")(
        func
    )
    func = click.option("--store", "store_path", metavar="PATH", help="Store file (default: see docs).")(func)
    return func


def _open(store_path: str | None, config: Config, read_only: bool) -> DuckDBStore:
    path = resolve_store_path(store_path, config)
    return DuckDBStore(
        path, read_only=read_only, memory_limit=config.memory_limit, compression=config.compression
    )


def _filters(
    config: Config,
    query: str = "",
    grep: str | None = None,
    level: str | None = None,
    services: tuple[str, ...] = (),
    since: str | None = None,
    until: str | None = None,
) -> CompiledQuery:
    """The query and the shorthand flags, all of which must match (one way to build every filter)."""
    parts = [compile_query(query)]
    if grep:
        parts.append(grep_clause(grep))
    if level:
        parts.append(level_clause(level))
    if services:
        parts.append(service_clause(list(services)))
    if since or until:
        parts.append(time_clause(since, until, tz=config.timezone))
    return and_all(parts)


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
    parts.append(f"{len(report.skipped)} skipped")
    parts.append(f"{len(report.errors)} error{'s' if len(report.errors) != 1 else ''}")
    return "; ".join(parts)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--from-start", is_flag=True, help="Re-read files from the start, ignoring checkpoints.")
@click.option("-q", "--quiet", is_flag=True, help="Print only problems.")
@click.option("-v", "--verbose", is_flag=True, help="List every source with its format and counts.")
@_store_options
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
    store = _open(store_path, config, read_only=False)
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
@click.option("--since", metavar="TIME", help="1h, 15m, 2d, or '2026-02-12 10:00' (local time).")
@click.option("--until", metavar="TIME", help="Same forms as --since; exclusive.")
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
@_store_options
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
    where = _filters(config, " ".join(query), grep, level, services, since, until)
    store = _open(store_path, config, read_only=True)
    out = sys.stdout
    colour = use_colour(sys.stdout)
    try:
        write = out.write
        records = store.search(where.where, where.params, limit)
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
    finally:
        store.close()


# -- patterns --------------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--service", "-s", "services", multiple=True, metavar="NAME", help="Only this service (repeatable)."
)
@click.option("--since", metavar="TIME", help="1h, 15m, 2d, or '2026-02-12 10:00' (local time).")
@click.option("--until", metavar="TIME", help="Same forms as --since; exclusive.")
@click.option("--top", default=20, show_default=True, metavar="N", help="How many patterns to show.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per pattern.")
@_store_options
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
    from loglens.analysis.patterns import RECENT_SHARE
    from loglens.analysis.patterns import patterns as find_patterns

    config = load_config(config_path)
    where = _filters(config, services=services, since=since, until=until)
    store = _open(store_path, config, read_only=True)
    try:
        found = find_patterns(store.pattern_stats(where.where, where.params, RECENT_SHARE))
    finally:
        store.close()
    out = sys.stdout
    for pattern in found[:top]:
        first, last = to_iso_ms(pattern.first_ts), to_iso_ms(pattern.last_ts)
        if as_json:
            out.write(
                orjson.dumps(
                    {
                        "template_id": pattern.template_id,
                        "template": pattern.template,
                        "service": pattern.service,
                        "count": pattern.count,
                        "share": round(pattern.share, 6),
                        "trend": pattern.trend,
                        "level": pattern.level,
                        "first": first,
                        "last": last,
                        "sample": pattern.sample,
                    }
                ).decode()
                + "\n"
            )
            continue
        out.write(
            f"{pattern.count:>9,}  {pattern.share * 100:5.1f}%  {pattern.trend:<9} {pattern.level:<8} "
            f"{pattern.service[:12]:<12} {pattern.template}\n"
            f"{'':>18}first {first}  last {last}  e.g. {pattern.sample[:100]}\n"
        )


# -- sql -------------------------------------------------------------------------------------------


@cli.command()
@click.argument("statement")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row.")
@_store_options
def sql(statement: str, as_json: bool, store_path: str | None, config_path: str | None) -> None:
    """Run a read-only SQL query on the store (tables: records, templates, checkpoints; see docs/store.md)."""
    store = _open(store_path, load_config(config_path), read_only=True)
    try:
        columns, rows = store.sql(statement)
    finally:
        store.close()
    if as_json:
        for row in rows:
            click.echo(orjson.dumps(dict(zip(columns, row, strict=True)), default=str).decode())
        return
    if use_colour(sys.stdout):
        from rich.console import Console
        from rich.table import Table

        table = Table(*columns, show_lines=False)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        Console().print(table)
        return
    click.echo("\t".join(columns))
    for row in rows:
        click.echo("\t".join("" if v is None else str(v) for v in row))


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

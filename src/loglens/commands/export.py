"""`loglens export [QUERY] --format json|csv|html`: the records of a query as a file — JSON lines or CSV
streamed in constant memory, or a self-contained HTML report with charts (docs/export.md).

Without a daemon the store is opened read-only and every record streamed from it (no bound); while
`loglens up` holds the store, the daemon's `GET /api/export` answers, whose json and csv stop at
its `MAX_EXPORT_LIMIT` newest records (said on stderr when that cuts the export).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import click
import httpx

from loglens.client import DaemonClient, client_token, daemon_url
from loglens.commands.common import open_store, range_options, store_options
from loglens.config import Config, load_config, resolve_store_path
from loglens.errors import LoglensError, QueryError
from loglens.query.filters import record_filter
from loglens.report import REPORT_LINES, ReportQuery, gather_report, render_html
from loglens.server.discovery import MAX_EXPORT_LIMIT, api_record, export_lines

FORMATS = ("json", "csv", "html")
DAEMON_TIMEOUT_S = 600.0
"""How long to wait for each piece of the daemon's answer: a report of a big range replays the
detectors before its first byte."""
WHOLE_RANGE_BUCKET = "36500d"
"""One /api/stats bucket longer than any store's span: its counts add up to the query's total."""


@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]})
@click.argument("query", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="json",
    show_default=True,
    help="json: JSON lines as `logs --json` plus id; csv: with a header; html: a report with charts.",
)
@range_options
@click.option(
    "--service", "-s", "services", multiple=True, metavar="NAME", help="Only this service (repeatable)."
)
@click.option("--level", "level", metavar="LEVELS", help="error,warning  or  '>=warning'.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    metavar="N",
    help=f"json/csv: the newest N matching records (default: all); html: the first N listed ({REPORT_LINES})",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write FILE (replaced only once complete) instead of stdout.",
)
@store_options
def export(
    query: tuple[str, ...],
    fmt: str,
    since: str | None,
    until: str | None,
    services: tuple[str, ...],
    level: str | None,
    limit: int | None,
    output: Path | None,
    store_path: str | None,
    config_path: str | None,
) -> None:
    """Export the records matching QUERY (docs/query.md): as JSON lines or CSV, oldest first, or as
    one self-contained HTML report (volume by level, services, patterns, incidents with their
    explanation, alerts, the first lines) to open, mail or print. Details in docs/export.md."""
    config = load_config(config_path)
    text = " ".join(query)
    path = resolve_store_path(store_path, config)
    url = daemon_url(path)
    ask = ReportQuery(text, level, services, since, until, limit or REPORT_LINES) if fmt == "html" else None
    params: dict[str, Any] = {"format": fmt, "q": text, "level": level, "service": list(services),
                              "since": since, "until": until}  # fmt: skip
    with destination(output) as out:
        if url is not None:
            if fmt != "html":
                _warn_if_cut(DaemonClient(url, client_token(config)), params, limit)
            params["limit"] = limit if limit or fmt == "html" else MAX_EXPORT_LIMIT
            download(url, client_token(config), {k: v for k, v in params.items() if v is not None}, out)
        elif ask is not None:
            out.write(report_from_store(store_path, config, ask))
        else:
            records_from_store(store_path, config, text, level, services, since, until, limit, fmt, out)
    if output is not None and output.is_file():
        click.echo(f"wrote {output} ({output.stat().st_size:,} bytes)", err=True)


@contextmanager
def destination(output: Path | None) -> Iterator[TextIO]:
    """Where the export goes: stdout, or FILE written beside as `FILE.part` and renamed once complete
    (a failed export leaves no half file behind). A FILE that exists and is no regular file
    (/dev/null, a pipe) is written directly."""
    if output is None:
        yield sys.stdout
        return
    if output.exists() and not output.is_file():
        with _opened(output) as out:
            yield out
        return
    part = output.with_name(output.name + ".part")
    try:
        with _opened(part) as out:
            yield out
        part.replace(output)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


@contextmanager
def _opened(path: Path) -> Iterator[TextIO]:
    try:
        out = path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise LoglensError(f"cannot write {path}: {exc.strerror}; choose another -o FILE") from None
    with out:
        yield out


def records_from_store(
    store_path: str | None,
    config: Config,
    text: str,
    level: str | None,
    services: tuple[str, ...],
    since: str | None,
    until: str | None,
    limit: int | None,
    fmt: str,
    out: TextIO,
) -> None:
    """JSON lines or CSV straight from the store opened read-only: without `limit` every matching
    record, read in chunks (`Store.search(..., None)`), so memory stays flat however many there are."""
    where = record_filter(config.timezone, text, None, level, services, since, until)
    store = open_store(store_path, config, read_only=True)
    try:
        records = (api_record(r) for r in store.search(where.where, where.params, limit))
        for piece in export_lines(records, fmt):
            out.write(piece)
    finally:
        store.close()


def report_from_store(store_path: str | None, config: Config, ask: ReportQuery) -> str:
    """The HTML report, read from the store opened read-only (the same document the daemon's
    `/api/export?format=html` makes)."""
    store = open_store(store_path, config, read_only=True)
    try:
        report = gather_report(store, config, ask, time.time_ns())
    finally:
        store.close()
    return render_html(report)


def _warn_if_cut(daemon: DaemonClient, params: dict[str, Any], limit: int | None) -> None:
    """Says on stderr when the daemon's bound will cut an export asked without --limit: counted
    first with one /api/stats bucket over the whole range."""
    if limit is not None:
        return
    asked = {k: v for k, v in params.items() if k != "format" and v is not None}
    stats = daemon.call("GET", "/api/stats", asked | {"bucket": WHOLE_RANGE_BUCKET, "by": "level"})
    total = sum(n for bucket in stats["buckets"] for n in bucket["counts"].values())
    if total > MAX_EXPORT_LIMIT:
        click.echo(
            f"loglens: the daemon exports at most {MAX_EXPORT_LIMIT:,} records: writing the newest "
            f"{MAX_EXPORT_LIMIT:,} of {total:,}; narrow the range (--since/--until), or stop the daemon "
            "to export them all from the store",
            err=True,
        )


def download(url: str, token: str | None, params: dict[str, Any], out: TextIO) -> None:
    """`GET /api/export` of the daemon at `url`, written to `out` as it arrives; a refusal raises
    the daemon's own sentence."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.stream(
            "GET", url + "/api/export", params=params, headers=headers, timeout=DAEMON_TIMEOUT_S
        ) as answer:
            if answer.status_code != 200:
                answer.read()
                raise refusal(url, answer)
            for piece in answer.iter_text():
                out.write(piece)
    except httpx.HTTPError as exc:
        raise LoglensError(f"the daemon at {url} did not answer ({exc}); is `loglens up` running?") from None


def refusal(url: str, answer: httpx.Response) -> LoglensError:
    """The error for a refused export: the API's sentence (`{"error"}` or `{"detail"}`), as a
    QueryError for a 400, else with the status."""
    try:
        body = answer.json()
    except ValueError:
        body = None
    reason = body.get("error", body.get("detail")) if isinstance(body, dict) else None
    if isinstance(reason, str):
        return QueryError(reason) if answer.status_code == 400 else LoglensError(reason)
    return LoglensError(f"the daemon at {url} answered {answer.status_code}: {answer.text[:300]}")

"""What an agent (the MCP tools) asks before and beside a search: which services and fields exist, one
record with the lines around it, a trace across services, and the records of a query as a file —
each through the request's scope (a tenant's request sees its own records only)."""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse

from loglens.errors import QueryError
from loglens.formats.timestamp import to_iso_ms
from loglens.output import record_json
from loglens.query.filters import record_filter
from loglens.query.language import FieldMatch, Or, and_all, compile_node
from loglens.query.timerange import parse_time_bound
from loglens.record import Level
from loglens.report import REPORT_LINES, ReportQuery, gather_report, render_html
from loglens.report.html import CSP
from loglens.server.tenancy import RequestScope, Scope, replay_scoped
from loglens.store.base import StoredRecord

if TYPE_CHECKING:
    from loglens.daemon import Daemon

router = APIRouter(prefix="/api")

RECORD_COLUMNS = (
    "service", "host", "source", "level", "message", "template", "trace_id", "span_id", "category", "pid",
    "parse_error",
)  # fmt: skip
"""What `field:value` addresses besides the parsed fields (docs/query.md)."""
TRACE_FIELDS = (
    "trace_id", "traceId", "trace.id", "request_id", "requestId", "correlation_id", "x_request_id",
)  # fmt: skip
"""Where a trace or request id is looked for: the record's own column, then the keys services use."""
FIELD_SAMPLE = 5_000
MAX_FIELD_SAMPLE = 50_000
MAX_CONTEXT = 200
TRACE_LIMIT = 1_000
MAX_TRACE_LIMIT = 10_000
EXPORT_LIMIT = 10_000
MAX_EXPORT_LIMIT = 1_000_000
EXPORT_FORMATS = ("json", "csv")
CSV_COLUMNS = ("id", "ts", "level", "service", "host", "pid", "template", "message", "fields")
EXAMPLE_CHARS = 80


def api_record(record: StoredRecord) -> dict[str, Any]:
    """A record as /api/logs sends it: `loglens logs --json` plus `id` and `raw`, and its `tenant`
    when it has one (only the operator's view ever reads another's)."""
    found = {**record_json(record), "id": record.id, "raw": record.raw}
    if record.tenant:
        found["tenant"] = record.tenant
    return found


def _bound(daemon: Daemon, text: str | None) -> int | None:
    return None if not text else parse_time_bound(text, tz=daemon.config.timezone)


def _time_sql(since_ns: int | None, until_ns: int | None) -> str:
    """A bound on `ts` for `store.sql`, which takes no parameters: the bounds are integers made by
    `parse_time_bound`, never text from the request."""
    parts = ["TRUE"]
    if since_ns is not None:
        parts.append(f"ts >= make_timestamp_ns({int(since_ns)})")
    if until_ns is not None:
        parts.append(f"ts < make_timestamp_ns({int(until_ns)})")
    return " AND ".join(parts)


@router.get("/services", summary="The services that logged, with their record counts and first/last time")
def services(
    request: Request,
    scope: RequestScope,
    since: Annotated[str | None, Query(description="15m, 2h, 2d or a time.")] = None,
    until: Annotated[str | None, Query(description="Same forms as since; exclusive.")] = None,
) -> dict[str, Any]:
    """`{"services": [{"service", "records", "errors", "warnings", "first", "last"}]}`, busiest first;
    `errors` counts error and worse, `warnings` warnings."""
    daemon: Daemon = request.app.state.daemon
    where = f"{scope.sql_predicate} AND {_time_sql(_bound(daemon, since), _bound(daemon, until))}"
    _, rows = daemon.store.sql(
        f"""SELECT service, count(*),
                   count(*) FILTER (WHERE severity >= {int(Level.ERROR)}),
                   count(*) FILTER (WHERE severity >= {int(Level.WARNING)} AND severity < {int(Level.ERROR)}),
                   epoch_ns(min(ts)), epoch_ns(max(ts))
            FROM records WHERE {where} GROUP BY service ORDER BY 2 DESC, 1"""
    )
    found = [
        {"service": row[0], "records": int(row[1]), "errors": int(row[2]), "warnings": int(row[3]),
         "first": to_iso_ms(int(row[4])), "last": to_iso_ms(int(row[5]))}
        for row in rows
    ]  # fmt: skip
    return {"services": found}


def field_counts(records: Iterable[StoredRecord]) -> tuple[int, list[dict[str, Any]]]:
    """How many records were read, and per parsed field name (nested keys as `a.b`, as the query
    language names them) how many of them hold it, its JSON type and one example value."""
    seen = 0
    counts: Counter[str] = Counter()
    examples: dict[str, Any] = {}
    for record in records:
        seen += 1
        for name, value in _flat_fields(record.fields or {}, ""):
            counts[name] += 1
            examples.setdefault(name, value)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return seen, [_field_entry(name, count, seen, examples[name]) for name, count in ranked]


def _field_entry(name: str, count: int, seen: int, example: object) -> dict[str, Any]:
    share = round(count / seen, 4)
    return {
        "name": name,
        "count": count,
        "share": share,
        "type": _json_type(example),
        "example": _example(example),
    }


def _flat_fields(fields: dict[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for key, value in fields.items():
        name = prefix + key
        if isinstance(value, dict) and value:
            yield from _flat_fields(value, name + ".")
        else:
            yield name, value


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "null" if value is None else "string"


def _example(value: object) -> object:
    """A value short enough to show: long text and lists are cut (`…`)."""
    if isinstance(value, str | list | dict):
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"
    return value


@router.get("/fields", summary="The parsed field names records carry, counted over the newest records")
def fields(
    request: Request,
    scope: RequestScope,
    q: Annotated[str, Query(description="Query (docs/query.md).")] = "",
    service: Annotated[list[str] | None, Query(description="Only these services.")] = None,
    since: Annotated[str | None, Query(description="15m, 2h, 2d or a time.")] = None,
    until: Annotated[str | None, Query(description="Same forms as since; exclusive.")] = None,
    sample: Annotated[
        int, Query(ge=1, le=MAX_FIELD_SAMPLE, description="Newest records read.")
    ] = FIELD_SAMPLE,
) -> dict[str, Any]:
    """`{"sampled", "columns", "fields": [{"name", "count", "share", "type", "example"}]}`: the record
    columns every record has, then the keys of `fields` among the newest `sample` matching records
    (a sample keeps this cheap on any store), commonest first — each usable as `name:value` in a
    query."""
    daemon: Daemon = request.app.state.daemon
    where = record_filter(daemon.config.timezone, q, None, None, service or (), since, until)
    sampled, found = field_counts(scope.store.search(where.where, where.params, sample))
    return {"sampled": sampled, "columns": list(RECORD_COLUMNS), "fields": found}


@router.get("/records/{record_id}", summary="One record, with its service's records just before and after")
def record(
    scope: RequestScope,
    record_id: int,
    before: Annotated[int, Query(ge=0, le=MAX_CONTEXT, description="Records of its service before it.")] = 0,
    after: Annotated[int, Query(ge=0, le=MAX_CONTEXT, description="Records of its service after it.")] = 0,
) -> dict[str, Any]:
    """`{"record", "before": [...], "after": [...]}`, records as /api/logs; the neighbours are the same
    service's, ordered by time then id (so records of one instant keep their order). 404 when no
    record has this id (for a tenant's request: none of its own)."""
    store = scope.store
    found = list(store.search("id = ?", [record_id], 1))
    if not found:
        raise HTTPException(404, f"no record #{record_id}: take ids from /api/logs (`id`)")
    anchor = found[0]
    at = [anchor.service, anchor.ts, anchor.ts, anchor.id]
    earlier = "service = ? AND (ts < make_timestamp_ns(?) OR (ts = make_timestamp_ns(?) AND id < ?))"
    later = "service = ? AND (ts > make_timestamp_ns(?) OR (ts = make_timestamp_ns(?) AND id > ?))"
    return {
        "record": api_record(anchor),
        "before": [api_record(r) for r in store.search(earlier, at, before)] if before else [],
        "after": [api_record(r) for r in store.search(later, at, after, oldest=True)] if after else [],
    }


def trace_services(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per service of a trace, in order of its first record: its count, errors, first and last time."""
    by_service: dict[str, dict[str, Any]] = {}
    for item in records:
        entry = by_service.setdefault(
            item["svc"], {"service": item["svc"], "records": 0, "errors": 0, "first": item["ts"]}
        )
        entry["records"] += 1
        entry["errors"] += Level.from_label(item["lvl"]) >= Level.ERROR
        entry["last"] = item["ts"]
    return list(by_service.values())


@router.get("/trace/{trace_id}", summary="Every record of one trace or request id, across services")
def trace(
    request: Request,
    scope: RequestScope,
    trace_id: str,
    since: Annotated[str | None, Query(description="15m, 2h, 2d or a time.")] = None,
    until: Annotated[str | None, Query(description="Same forms as since; exclusive.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_TRACE_LIMIT, description="The first N records.")] = TRACE_LIMIT,
) -> dict[str, Any]:
    """`{"trace_id", "records": [...], "count", "truncated", "services": [...], "first", "last",
    "duration_ms"}`: the records whose `trace_id` — or a parsed `traceId`, `request_id`,
    `correlation_id`… field — is this id, oldest first (the first `limit`), and per service its part."""
    daemon: Daemon = request.app.state.daemon
    if not trace_id.strip():
        raise QueryError("give a trace id")
    match = compile_node(Or(tuple(FieldMatch(name, trace_id) for name in TRACE_FIELDS)))
    where = and_all([match, record_filter(daemon.config.timezone, since=since, until=until)])
    found = list(scope.store.search(where.where, where.params, limit + 1, oldest=True))
    kept = found[:limit]
    records = [api_record(r) for r in kept]
    return {
        "trace_id": trace_id,
        "records": records,
        "count": len(records),
        "truncated": len(found) > limit,
        "services": trace_services(records),
        "first": records[0]["ts"] if records else None,
        "last": records[-1]["ts"] if records else None,
        "duration_ms": (kept[-1].ts - kept[0].ts) // 10**6 if kept else None,
    }


def export_lines(records: Iterable[dict[str, Any]], fmt: str) -> Iterator[str]:
    """Records as /api/logs sends them, as export text: `json` is one object per line as `loglens logs
    --json` prints it (with `id`); `csv` has a header and the columns of CSV_COLUMNS (`fields` as JSON)."""
    if fmt not in EXPORT_FORMATS:
        raise QueryError(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    if fmt == "json":
        for item in records:
            yield orjson.dumps({k: v for k, v in item.items() if k != "raw"}).decode() + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for item in records:
        writer.writerow(_csv_row(item))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _csv_row(item: dict[str, Any]) -> list[object]:
    pid = "" if item.get("pid") is None else item["pid"]
    fields = orjson.dumps(item.get("fields") or {}).decode()
    return [item.get("id"), item["ts"], item["lvl"], item["svc"], item.get("host") or "", pid,
            item.get("tpl") or "", item["msg"], fields]  # fmt: skip


@router.get(
    "/export", summary="The records of a query as a file: JSON lines, CSV (bounded) or an HTML report"
)
def export(
    request: Request,
    scope: RequestScope,
    format: Annotated[
        str,
        Query(
            pattern="^(json|csv|html)$",
            description="json (JSON lines), csv, or html (a report, docs/export.md).",
        ),
    ] = "json",
    q: Annotated[str, Query(description="Query (docs/query.md).")] = "",
    level: Annotated[str | None, Query(description="error,warning or >=warning.")] = None,
    service: Annotated[list[str] | None, Query(description="Only these services.")] = None,
    since: Annotated[str | None, Query(description="15m, 2h, 2d or a time.")] = None,
    until: Annotated[str | None, Query(description="Same forms as since; exclusive.")] = None,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_EXPORT_LIMIT,
            description=f"json/csv: the newest N matching records ({EXPORT_LIMIT:,}); "
            f"html: the first N listed ({REPORT_LINES}).",
        ),
    ] = None,
) -> Response:
    """The newest `limit` matching records, oldest first, streamed as a download: `json` gives one
    object per line as `loglens logs --json` (plus `id`), `csv` the columns id, ts, level, service,
    host, pid, template, message, fields (JSON). `html` is the report `loglens export --format html`
    writes: one self-contained file (docs/export.md) listing the first `limit` matching lines."""
    daemon: Daemon = request.app.state.daemon
    if format == "html":
        return html_export(
            daemon, scope, ReportQuery(q, level, tuple(service or ()), since, until, limit or REPORT_LINES)
        )
    where = record_filter(daemon.config.timezone, q, None, level, service or (), since, until)
    found = (api_record(r) for r in scope.store.search(where.where, where.params, limit or EXPORT_LIMIT))
    media = "application/x-ndjson" if format == "json" else "text/csv"
    name = "loglens-export." + ("ndjson" if format == "json" else "csv")
    return StreamingResponse(
        export_lines(found, format),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def html_export(daemon: Daemon, scope: Scope, ask: ReportQuery) -> Response:
    """The HTML report of `ask` as a download. The detectors' replay of the range is the one
    /api/incidents uses (same cache key), so a report right after a look at the incidents reuses it."""
    replayed = replay_scoped(daemon, scope, ask.since, ask.until)
    document = render_html(gather_report(scope.store, daemon.config, ask, time.time_ns(), replayed))
    return Response(
        document,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="loglens-report.html"',
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
        },
    )

"""Tests for loglens.server.discovery (/api/services, /api/fields, /api/records/{id}, /api/trace/{id},
/api/export): its router served by uvicorn on 127.0.0.1 over a store made by the real `loglens ingest`,
read-only as `LogAccess` serves the API without a daemon."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from conftest import run_loglens
from loglens.access import StoreDaemon
from loglens.config import Config
from loglens.server.app import create_app
from loglens.server.discovery import router
from loglens.store.duckdb import DuckDBStore

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def line(second: int, service: str, level: str, msg: str, **extra: object) -> str:
    return json.dumps({"ts": f"2026-11-25T10:00:{second:02d}.000Z", "service": service, "level": level,
                       "msg": msg, **extra})  # fmt: skip


LINES = [
    line(0, "nginx", "info", "GET /checkout 200", trace_id=TRACE, status=200, http={"method": "GET"}),
    line(1, "api", "info", "checkout started", trace_id=TRACE, user="ana"),
    line(2, "billing", "error", "card declined", request_id=TRACE, amount=12.5),
    line(3, "api", "warning", "checkout failed", trace_id=TRACE, user="ana"),
    line(4, "api", "info", "other request", trace_id="0000feedbeef", user="bob"),
    *(line(10 + i, "jobs", "info", f"step {i} of job", batch=i) for i in range(20)),
    line(40, "nginx", "error", "GET /health 502", status=502, http={"method": "GET"}),
]


def serve(app: FastAPI) -> tuple[uvicorn.Server, threading.Thread, str]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    folder = tmp_path_factory.mktemp("discovery")
    logs = folder / "shop.jsonl"
    logs.write_text("\n".join(LINES) + "\n")
    store_path = folder / "s.duckdb"
    run_loglens("ingest", "--store", str(store_path), str(logs))
    store = DuckDBStore(store_path, read_only=True)
    app = create_app(StoreDaemon(store, Config(), store_path))  # type: ignore[arg-type]
    app.include_router(router)
    server, thread, url = serve(app)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


def ids(api: httpx.Client, q: str) -> list[int]:
    return [r["id"] for r in api.get("/api/logs", params={"q": q, "limit": 0}).json()["records"]]


class TestServices:
    def test_counts_levels_and_span_per_service(self, api: httpx.Client) -> None:
        """Each service with its records, errors, warnings and first/last time, busiest first."""
        found = api.get("/api/services").json()["services"]
        assert [s["service"] for s in found] == ["jobs", "api", "nginx", "billing"]
        by_name = {s["service"]: s for s in found}
        assert by_name["api"] == {
            "service": "api", "records": 3, "errors": 0, "warnings": 1,
            "first": "2026-11-25T10:00:01.000Z", "last": "2026-11-25T10:00:04.000Z",
        }  # fmt: skip
        assert (by_name["nginx"]["records"], by_name["nginx"]["errors"]) == (2, 1)

    def test_a_range_keeps_only_what_logged_in_it(self, api: httpx.Client) -> None:
        """since/until bound the count: only the late nginx error falls after 10:00:35."""
        found = api.get("/api/services", params={"since": "2026-11-25T10:00:35Z"}).json()["services"]
        assert found == [{
            "service": "nginx", "records": 1, "errors": 1, "warnings": 0,
            "first": "2026-11-25T10:00:40.000Z", "last": "2026-11-25T10:00:40.000Z",
        }]  # fmt: skip

    def test_an_unreadable_time_is_a_400_saying_so(self, api: httpx.Client) -> None:
        """A bad since is refused with the sentence telling the forms it takes."""
        answer = api.get("/api/services", params={"since": "last tuesdayish"})
        assert answer.status_code == 400 and "cannot read the time" in answer.json()["error"]


class TestFields:
    def test_names_nested_keys_as_the_query_language_does(self, api: httpx.Client) -> None:
        """Parsed keys are counted with their type and an example; nested ones as `http.method`; the
        trace id is a column, not a field."""
        got = api.get("/api/fields").json()
        assert got["sampled"] == len(LINES)
        assert "trace_id" in got["columns"] and "service" in got["columns"]
        by_name = {f["name"]: f for f in got["fields"]}
        assert by_name["batch"]["count"] == 20 and by_name["batch"]["type"] == "number"
        share = round(2 / len(LINES), 4)
        assert by_name["http.method"] == {
            "name": "http.method", "count": 2, "share": share, "type": "string", "example": "GET",
        }  # fmt: skip
        assert by_name["user"]["count"] == 3 and "trace_id" not in by_name
        assert got["fields"][0]["name"] == "batch"  # commonest first

    def test_a_query_and_a_sample_narrow_what_is_read(self, api: httpx.Client) -> None:
        """Only the matching records are read, and only the newest `sample` of them."""
        got = api.get("/api/fields", params={"service": "api", "sample": 2}).json()
        assert got["sampled"] == 2
        assert [f["name"] for f in got["fields"]] == ["user"]


class TestRecord:
    def test_a_record_with_its_service_neighbours(self, api: httpx.Client) -> None:
        """The record and the same service's records before and after it, in order."""
        jobs = ids(api, "service:jobs")
        got = api.get(f"/api/records/{jobs[5]}", params={"before": 2, "after": 3}).json()
        assert got["record"]["msg"] == "step 5 of job" and got["record"]["id"] == jobs[5]
        assert [r["msg"] for r in got["before"]] == ["step 3 of job", "step 4 of job"]
        assert [r["msg"] for r in got["after"]] == ["step 6 of job", "step 7 of job", "step 8 of job"]

    def test_an_unknown_id_is_a_404_saying_where_ids_come_from(self, api: httpx.Client) -> None:
        """No such record: 404 with a sentence naming /api/logs."""
        answer = api.get("/api/records/987654321")
        assert answer.status_code == 404 and "/api/logs" in answer.json()["detail"]


class TestTrace:
    def test_follows_one_id_across_services_and_fields(self, api: httpx.Client) -> None:
        """The trace's records come oldest first from the trace_id column and a request_id field; each
        service's part is summed up in order of appearance; another trace stays out."""
        got = api.get(f"/api/trace/{TRACE}").json()
        assert [(r["svc"], r["msg"]) for r in got["records"]] == [
            ("nginx", "GET /checkout 200"), ("api", "checkout started"), ("billing", "card declined"),
            ("api", "checkout failed"),
        ]  # fmt: skip
        assert [(s["service"], s["records"], s["errors"]) for s in got["services"]] == [
            ("nginx", 1, 0), ("api", 2, 0), ("billing", 1, 1),
        ]  # fmt: skip
        assert got["duration_ms"] == 3000 and got["truncated"] is False and got["count"] == 4

    def test_limit_keeps_the_first_and_says_there_is_more(self, api: httpx.Client) -> None:
        """With limit=2 the first two records come back and `truncated` is set."""
        got = api.get(f"/api/trace/{TRACE}", params={"limit": 2}).json()
        assert [r["svc"] for r in got["records"]] == ["nginx", "api"] and got["truncated"] is True

    def test_an_unknown_trace_is_empty(self, api: httpx.Client) -> None:
        """No record carries the id: no records, no services, no duration."""
        got = api.get("/api/trace/nope").json()
        assert (got["records"], got["services"], got["duration_ms"]) == ([], [], None)


class TestExport:
    def test_csv_has_a_header_and_the_newest_records(self, api: httpx.Client) -> None:
        """CSV: the documented columns, the newest `limit` matching records oldest first, fields as JSON."""
        answer = api.get("/api/export", params={"format": "csv", "q": "service:api", "limit": 2})
        assert answer.headers["content-type"].startswith("text/csv")
        assert "loglens-export.csv" in answer.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        assert [r["message"] for r in rows] == ["checkout failed", "other request"]
        assert rows[0]["level"] == "warning" and json.loads(rows[0]["fields"]) == {"user": "ana"}

    def test_json_is_one_logs_json_object_per_line(self, api: httpx.Client) -> None:
        """JSON lines as `loglens logs --json` prints them, with the id and without raw."""
        answer = api.get("/api/export", params={"q": "level:>=error"})
        objects = [json.loads(text) for text in answer.text.splitlines()]
        assert [o["msg"] for o in objects] == ["card declined", "GET /health 502"]
        assert {"ts", "lvl", "svc", "msg", "fields", "id"} <= set(objects[0]) and "raw" not in objects[0]

    def test_an_unknown_format_is_refused(self, api: httpx.Client) -> None:
        """format must be json or csv."""
        assert api.get("/api/export", params={"format": "xml"}).status_code == 422

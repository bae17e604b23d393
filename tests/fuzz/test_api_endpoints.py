"""Fuzzing the query and management API of a real daemon: any parameters and bodies, never a 5xx.

The operations come from the app's own OpenAPI schema, so a new endpoint is fuzzed without being
named here; only the live stream (it never ends) and the push endpoints (test_ingest_endpoints.py)
are left out. Values are chosen by what a parameter holds: queries, times, durations, ids, numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz.conftest import Served
from fuzz.fuzzing import (
    RULE_SEEDS,
    SAMPLE_LINES,
    digit_runs,
    fuzz,
    json_objects,
    json_text,
    json_values,
    level_texts,
    log_text,
    mutated_tree,
    query_texts,
    time_texts,
)
from fuzz.payloads import mutated_bytes
from loglens.config import Config
from loglens.server.app import create_app
from loglens.server.settings import ServerSettings

if TYPE_CHECKING:
    from loglens.daemon import Daemon

SHARE = 0.2
"""API cases cost a few ms each: `make test` runs a fifth of a parser target's count."""
NOT_FUZZED = ("/api/live/sse",)
PUSH_PATHS = (
    "/ingest",
    "/loki/",
    "/_bulk",
    "/{index}/_bulk",
    "/v1/logs",
    "/services/collector",
    "/api/v2/logs",
)

numbers = st.one_of(
    st.integers(-5, 1000).map(str), digit_runs, st.sampled_from(["-1", "1e3", "x", "", "0.5", "nan"])
)
texts = st.one_of(log_text(max_pieces=4, newlines=False), st.text(max_size=10))
ranges = st.builds("{}..{}".format, st.just("") | time_texts, st.just("") | time_texts)
# What a parameter of each name takes, besides anything at all.
BY_NAME: dict[str, st.SearchStrategy[str]] = {
    "q": query_texts,
    "grep": query_texts,
    "level": level_texts,
    "since": time_texts,
    "until": time_texts,
    "ts": time_texts,
    "a": ranges,
    "b": ranges,
    "bucket": time_texts,
    "by": st.sampled_from(["level", "service", "template", "category", "x"]),
    "min_severity": st.sampled_from(["info", "warning", "critical", "error"]),
    "state": st.sampled_from(["open", "acknowledged", "resolved", "all", "x"]),
    "format": st.sampled_from(["json", "jsonl", "csv", "html", "x"]),
    "service": st.sampled_from(["api", "db", "*", "a*", "["]) | texts,
    "name": st.sampled_from(["api-errors", "incidents", "nope"]) | texts,
}


Operation = tuple[str, str, tuple[tuple[str, str, str], ...], bool]
"""(method, path, parameters as (name, in, type), takes a body)"""


@cache
def operations() -> list[Operation]:
    """(method, path, parameters as (name, in, type), takes a body) of every fuzzed operation."""
    # The routes are all the schema needs: the app is built around a stand-in with the config only.
    config = dataclasses.replace(Config(), server=dataclasses.replace(ServerSettings(), audit_log="off"))
    schema = create_app(cast("Daemon", SimpleNamespace(config=config))).openapi()
    found = []
    for path, methods in schema["paths"].items():
        if path in NOT_FUZZED or path.startswith(PUSH_PATHS):
            continue
        for method, operation in methods.items():
            params = tuple(
                (p["name"], p["in"], _type(p.get("schema", {}))) for p in operation.get("parameters", [])
            )
            found.append((method.upper(), path, params, "requestBody" in operation))
    return found


def _type(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        kinds = [s.get("type") for s in schema["anyOf"] if s.get("type") != "null"]
        return "array" if "array" in kinds else str(kinds[0] if kinds else "string")
    return str(schema.get("type", "string"))


def value_for(name: str, kind: str) -> st.SearchStrategy[str]:
    """Text for one parameter: what its name or type suggests, or anything."""
    if name in BY_NAME:
        return st.one_of(BY_NAME[name], texts)
    if kind in ("integer", "number"):
        return numbers
    if kind == "boolean":
        return st.sampled_from(["true", "false", "1", "0", "yes", "x"])
    return texts | digit_runs


SQL = (
    "SELECT count(*) FROM records",
    "SELECT * FROM records LIMIT 3",
    "DROP TABLE records",
    "SELECT '\\ud800'",
)
bodies = st.one_of(
    json_objects,
    json_values,
    st.sampled_from(RULE_SEEDS).flatmap(lambda seed: mutated_tree(seed, json_values)),
    st.fixed_dictionaries(
        {},
        optional={
            "sql": st.sampled_from(SQL) | query_texts,
            "matchers": st.dictionaries(st.sampled_from(["service", "rule", "severity"]), texts)
            | json_values,
            "duration": time_texts,
            "comment": texts,
            "by": texts,
            "incident_id": texts,
            "fix": texts,
            "since": time_texts,
            "until": time_texts,
            "text": texts,
            "kind": st.sampled_from(["note", "bookmark", "x"]),
            "record_id": json_values,
            "service": texts,
        },
    ),
)


@st.composite
def requests(draw: st.DrawFn, operation: Operation) -> dict[str, Any]:
    """One request to `operation`: its path filled in, some of its query parameters, maybe a body."""
    method, path, params, has_body = operation
    query: list[tuple[str, str]] = []
    for name, where, kind in params:
        if where == "path":
            path = path.replace("{" + name + "}", quote(draw(value_for(name, kind)), safe=""))
        elif draw(st.booleans()):
            count = draw(st.integers(1, 3)) if kind == "array" else 1
            query += [(name, draw(value_for(name, kind))) for _ in range(count)]
    request: dict[str, Any] = {"method": method, "url": path, "params": query}
    if has_body:
        body = draw(bodies)
        form = draw(st.integers(0, 9))
        if form < 7:
            request["json"] = body
        else:  # as bytes: mutated JSON (lone surrogates, bad UTF-8, cut short) or anything
            raw = json_text(body).encode()
            request["content"] = draw(mutated_bytes(raw)) if form < 9 else draw(st.binary(max_size=40))
            request["headers"] = {"content-type": "application/json"}
    return request


@pytest.fixture(scope="module")
def seeded(served: Served) -> Iterator[Served]:
    """The daemon holding a line of every format, so queries have records, fields and templates."""
    for source in ("app.log", "other/x.log"):
        response = served.client.post(
            "/ingest", params={"source": source}, content="\n".join(SAMPLE_LINES).encode()
        )
        assert response.status_code == 200, response.text
    yield served


@pytest.mark.parametrize("operation", operations(), ids=lambda op: f"{op[0]} {op[1]}")
@fuzz(SHARE)
@given(data=st.data())
def test_no_request_gets_a_5xx(
    seeded: Served, operation: tuple[str, str, Any, bool], data: st.DataObject
) -> None:
    """Any parameters and body sent to an API operation are answered, with 4xx at worst."""
    request = data.draw(requests(operation))
    seeded.request(**request)


class TestFoundByFuzzing:
    def test_a_body_that_is_not_utf8_is_a_422(self, served: Served) -> None:
        """FastAPI's own handler failed (a 500) echoing a body that is not UTF-8 (fastapi#13111)."""
        response, _ = served.request("POST", "/api/alerts/rules", content=b"\x80")  # no Content-Type
        assert response.status_code == 422
        assert response.json()["detail"][0]["input"] == "\ufffd"

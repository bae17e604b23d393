"""Multi-tenancy: a request's tenant from its token or header, and one tenant never seeing another's
records — unit tests of the rules, then a real `loglens up` holding three owners' logs (acme through
its bound token and a followed file, globex through an operator token with X-Loglens-Tenant and a
Loki push with X-Scope-OrgID, and the operator's own), read through every endpoint as each."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from anyio.from_thread import start_blocking_portal
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

import incident_scenario as scenario
from daemon_helpers import Up
from loglens.access import LogAccess
from loglens.config import load_config, parse_config
from loglens.errors import ConfigError, LoglensError
from loglens.formats.timestamp import to_iso_ms
from loglens.record import Record
from loglens.server.auth import TenantRefused, Token, parse_tokens, requested_tenant, resolve_tenant
from loglens.server.live import Subscriber

ACME_TOKEN = "acme-secret-0123456789"
OPERATOR_TOKEN = "operator-secret-0123456789"
ACME = {"Authorization": f"Bearer {ACME_TOKEN}"}
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
GLOBEX = {**OPERATOR, "X-Loglens-Tenant": "globex"}
NDJSON = {"Content-Type": "application/x-ndjson"}
START = scenario.START_NS
MINUTE = scenario.MINUTE
SPLIT = to_iso_ms(START + 40 * MINUTE)
RANGE = {"since": to_iso_ms(START - MINUTE), "until": to_iso_ms(START + 70 * MINUTE)}
FOREIGN = (
    "globex", "deadlock", "upstream db failed", "checkpoint complete", "vacuum table", "cache hit ratio",
    "query ok rows", "get /api/items", "operatormark",
)  # fmt: skip
"""Words only globex's or the operator's records hold (compared in lower case): none may reach acme.
`globex` covers its markers, its only field and its template ids (`globex/…`)."""


# -- the rules ------------------------------------------------------------------------------------


def token(tenant: str | None) -> Token:
    return Token("t", "a-long-enough-secret-1", frozenset({"read"}), tenant=tenant)


class TestTenantRules:
    def test_a_bound_token_acts_as_its_tenant(self) -> None:
        """A token bound to a tenant is that tenant, with or without its own name in the header."""
        assert resolve_tenant(token("acme"), None) == "acme"
        assert resolve_tenant(token("acme"), "acme") == "acme"

    def test_a_bound_token_cannot_name_another(self) -> None:
        """Naming another tenant with a bound token is a 403 saying whose the token is."""
        with pytest.raises(TenantRefused) as refused:
            resolve_tenant(token("acme"), "globex")
        assert (
            refused.value.status == 403 and "bound to the tenant 'acme', not 'globex'" in refused.value.reason
        )

    def test_an_unbound_token_or_none_chooses_or_sees_all(self) -> None:
        """Without a bound token the header chooses; without a header it is the operator's view."""
        assert resolve_tenant(token(None), "globex") == "globex"
        assert resolve_tenant(None, "globex") == "globex"
        assert resolve_tenant(token(None), None) is None and resolve_tenant(None, None) is None

    @pytest.mark.parametrize(
        ("headers", "expected"),
        [
            ({}, None),
            ({"x-loglens-tenant": "acme"}, "acme"),
            ({"x-scope-orgid": "team-1.eu_west"}, "team-1.eu_west"),
            ({"x-loglens-tenant": "acme", "x-scope-orgid": "acme"}, "acme"),
        ],
    )
    def test_headers(self, headers: dict[str, str], expected: str | None) -> None:
        """X-Loglens-Tenant, or Loki's X-Scope-OrgID as an alias."""
        assert requested_tenant(headers) == expected

    @pytest.mark.parametrize(
        ("headers", "said"),
        [
            ({"x-loglens-tenant": "Acme"}, "is not a tenant name"),
            ({"x-loglens-tenant": ""}, "is not a tenant name"),
            ({"x-scope-orgid": "a|b"}, "is not a tenant name"),
            ({"x-scope-orgid": "-acme"}, "is not a tenant name"),
            ({"x-scope-orgid": "a" * 64}, "is not a tenant name"),
            ({"x-loglens-tenant": "acme", "x-scope-orgid": "globex"}, "name different tenants"),
        ],
    )
    def test_bad_headers_are_400(self, headers: dict[str, str], said: str) -> None:
        """Names outside [a-z0-9][a-z0-9_.-]{0,62}, or two headers that disagree, are a 400."""
        with pytest.raises(TenantRefused) as refused:
            requested_tenant(headers)
        assert refused.value.status == 400 and said in refused.value.reason

    def test_config(self) -> None:
        """`tenant` of a token, a [[sources]] entry and [journald] is read and checked."""
        tokens = parse_tokens(
            [{"name": "a", "token": "a-literal-secret-1234", "scopes": ["read"], "tenant": "acme"}], "t.toml"
        )
        assert tokens[0].tenant == "acme"
        config = parse_config(
            {"sources": [{"path": "/x/*.log", "tenant": "acme"}], "journald": {"tenant": "ops"}}
        )
        assert config.sources[0].tenant == "acme" and config.journald is not None
        assert config.journald.tenant == "ops"
        for bad in (
            {"server": {"tokens": [{"name": "a", "token": "a-literal-secret-1234", "scopes": ["read"],
                                    "tenant": "Not Valid"}]}},
            {"sources": [{"path": "/x", "tenant": ""}]},
            {"journald": {"tenant": 7}},
        ):  # fmt: skip
            with pytest.raises(ConfigError, match="tenant must be a name of a-z"):
                parse_config(bad)

    def test_a_tenants_live_subscriber_gets_its_records_and_no_events(self) -> None:
        """Offered a batch of two tenants' records, a tenant's subscriber keeps its own (and misses
        nothing of another's flood), and no detector event; the operator's gets everything."""

        def record(tenant: str) -> Record:
            return Record(
                ts=0, observed_ts=0, service="s", source="t", message=tenant, raw=tenant, tenant=tenant
            )

        async def offered() -> tuple[Any, Any]:
            loop = asyncio.get_running_loop()
            acme, operator = Subscriber(loop, 2, "acme"), Subscriber(loop, 10)
            for subscriber in (acme, operator):
                subscriber.offer([record("globex")] * 5 + [record("acme")])
                subscriber.offer_event({"type": "anomaly"})
            return acme.take(), operator.take()

        (records, events, missed), (all_records, all_events, _) = asyncio.run(offered())
        assert [r.tenant for r in records] == ["acme"] and events == [] and missed == 0
        assert len(all_records) == 6 and all_events == [{"type": "anomaly"}]


# -- a real daemon --------------------------------------------------------------------------------


def config_text(folder: Path) -> str:
    return f"""
[[server.tokens]]
name = "operator"
token = "{OPERATOR_TOKEN}"
scopes = ["admin"]

[[server.tokens]]
name = "acme-app"
token = "{ACME_TOKEN}"
scopes = ["ingest", "read"]
tenant = "acme"

[[sources]]
path = "{folder / "files"}/*.log"
service = "filesvc"
tenant = "acme"

[[metrics]]
name = "lines"
window = "10m"
"""


def acme_lines() -> list[dict[str, Any]]:
    """An hour of acme on the same services as globex (web, db), steady, with markers; one
    message shape is globex's too (`user N logged in`)."""
    out: list[dict[str, Any]] = []
    for minute in range(60):
        base = START + minute * MINUTE
        for i in range(10):
            ts = to_iso_ms(base + i * 5 * 10**9)
            out.append(
                {"time": ts, "service": "web", "level": "info", "message": f"acme cart {i} checked out"}
            )
            out.append(
                {"time": ts, "service": "db", "level": "info", "message": f"acme ledger row {i} written"}
            )
        for i in range(3):
            out.append({"time": to_iso_ms(base + i * 10**9), "service": "web", "level": "info",
                        "message": f"user {minute * 3 + i} logged in"})  # fmt: skip
    for i in range(5):
        out.append({"time": to_iso_ms(START + (45 + i) * MINUTE), "service": "web", "level": "warning",
                    "message": f"ACMEMARK order audit {i}", "acme_only_field": i,
                    **({"request_id": "req-shared-1"} if i == 0 else {})})  # fmt: skip
    return out


def globex_lines() -> list[dict[str, Any]]:
    """The incident scenario (db deadlocks at minute 40, web fails after it), with markers."""
    out: list[dict[str, Any]] = [
        {"time": to_iso_ms(ts), "service": service, "level": level, "message": message}
        for ts, service, level, message in scenario.lines()
    ]
    for i in range(5):
        out.append({"time": to_iso_ms(START + (45 + i) * MINUTE + 10**9), "service": "web",
                    "level": "warning", "message": f"GLOBEXMARK invoice audit {i}", "globex_only_field": i,
                    **({"request_id": "req-shared-1"} if i == 0 else {})})  # fmt: skip
    return out


def ndjson(lines: list[dict[str, Any]]) -> str:
    return "\n".join(json.dumps(line) for line in lines)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    folder = tmp_path_factory.mktemp("tenancy")
    (folder / "files").mkdir()
    (folder / "files" / "app.log").write_text(
        "".join(f"{to_iso_ms(START + i * MINUTE)} INFO ACMEFILE nightly export {i} done\n" for i in range(3))
    )
    daemon = Up(folder, config_text(folder))
    try:
        client = daemon.client
        assert (
            client.post("/ingest", content=ndjson(acme_lines()), headers={**ACME, **NDJSON}).status_code
            == 200
        )
        assert (
            client.post("/ingest", content=ndjson(globex_lines()), headers={**GLOBEX, **NDJSON}).status_code
            == 200
        )
        loki = {"streams": [{"stream": {"service_name": "web"},
                             "values": [[str(START + 50 * MINUTE + i * 10**9), f"GLOBEXLOKI pushed {i}"]
                                        for i in range(4)]}]}  # fmt: skip
        pushed = client.post("/loki/api/v1/push", json=loki, headers={**OPERATOR, "X-Scope-OrgID": "globex"})
        assert pushed.status_code == 204, pushed.text
        own = json.dumps(
            {"time": to_iso_ms(START + 30 * MINUTE), "service": "web", "message": "OPERATORMARK"}
        )
        assert client.post("/ingest", content=own, headers={**OPERATOR, **NDJSON}).status_code == 200
        deadline = time.monotonic() + 30
        while count(daemon, ACME, "ACMEFILE") < 3:  # the followed file
            assert time.monotonic() < deadline, "the followed file was not stored"
            time.sleep(0.1)
        yield daemon
    finally:
        daemon.stop()


def get(up: Up, headers: dict[str, str], path: str, **params: Any) -> Any:
    answer = up.client.get(path, params=params, headers=headers)
    assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text[:300]}"
    return answer.json() if answer.headers.get("content-type") == "application/json" else answer.text


def count(up: Up, headers: dict[str, str], query: str = "") -> int:
    found: int = get(up, headers, "/api/logs", q=query, limit=0)["count"]
    return found


def owned(up: Up) -> dict[str, int]:
    """Records per owner, as the operator's view sees them now ('' the operator's own)."""
    tally: dict[str, int] = {}
    for record in get(up, OPERATOR, "/api/logs", limit=0)["records"]:
        tally[record.get("tenant", "")] = tally.get(record.get("tenant", ""), 0) + 1
    return tally


def clean(answer: object, where: str) -> str:
    """`answer` as text, checked to hold nothing of another owner's (FOREIGN)."""
    text = (answer if isinstance(answer, str) else json.dumps(answer)).lower()
    leaked = [word for word in FOREIGN if word in text]
    assert not leaked, f"{where} showed acme {leaked}"
    return text


def globex_incident(up: Up) -> dict[str, Any]:
    found = [i for i in get(up, GLOBEX, "/api/incidents") if "db" in i["services"]]
    assert found, "globex's scenario should hold its db incident"
    return found[0]


class TestIsolation:
    def test_each_owner_stored_what_it_pushed(self, up: Up) -> None:
        """The operator's view holds all three owners; each push landed with its request's tenant."""
        tally = owned(up)
        assert tally["acme"] == len(acme_lines()) + 3
        assert tally["globex"] == len(globex_lines()) + 4 and tally[""] == 1
        for marker in ("ACMEMARK", "ACMEFILE", "GLOBEXMARK", "GLOBEXLOKI", "OPERATORMARK"):
            assert count(up, OPERATOR, marker) > 0, marker
        assert count(up, GLOBEX, "GLOBEXLOKI") == 4 and count(up, GLOBEX, "ACMEMARK OR ACMEFILE") == 0

    def test_logs_stats_patterns_services_fields_health(self, up: Up) -> None:
        """The plain reads: acme's records, all of them, and none of another's."""
        mine = owned(up)["acme"]
        logs = get(up, ACME, "/api/logs", limit=0)
        assert logs["count"] == mine and "acmemark" in clean(logs, "/api/logs")
        assert count(up, ACME, "GLOBEXMARK OR GLOBEXLOKI OR OPERATORMARK OR deadlock") == 0
        by_template = get(up, ACME, "/api/stats", by="template", bucket="1h")
        keys = {key for bucket in by_template["buckets"] for key in bucket["counts"]}
        assert keys and all(key.startswith("acme/") for key in keys), keys
        by_service = get(up, ACME, "/api/stats", by="service", bucket="1d")
        assert sum(n for b in by_service["buckets"] for n in b["counts"].values()) == mine
        patterns = get(up, ACME, "/api/patterns", top=1000)
        assert patterns and all(p["template_id"].startswith("acme/") for p in patterns)
        assert "acme cart <*> checked out" in clean(patterns, "/api/patterns")
        services = get(up, ACME, "/api/services")["services"]
        assert sum(s["records"] for s in services) == mine
        assert {s["service"] for s in services} == {"web", "db", "filesvc"}
        fields = [f["name"] for f in get(up, ACME, "/api/fields", sample=50_000)["fields"]]
        assert "acme_only_field" in fields and "globex_only_field" not in fields
        health = get(up, ACME, "/api/health")
        assert health["tenant"] == "acme" and health["records"] == mine and "store" not in health

    def test_a_shared_message_shape_is_mined_per_tenant(self, up: Up) -> None:
        """`user N logged in` is a template of each tenant's web, with ids of its own."""

        def ids(headers: dict[str, str]) -> set[str]:
            found = get(up, headers, "/api/logs", q='"logged in"', service="web", limit=0)["records"]
            assert found
            return {r["tpl"] for r in found}

        acme, globex = ids(ACME), ids(GLOBEX)
        assert all(i.startswith("acme/web-") for i in acme) and all(
            i.startswith("globex/web-") for i in globex
        )

    def test_findings_come_from_the_tenants_records(self, up: Up) -> None:
        """globex's db incident is globex's and the operator's; acme's anomalies, incidents, summary
        and diff hold nothing of it, and its id is no incident of acme's."""
        incident = globex_incident(up)
        assert incident["id"] in {i["id"] for i in get(up, OPERATOR, "/api/incidents")}
        assert "deadlock" in json.dumps(get(up, GLOBEX, f"/api/incidents/{incident['id']}/explain")).lower()
        clean(get(up, ACME, "/api/incidents"), "/api/incidents")
        anomalies = get(up, ACME, "/api/anomalies", min_severity="info")
        clean(anomalies, "/api/anomalies")
        assert all((a.get("template_id") or "acme/").startswith("acme/") for a in anomalies)
        for path in (f"/api/incidents/{incident['id']}", f"/api/incidents/{incident['id']}/explain"):
            assert up.client.get(path, headers=ACME).status_code == 404, path
        summary = get(up, ACME, "/api/summary")
        assert sum(s["total"] for s in summary) == owned(up)["acme"]
        clean(summary, "/api/summary")
        diff = get(up, ACME, "/api/diff", a=f"..{SPLIT}", b=f"{SPLIT}..")
        assert "acmemark" in clean(diff, "/api/diff")  # new in B: acme's audit lines, not the deadlock
        series = get(up, ACME, "/api/metrics/series")
        assert sum(p["value"] for s in series for p in s["points"]) == owned(up)["acme"]

    def test_records_context_trace(self, up: Up) -> None:
        """Another's record is no record (404); neighbours, context and a trace id both tenants use
        are acme's alone."""
        theirs = get(up, GLOBEX, "/api/logs", q="GLOBEXMARK", limit=1)["records"][0]
        assert up.client.get(f"/api/records/{theirs['id']}", headers=ACME).status_code == 404
        assert get(up, GLOBEX, f"/api/records/{theirs['id']}")["record"]["id"] == theirs["id"]
        mine = get(up, ACME, "/api/logs", q="ACMEMARK", limit=1)["records"][0]
        around = get(up, ACME, f"/api/records/{mine['id']}", before=200, after=200)
        assert len(around["before"]) == 200 and "acme" in clean(around, "/api/records")
        context = get(up, ACME, "/api/context", ts=theirs["ts"], service="web", before=200, after=200)
        assert context["before"] and "acme" in clean(context, "/api/context")
        trace = get(up, ACME, "/api/trace/req-shared-1")
        assert trace["count"] == 1 and "acmemark" in clean(trace, "/api/trace")
        assert get(up, OPERATOR, "/api/trace/req-shared-1")["count"] == 2

    def test_exports(self, up: Up) -> None:
        """JSON lines, CSV and the HTML report of acme hold acme's records only."""
        lines = get(up, ACME, "/api/export", format="json", limit=1_000_000).splitlines()
        assert len(lines) == owned(up)["acme"]
        clean("\n".join(lines), "/api/export json")
        assert "acmemark" in clean(get(up, ACME, "/api/export", format="csv", limit=1_000_000), "csv")
        assert "acme cart" in clean(get(up, ACME, "/api/export", format="html"), "/api/export html")

    def test_ask_and_semantic_search(self, up: Up) -> None:
        """A question and a search by meaning read acme's records and templates only."""
        question = "which errors did db log?"
        assert "deadlock" in json.dumps(get(up, GLOBEX, "/api/ask", q=question)["records"]).lower()
        answer = get(up, ACME, "/api/ask", q=question)
        clean({key: answer[key] for key in ("records", "patterns", "incidents", "answer")}, "/api/ask")
        semantic = up.client.get(
            "/api/search/semantic", params={"q": "database deadlock", "k": 50}, headers=ACME
        )
        if semantic.status_code == 501:
            pytest.skip("the semantic extra is not installed")
        hits = semantic.json()["hits"]
        assert hits and all(h["template_id"].startswith("acme/") for h in hits)
        clean(semantic.json(), "/api/search/semantic")
        theirs = get(up, GLOBEX, "/api/search/semantic", q="database deadlock", k=3)["hits"]
        assert theirs[0]["template"].startswith("deadlock detected")

    def test_learned_signatures_stay_with_their_tenant(self, up: Up) -> None:
        """A signature globex learns from its incident is globex's: acme and the operator do not list
        it, and acme cannot forget it."""
        incident = globex_incident(up)
        learned = up.client.post(
            "/api/kb/signatures", json={"incident_id": incident["id"], "fix": "restart the database"},
            headers=GLOBEX,
        )  # fmt: skip
        assert learned.status_code == 201, learned.text
        signature = learned.json()["id"]
        assert signature in {s["id"] for s in get(up, GLOBEX, "/api/kb/signatures")}
        for who in (ACME, OPERATOR):
            assert all(s["source"] == "builtin" for s in get(up, who, "/api/kb/signatures"))
        assert up.client.delete(f"/api/kb/signatures/{signature}", headers=ACME).status_code == 404
        learned_by_acme = up.client.post(
            "/api/kb/signatures", json={"incident_id": incident["id"], "fix": "x"}, headers=ACME
        )
        assert learned_by_acme.status_code == 404  # globex's incident is none of acme's

    def test_live_websocket_and_sse(self, up: Up) -> None:
        """acme's live channel (WebSocket and SSE) sends acme's pushed line and never globex's or the
        operator's, pushed just before it."""
        from websockets.sync.client import connect

        ws_url = up.url.replace("http://", "ws://") + f"/api/live?token={ACME_TOKEN}&heartbeat=0.5"
        with (
            connect(ws_url) as socket,
            httpx.Client(base_url=up.url, timeout=30) as reader,
            reader.stream("GET", "/api/live/sse", params={"heartbeat": "0.5"}, headers=ACME) as sse,
        ):
            assert json.loads(socket.recv(timeout=10)) == {"type": "connected"}
            events = sse.iter_lines()
            assert next(events) == ": connected"
            for headers, text in (
                (GLOBEX, "GLOBEXLIVE one"),
                (OPERATOR, "OPERATORMARK live"),
                (ACME, "ACMELIVE one"),
            ):
                body = json.dumps({"service": "livesvc", "message": text})
                assert (
                    up.client.post("/ingest", content=body, headers={**headers, **NDJSON}).status_code == 200
                )
            seen: list[dict[str, Any]] = []
            while not any(m.get("record", {}).get("msg") == "ACMELIVE one" for m in seen):
                seen.append(json.loads(socket.recv(timeout=10)))
            sse_seen = []
            for line in events:
                sse_seen.append(line)
                if "ACMELIVE one" in line:
                    break
        assert [m["record"]["msg"] for m in seen if m["type"] == "record"] == ["ACMELIVE one"]
        clean(seen, "/api/live")
        clean(sse_seen, "/api/live/sse")

    def test_every_get_route_of_the_api_as_acme(self, up: Up) -> None:
        """Every GET route the OpenAPI description lists, asked as acme (path parameters naming
        globex's things, required ones filled in): refused, or answered with nothing of another's."""
        theirs = get(up, GLOBEX, "/api/logs", q="GLOBEXMARK", limit=1)["records"][0]
        values = {"record_id": theirs["id"], "incident_id": globex_incident(up)["id"],
                  "trace_id": "req-shared-1", "alert_id": "1", "ts": theirs["ts"], "service": "web",
                  "q": "db errors"}  # fmt: skip
        answered = []
        for path, operations in get(up, OPERATOR, "/openapi.json")["paths"].items():
            if "get" not in operations or path in ("/", "/api/live/sse"):  # the stream: its own test
                continue
            params = {p["name"]: values[p["name"]] for p in operations["get"].get("parameters", [])
                      if p["in"] == "query" and p.get("required")}  # fmt: skip
            if path == "/api/diff":
                params |= {"a": f"..{SPLIT}", "b": f"{SPLIT}.."}
            url = path.format(**values)
            answer = up.client.get(url, params=params, headers=ACME)
            if answer.status_code == 200 and path == "/api/kb/signatures":  # the library speaks of deadlocks
                assert {s["source"] for s in answer.json()} == {"builtin"}
                answered.append(path)
            elif answer.status_code == 200:
                clean(answer.text, url)
                answered.append(path)
            else:
                assert answer.status_code in (403, 404, 501), (
                    f"{url}: {answer.status_code} {answer.text[:200]}"
                )
        assert len(answered) >= 17 and {"/api/logs", "/api/incidents", "/api/export"} <= set(answered), (
            answered
        )

    def test_mcp_and_log_access_pass_the_tenant_on(self, up: Up) -> None:
        """An agent on /mcp sending X-Scope-OrgID reads that tenant's logs; so does `LogAccess` (the
        MCP server's and the terminal dashboard's way to the API) given a tenant."""
        config = load_config(str(up.folder / "loglens.toml"))
        acme, globex = LogAccess(up.store, config, "acme"), LogAccess(up.store, config, "globex")
        assert acme.get("/api/logs", {"q": "GLOBEXMARK", "limit": 0})["count"] == 0
        assert globex.get("/api/logs", {"q": "GLOBEXMARK", "limit": 0})["count"] == 5
        with pytest.raises(LoglensError, match="raw SQL would see every tenant's records"):
            acme.post("/api/sql", body={"sql": "SELECT 1"})

        @asynccontextmanager
        async def session(headers: dict[str, str]) -> AsyncIterator[ClientSession]:
            async with (
                httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120)) as http,
                streamable_http_client(up.url + "/mcp", http_client=http) as (read, write),
                ClientSession(read, write) as client,
            ):
                await client.initialize()
                yield client

        def text(headers: dict[str, str], query: str) -> str:
            with (
                start_blocking_portal() as portal,
                portal.wrap_async_context_manager(session(headers)) as client,
            ):
                result = portal.call(client.call_tool, "logstream_query", {"query": query, **RANGE})
                return str(result.content[0].text)  # type: ignore[union-attr]

        as_acme = {**OPERATOR, "X-Scope-OrgID": "acme"}
        assert "ACMEMARK order audit" in text(as_acme, "ACMEMARK")
        assert "GLOBEXMARK" not in text(as_acme, "GLOBEXMARK OR ACMEMARK")
        refused = up.client.post("/mcp", headers={**ACME, "X-Scope-OrgID": "globex"}, json={})
        assert refused.status_code == 403 and "bound to the tenant 'acme'" in refused.text

    def test_the_audit_log_names_the_tenant(self, up: Up) -> None:
        """Each audit line says which tenant the request acted as (null: the operator's view)."""
        for headers, word in ((ACME, "audit-acme"), (GLOBEX, "audit-globex"), (OPERATOR, "audit-all")):
            get(up, headers, "/api/logs", q=word, limit=1)
        deadline = time.monotonic() + 10
        while True:
            lines = [json.loads(line) for line in (up.folder / "audit.jsonl").read_text().splitlines()]
            found = {word: line for line in lines for word in ("audit-acme", "audit-globex", "audit-all")
                     if word in line["query"]}  # fmt: skip
            if len(found) == 3 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert (found["audit-acme"]["who"], found["audit-acme"]["tenant"]) == ("acme-app", "acme")
        assert (found["audit-globex"]["who"], found["audit-globex"]["tenant"]) == ("operator", "globex")
        assert found["audit-all"]["tenant"] is None


class TestRefusals:
    @pytest.mark.parametrize(
        "path",
        [
            "/api/alerts",
            "/api/alerts/rules",
            "/api/alerts/silences",
            "/metrics",
            "/api/host",
            "/api/annotations",
        ],
    )
    def test_what_spans_every_tenant_is_the_operators(self, up: Up, path: str) -> None:
        """Alerts, Prometheus figures, host metrics and shared notes: 403 for a tenant, 200 for the
        operator."""
        refused = up.client.get(path, headers=ACME)
        assert refused.status_code == 403 and "tenant" in refused.text
        assert up.client.get(path, headers=GLOBEX).status_code == 403
        assert up.client.get(path, headers=OPERATOR).status_code == 200

    def test_sql_is_refused_to_a_tenant(self, up: Up) -> None:
        """Raw SQL would see every tenant: 403 saying so; the operator may."""
        for headers in (ACME, GLOBEX):
            refused = up.client.post(
                "/api/sql", json={"sql": "SELECT count(*) FROM records"}, headers=headers
            )
            assert refused.status_code == 403
            assert refused.json()["error"].startswith("raw SQL would see every tenant's records")
        assert up.client.post("/api/sql", json={"sql": "SELECT 1"}, headers=OPERATOR).status_code == 200

    def test_a_bound_token_naming_another_tenant(self, up: Up) -> None:
        """acme's token with globex in either header: 403 for reads and pushes alike; naming acme
        itself is fine."""
        for header in ("X-Loglens-Tenant", "X-Scope-OrgID"):
            refused = up.client.get("/api/logs", headers={**ACME, header: "globex"})
            assert refused.status_code == 403 and "bound to the tenant 'acme', not 'globex'" in refused.text
            pushed = up.client.post("/ingest", content="x\n", headers={**ACME, header: "globex"})
            assert pushed.status_code == 403
        assert up.client.get("/api/logs", headers={**ACME, "X-Loglens-Tenant": "acme"}).status_code == 200

    def test_bad_tenant_names(self, up: Up) -> None:
        """A name that is not one, or two headers that disagree: 400 with the reason."""
        for headers in ({"X-Loglens-Tenant": "Not Valid"}, {"X-Scope-OrgID": "a/b"},
                        {"X-Loglens-Tenant": "acme", "X-Scope-OrgID": "globex"}):  # fmt: skip
            answer = up.client.get("/api/logs", headers={**OPERATOR, **headers})
            assert answer.status_code == 400, headers
            assert "tenant" in answer.json()["detail"]

    def test_a_websocket_of_another_tenant_is_closed(self, up: Up) -> None:
        """The live channel refuses acme's token naming globex before it opens."""
        from websockets.exceptions import InvalidStatus
        from websockets.sync.client import connect

        url = up.url.replace("http://", "ws://") + f"/api/live?token={ACME_TOKEN}"
        with pytest.raises(InvalidStatus), connect(url, additional_headers={"X-Scope-OrgID": "globex"}):
            pass

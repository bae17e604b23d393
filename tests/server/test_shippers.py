"""Stock shippers' own clients pushing to a real `loglens up`: what they send is stored and found."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator

import pytest

from test_daemon import Up


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    daemon = Up(tmp_path_factory.mktemp("shippers"))
    try:
        yield daemon
    finally:
        daemon.stop()


def found(up: Up, **params: object) -> list[dict[str, object]]:
    answer = up.client.get("/api/logs", params={"limit": 0, **params})  # type: ignore[arg-type]
    records: list[dict[str, object]] = answer.json()["records"]
    return records


class TestOpenTelemetry:
    def test_sdk_exporter(self, up: Up) -> None:
        """The OpenTelemetry SDK's OTLPLogExporter (protobuf over HTTP): records with service, level,
        attributes and trace context."""
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
        from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
        from opentelemetry.sdk.resources import Resource

        provider = LoggerProvider(resource=Resource.create({"service.name": "payments"}))
        provider.add_log_record_processor(
            SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{up.url}/v1/logs"))
        )
        logger = logging.getLogger("otel-test")
        logger.propagate = False
        handler = LoggingHandler(logger_provider=provider)
        logger.addHandler(handler)
        for i in range(12):
            logger.warning("card declined for order %d", i, extra={"order_id": i})
        provider.shutdown()
        logger.removeHandler(handler)
        records = found(up, service="payments")
        assert len(records) == 12
        assert records[0]["lvl"] == "warning" and records[0]["msg"] == "card declined for order 0"
        fields = records[0]["fields"]
        assert isinstance(fields, dict) and fields.get("order_id") == 0


class TestElasticsearch:
    def test_bulk_helper(self, up: Up) -> None:
        """The elasticsearch 9 client's bulk helper (PUT /_bulk, product header checked) succeeds."""
        from elasticsearch import Elasticsearch, helpers

        client = Elasticsearch(up.url)
        docs = [
            {
                "_index": "shop",
                "_source": {"@timestamp": "2026-11-27T10:00:00Z", "message": f"order {i} shipped",
                            "log.level": "info", "service.name": "shipping"},
            }
            for i in range(25)
        ]  # fmt: skip
        ok, errors = helpers.bulk(client, docs)
        client.close()
        assert ok == 25 and errors == []
        records = found(up, service="shipping")
        assert len(records) == 25 and records[0]["msg"] == "order 0 shipped"


class TestOthers:
    def test_loki_json_hec_datadog_ndjson(self, up: Up) -> None:
        """Loki JSON push (204), Splunk HEC events and raw, Datadog intake (gzip, 202) and NDJSON
        with a field mapping are each stored as their senders meant."""
        client = up.client
        loki = {"streams": [{"stream": {"service_name": "lokiapp", "level": "error"},
                             "values": [["1795766400000000000", "upstream timed out"]] * 3}]}  # fmt: skip
        assert client.post("/loki/api/v1/push", json=loki).status_code == 204
        hec = "".join(
            json.dumps({"event": f"hec {i}", "sourcetype": "app", "fields": {"service": "hecapp"}})
            for i in range(4)
        )
        answer = client.post("/services/collector/event", content=hec)
        assert answer.status_code == 200 and answer.json()["code"] == 0
        datadog = [
            {"message": f"dd {i}", "service": "ddapp", "status": "warn", "ddtags": "env:prod"}
            for i in range(5)
        ]
        zipped = gzip.compress(json.dumps(datadog).encode())
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        answer = client.post("/api/v2/logs", content=zipped, headers=headers)
        assert answer.status_code == 202
        ndjson = "".join(
            json.dumps({"text": f"mapped {i}", "app": "ndapp", "when": 1795766400 + i}) + "\n"
            for i in range(6)
        )
        answer = client.post(
            "/ingest", params={"msg_field": "text", "service_field": "app", "time_field": "when"},
            content=ndjson, headers={"Content-Type": "application/x-ndjson"},
        )  # fmt: skip
        assert answer.status_code == 200 and answer.json()["accepted"] == 6
        assert [r["lvl"] for r in found(up, service="lokiapp")] == ["error"] * 3
        assert len(found(up, service="hecapp")) == 4
        dd = found(up, service="ddapp")
        assert len(dd) == 5 and dd[0]["lvl"] == "warning"
        mapped = found(up, service="ndapp")
        assert [r["msg"] for r in mapped] == [f"mapped {i}" for i in range(6)]
        assert mapped[1]["ts"] == "2026-11-27T08:00:01.000Z"

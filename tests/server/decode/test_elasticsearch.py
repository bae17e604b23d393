"""Tests for the Elasticsearch `_bulk` decoder and the response the elasticsearch clients accept."""

from __future__ import annotations

import pytest

from loglens.record import Level
from loglens.server.decode.base import PayloadError, PayloadTooLarge
from loglens.server.decode.elasticsearch import BulkDecoded, BulkItem, bulk_response, decode_es_bulk

RECEIVED = 1_795_305_600_000_000_000
STAMP_NS = 1_795_219_237_165_000_000  # 2026-11-21T00:00:37.165Z

# Captured from elasticsearch 9.5.1's `helpers.bulk` (PUT /_bulk, after its gzip is undone): the actions
# carry `_index` (and `_id` when the document had one), one compact JSON line each.
CLIENT_BODY = (
    b'{"index":{"_index":"app-logs"}}\n'
    b'{"@timestamp":"2026-11-21T00:00:37.165Z","message":"hello","log.level":"warn"}\n'
    b'{"index":{"_id":"x1","_index":"app-logs"}}\n'
    b'{"message":"second","service":{"name":"checkout"}}\n'
)

ECS_DOC = (
    b'{"@timestamp":"2026-11-21T00:00:37.165Z","message":"card declined","log":{"level":"error"},'
    b'"service":{"name":"payments"},"host":{"name":"web-3"},"trace":{"id":"4bf92f35"},'
    b'"span":{"id":"00f067aa"},"process":{"pid":77},"http":{"status":402}}'
)


class TestDecodeEsBulk:
    def test_client_body(self) -> None:
        """Both documents of a client's bulk are taken, with index, ECS level and service mapped."""
        decoded = decode_es_bulk(CLIENT_BODY, RECEIVED)
        first, second = decoded.records
        assert decoded.errors == []
        assert (first.ts, first.service, first.source, first.level) == (
            STAMP_NS,
            "app-logs",
            "es:app-logs",
            Level.WARNING,
        )
        assert first.fields == {"index": "app-logs"}
        assert (second.ts, second.service, second.message) == (RECEIVED, "checkout", "second")
        assert second.fields == {"index": "app-logs", "_id": "x1"}
        assert [(i.action, i.index, i.error_type) for i in decoded.items] == [
            ("index", "app-logs", None),
            ("index", "app-logs", None),
        ]
        assert decoded.items[1].doc_id == "x1"

    def test_ecs_document_nested(self) -> None:
        """Nested ECS keys fill time, level, service, host, pid and trace ids; the rest stays fields."""
        body = b'{"create":{"_index":"logs-app-default"}}\n' + ECS_DOC + b"\n"
        (record,) = decode_es_bulk(body, RECEIVED).records
        assert record.ts == STAMP_NS
        assert (record.message, record.raw) == ("card declined", ECS_DOC.decode())
        assert (record.level, record.service, record.host, record.pid) == (
            Level.ERROR,
            "payments",
            "web-3",
            77,
        )
        assert (record.trace_id, record.span_id) == ("4bf92f35", "00f067aa")
        assert record.fields == {"http": {"status": 402}, "index": "logs-app-default"}

    def test_index_from_the_url(self) -> None:
        """Without `_index` in the action, the URL's index is used; the action's wins when given."""
        body = b'{"index":{}}\n{"message":"a"}\n{"index":{"_index":"own"}}\n{"message":"b"}\n'
        decoded = decode_es_bulk(body, RECEIVED, "from-url")
        assert [(r.source, r.service, r.fields) for r in decoded.records] == [
            ("es:from-url", "from-url", {"index": "from-url"}),
            ("es:own", "own", {"index": "own"}),
        ]
        assert [i.index for i in decoded.items] == ["from-url", "own"]

    def test_update_and_delete_are_item_errors_that_consume_their_lines(self) -> None:
        """delete (no document line) and update (one) fail as items without desynchronising the rest."""
        body = (
            b'{"delete":{"_index":"a","_id":"1"}}\n'
            b'{"update":{"_index":"a","_id":"2"}}\n'
            b'{"doc":{"message":"not a log"}}\n'
            b'{"index":{"_index":"a"}}\n'
            b'{"message":"after"}\n'
        )
        decoded = decode_es_bulk(body, RECEIVED)
        assert [r.message for r in decoded.records] == ["after"]
        assert decoded.errors == [
            "item 1 (line 1): delete is not supported: loglens stores logs append-only",
            "item 2 (line 2): update is not supported: loglens stores logs append-only",
        ]
        assert [(i.action, i.doc_id, i.error_type) for i in decoded.items] == [
            ("delete", "1", "illegal_argument_exception"),
            ("update", "2", "illegal_argument_exception"),
            ("index", f"{RECEIVED:x}-2", None),
        ]

    def test_bad_documents_are_item_errors_kept_raw(self) -> None:
        """A document that is not JSON, not an object, or has no index is stored raw as an item error."""
        body = (
            b'{"index":{"_index":"a","_id":"7"}}\n'
            b"not json\n"
            b'{"index":{"_index":"a"}}\n'
            b"[1]\n"
            b'{"index":{}}\n'
            b'{"message":"nowhere"}\n'
            b'{"index":{"_index":"a"}}\n'
            b'{"message":"good"}\n'
        )
        decoded = decode_es_bulk(body, RECEIVED)
        assert [r.message for r in decoded.records] == ["not json", "[1]", '{"message":"nowhere"}', "good"]
        assert decoded.errors == [
            "item 1 (line 1): the document is not JSON (invalid literal, expected 'null')",
            "item 2 (line 3): the document is not a JSON object",
            "item 3 (line 5): index is missing (name it in the action or the URL)",
        ]
        first, second, third, good = decoded.records
        assert first.parse_error == "es: the document is not JSON (invalid literal, expected 'null')"
        assert (first.fields, first.source, first.ts) == ({"index": "a", "_id": "7"}, "es:a", RECEIVED)
        assert second.parse_error == "es: the document is not a JSON object"
        assert (third.source, third.service, third.fields) == ("es", "elasticsearch", None)
        assert good.parse_error is None
        assert [i.error_type for i in decoded.items] == [
            "document_parsing_exception",
            "document_parsing_exception",
            "action_request_validation_exception",
            None,
        ]

    def test_missing_document_line(self) -> None:
        """An index action at the end of the body with no document is an item error, not a record."""
        decoded = decode_es_bulk(b'{"index":{"_index":"a"}}\n', RECEIVED)
        assert decoded.records == []
        assert decoded.errors == ["item 1 (line 1): index has no document line after it"]

    @pytest.mark.parametrize(
        ("line", "message"),
        [
            (b"nope", r"^line 1: malformed action/metadata line, not JSON \("),
            (b'{"index":{},"create":{}}', r"^line 1: malformed action/metadata line, expected"),
            (
                b'{"upsert":{}}',
                r"^line 1: unknown action 'upsert' \(expected index, create, update or delete\)",
            ),
            (b'{"index":"x"}', r"^line 1: the metadata of 'index' is not an object"),
        ],
    )
    def test_malformed_action_lines_reject_the_request(self, line: bytes, message: str) -> None:
        """An action line that cannot be read fails the whole body, as Elasticsearch does."""
        with pytest.raises(PayloadError, match=message):
            decode_es_bulk(line + b'\n{"message":"x"}\n', RECEIVED)

    def test_max_records(self) -> None:
        """Actions beyond max_records raise PayloadTooLarge."""
        body = b'{"index":{"_index":"a"}}\n{"message":"x"}\n' * 3
        assert len(decode_es_bulk(body, RECEIVED, max_records=3).records) == 3
        with pytest.raises(PayloadTooLarge):
            decode_es_bulk(body, RECEIVED, max_records=2)


class TestBulkResponse:
    def test_success_items(self) -> None:
        """Taken documents answer 201 `created` with index, id and shard info, in action order."""
        decoded = decode_es_bulk(CLIENT_BODY, RECEIVED)
        response = bulk_response(decoded, 5)
        assert response["took"] == 5
        assert response["errors"] is False
        first, second = response["items"]
        assert first == {
            "index": {
                "_index": "app-logs",
                "_id": f"{RECEIVED:x}-0",
                "_version": 1,
                "result": "created",
                "_shards": {"total": 1, "successful": 1, "failed": 0},
                "_seq_no": 0,
                "_primary_term": 1,
                "status": 201,
            }
        }
        assert second["index"]["_id"] == "x1"

    def test_failed_items(self) -> None:
        """Failed items answer 400 with an error object, and `errors` is true."""
        decoded = BulkDecoded(
            [],
            ["x"],
            [BulkItem("delete", "a", "1", "illegal_argument_exception", "delete is not supported")],
        )
        response = bulk_response(decoded, 0)
        assert response["errors"] is True
        assert response["items"] == [
            {
                "delete": {
                    "_index": "a",
                    "_id": "1",
                    "status": 400,
                    "error": {
                        "type": "illegal_argument_exception",
                        "reason": "delete is not supported",
                        "index": "a",
                    },
                }
            }
        ]

    def test_items_match_actions_one_to_one(self) -> None:
        """The client pairs items with actions by position: one item per action, failures included."""
        body = (
            b'{"index":{"_index":"a"}}\n{"message":"1"}\n'
            b'{"delete":{"_index":"a","_id":"9"}}\n'
            b'{"create":{"_index":"a"}}\nbroken\n'
            b'{"index":{"_index":"a"}}\n{"message":"4"}\n'
        )
        response = bulk_response(decode_es_bulk(body, RECEIVED), 1)
        statuses = [(action, item["status"]) for entry in response["items"] for action, item in entry.items()]
        assert statuses == [("index", 201), ("delete", 400), ("create", 400), ("index", 201)]

"""Tests for the Datadog logs intake decoder and its tag parser."""

from __future__ import annotations

import gzip

import orjson
import pytest

from loglens.record import Level
from loglens.server.decode.base import PayloadError, PayloadTooLarge, decompress
from loglens.server.decode.datadog import decode_datadog, parse_tags

RECEIVED = 1_795_305_600_000_000_000
MS = 1_795_305_600_123


class TestParseTags:
    def test_tags(self) -> None:
        """Tags split at the first colon; bare tags are empty; repeated keys collect a list."""
        assert parse_tags("env:prod, version:1,url:http://x:8080,canary,team:a,team:b,team:c,,") == {
            "env": "prod",
            "version": "1",
            "url": "http://x:8080",
            "canary": "",
            "team": ["a", "b", "c"],
        }


class TestDecodeDatadog:
    def test_every_field_mapped(self) -> None:
        """message, ms timestamp, status, hostname, service, ddsource and tags land where they belong."""
        log = {
            "message": "payment failed",
            "ddsource": "python",
            "ddtags": "env:prod,version:1.4",
            "hostname": "web-1",
            "service": "checkout",
            "status": "warn",
            "timestamp": MS,
            "usr": {"id": 5},
        }
        decoded = decode_datadog(orjson.dumps([log]), RECEIVED)
        (record,) = decoded.records
        assert decoded.errors == []
        assert (record.ts, record.observed_ts) == (1_795_305_600_123_000_000, RECEIVED)
        assert (record.message, record.level, record.host, record.service, record.source) == (
            "payment failed",
            Level.WARNING,
            "web-1",
            "checkout",
            "datadog",
        )
        assert record.raw == orjson.dumps(log).decode()
        assert record.fields == {"ddsource": "python", "usr": {"id": 5}, "env": "prod", "version": "1.4"}

    def test_status_beats_a_level_attribute(self) -> None:
        """Datadog's reserved `status` decides the level; a `level` attribute is kept as a field."""
        (record,) = decode_datadog(
            orjson.dumps({"message": "m", "status": "error", "level": "info"}), 1
        ).records
        assert record.level is Level.ERROR
        assert record.fields == {"level": "info"}

    def test_unknown_status_stays_a_field(self) -> None:
        """A status that names no level (`ok`) stays in fields and the words decide."""
        (record,) = decode_datadog(orjson.dumps({"message": "timed out", "status": "ok"}), 1).records
        assert (record.level, record.fields) == (Level.WARNING, {"status": "ok"})

    def test_service_tag_and_attribute_precedence(self) -> None:
        """The `service` tag names a log without a service attribute; tags never replace attributes."""
        logs = [
            {"message": "a", "ddtags": "service:from-tag,env:x"},
            {"message": "b", "service": "attr", "env": "own", "ddtags": "service:from-tag,env:x"},
        ]
        tagged, attributed = decode_datadog(orjson.dumps(logs), 1).records
        assert (tagged.service, tagged.fields) == ("from-tag", {"env": "x"})
        assert (attributed.service, attributed.fields) == ("attr", {"env": "own"})

    def test_single_object_and_defaults(self) -> None:
        """One object (not in an array) is one log; with nothing named it gets the defaults."""
        (record,) = decode_datadog(b'{"message": "hi"}', RECEIVED).records
        assert (record.ts, record.service, record.host, record.fields) == (RECEIVED, "datadog", None, None)

    def test_gzip_body(self) -> None:
        """A gzip body, as the Agent sends it, decodes after `decompress`."""
        body = decompress(gzip.compress(orjson.dumps([{"message": "zipped"}])), "gzip")
        assert [r.message for r in decode_datadog(body, RECEIVED).records] == ["zipped"]

    def test_non_objects_are_errors_kept_raw(self) -> None:
        """Array elements that are not objects are errors, kept raw in place; the rest is taken."""
        decoded = decode_datadog(orjson.dumps([{"message": "a"}, "text", 3, {"message": "b"}]), RECEIVED)
        assert [r.message for r in decoded.records] == ["a", '"text"', "3", "b"]
        assert decoded.errors == ["log 2: not an object (got string)", "log 3: not an object (got number)"]
        assert decoded.records[1].parse_error == "datadog: not an object (got string)"
        assert decoded.records[3].parse_error is None

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b"[{", r"^json: body is not JSON \("),
            (b'"a string"', r"^json: expected an array of log objects, got string$"),
        ],
    )
    def test_unreadable_body(self, body: bytes, message: str) -> None:
        """A body that is not JSON, or neither array nor object, is a payload error."""
        with pytest.raises(PayloadError, match=message):
            decode_datadog(body, RECEIVED)

    def test_max_records(self) -> None:
        """More logs than max_records raise PayloadTooLarge before any is mapped."""
        body = orjson.dumps([{"message": str(n)} for n in range(3)])
        assert len(decode_datadog(body, RECEIVED, max_records=3).records) == 3
        with pytest.raises(PayloadTooLarge):
            decode_datadog(body, RECEIVED, max_records=2)

"""Fuzzing the push endpoints of a real daemon: no request gets a 5xx, and a push answered 2xx has all
its records in the store (a refused one, none of them).

Bodies are well-shaped pushes with hostile values, mutated pushes and garbage, compressed as their
Content-Encoding says or not; the expected record count comes from the protocol's own decoder.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz.conftest import MAX_BODY_BYTES, Served
from fuzz.fuzzing import fuzz, log_text
from fuzz.payloads import (
    Push,
    datadog_bodies,
    encoded,
    es_bulk_bodies,
    hec_event_bodies,
    loki_json_bodies,
    loki_proto_bodies,
    ndjson_bodies,
    otlp_json_bodies,
    otlp_proto_bodies,
    raw_bodies,
)
from loglens.formats import format_names
from loglens.inbox import IngestJob
from loglens.json_text import MAX_DEPTH
from loglens.record import Record
from loglens.server.decode import (
    PayloadError,
    decode_datadog,
    decode_es_bulk,
    decode_hec_event,
    decode_hec_raw,
    decode_loki,
    decode_otlp,
    decompress,
)
from loglens.server.decode.base import split_lines
from loglens.server.ingest import Refused, acknowledge

SHARE = 0.2
"""Endpoint cases cost ~5 ms each: `make test` runs a fifth of a parser target's count."""
JSON_TYPES = ["application/json", "application/x-ndjson", "application/json; charset=utf-8"]
content_types = st.sampled_from(
    [None, "text/plain", "application/x-protobuf", "application/octet-stream", "*/*"]
)
names = st.one_of(
    st.sampled_from(["api", "", " ", "a/b", "..", "x" * 300]), log_text(max_pieces=3, newlines=False)
)


def headers_of(push: Push, content_type: str | None) -> dict[str, str]:
    """The request headers of a push (none for what is None)."""
    headers = {"content-encoding": push.encoding, "content-type": content_type}
    return {key: value for key, value in headers.items() if value is not None}


def plain(push: Push) -> bytes | None:
    """The body with its encoding undone as the daemon does it, or None when the daemon cannot."""
    try:
        return decompress(push.body, push.encoding, MAX_BODY_BYTES)
    except PayloadError:
        return None


def records_in(decode: Any, body: bytes | None, *args: Any, **kwargs: Any) -> int | None:
    """How many records the protocol's decoder makes of a body, or None for one it refuses."""
    if body is None:
        return None
    try:
        return len(decode(body, *args, time.time_ns(), **kwargs).records)
    except PayloadError:
        return None


def check_stored(status: int, added: int, expected: int | None, accepted: tuple[int, ...]) -> None:
    """A push answered with one of `accepted` stored exactly its records; any other answer none."""
    if status in accepted:
        assert expected is not None, f"{status} for a body its decoder refuses"
        assert added == expected
    else:
        assert added == 0, f"{status} but {added} records stored"


class TestIngest:
    @fuzz(SHARE)
    @given(
        push=encoded(raw_bodies),
        params=st.fixed_dictionaries(
            {},
            optional={
                "service": names,
                "source": names,
                "format": st.sampled_from([*format_names(), "JSON", "nope", ""]),
            },
        ),
        content_type=content_types,
    )
    def test_text_lines(
        self, served: Served, push: Push, params: dict[str, str], content_type: str | None
    ) -> None:
        """Raw text of any kind: stored, one record or more per push with a non-blank line, or refused."""
        response, added = served.request(
            "POST", "/ingest", content=push.body, params=params, headers=headers_of(push, content_type)
        )
        if response.status_code == 200:
            assert added == response.json()["accepted"]
            body = plain(push)
            assert body is not None
            assert (added > 0) == any(line.strip(b"\r") for line in body.split(b"\n"))
        else:
            assert added == 0

    @fuzz(SHARE)
    @given(
        push=encoded(ndjson_bodies),
        params=st.fixed_dictionaries(
            {},
            optional={
                "service": names,
                "msg_field": st.sampled_from(["msg", "log.text", "a.b.c", "", "."]),
                "_time_field": st.sampled_from(["ts", "@timestamp", "when"]),
                "service_field": st.sampled_from(["service", "app", "kubernetes.labels.app"]),
            },
        ),
        content_type=st.sampled_from(JSON_TYPES),
    )
    def test_json_lines(self, served: Served, push: Push, params: dict[str, str], content_type: str) -> None:
        """JSON lines: every non-blank line stored (bad ones raw), or the push refused whole."""
        response, added = served.request(
            "POST", "/ingest", content=push.body, params=params, headers=headers_of(push, content_type)
        )
        body = plain(push)
        expected = None if body is None else sum(1 for _ in split_lines(body))
        check_stored(response.status_code, added, expected, (200,))
        if response.status_code == 200:
            assert response.json()["accepted"] == added


class TestShippers:
    @fuzz(SHARE)
    @given(
        push=encoded(loki_json_bodies | loki_proto_bodies),
        content_type=st.sampled_from(["application/json", "application/x-protobuf", None, "text/plain"]),
    )
    def test_loki_push(self, served: Served, push: Push, content_type: str | None) -> None:
        """Loki pushes (JSON or snappy protobuf): 204 with every entry stored, or a 4xx storing none."""
        response, added = served.request(
            "POST", "/loki/api/v1/push", content=push.body, headers=headers_of(push, content_type)
        )
        try:
            decoded = decode_loki(
                push.body, content_type, push.encoding, time.time_ns(), max_bytes=MAX_BODY_BYTES
            )
            expected: int | None = len(decoded.records)
        except PayloadError:
            expected = None
        check_stored(response.status_code, added, expected, (204,))

    @fuzz(SHARE)
    @given(
        push=encoded(es_bulk_bodies),
        index=st.none() | names,
        method=st.sampled_from(["POST", "PUT"]),
        content_type=st.sampled_from(["application/x-ndjson", "application/json", None]),
    )
    def test_es_bulk(
        self, served: Served, push: Push, index: str | None, method: str, content_type: str | None
    ) -> None:
        """Elasticsearch bulk: 200 with each action's item and its documents stored, or a 4xx."""
        url = "/_bulk" if index is None else f"/{quote(index, safe='')}/_bulk"
        response, added = served.request(
            method, url, content=push.body, headers=headers_of(push, content_type)
        )
        if response.status_code in (404, 405):  # an index such as "a/b" routes elsewhere
            assert added == 0
            return
        expected = records_in(lambda body, now: decode_es_bulk(body, now, index), plain(push))
        check_stored(response.status_code, added, expected, (200,))
        if response.status_code == 200:
            assert response.headers["x-elastic-product"] == "Elasticsearch"
            assert isinstance(response.json()["items"], list)

    @fuzz(SHARE)
    @given(
        push=encoded(otlp_proto_bodies | otlp_json_bodies),
        content_type=st.sampled_from(["application/x-protobuf", "application/json", None]),
    )
    def test_otlp_logs(self, served: Served, push: Push, content_type: str | None) -> None:
        """OTLP/HTTP logs: 200 with every log record stored, or a 4xx storing none."""
        response, added = served.request(
            "POST", "/v1/logs", content=push.body, headers=headers_of(push, content_type)
        )
        sent_type = content_type or "application/x-protobuf"
        expected = records_in(lambda body, now: decode_otlp(body, sent_type, now), plain(push))
        check_stored(response.status_code, added, expected, (200,))

    @fuzz(SHARE)
    @given(push=encoded(hec_event_bodies))
    def test_splunk_hec_event(self, served: Served, push: Push) -> None:
        """HEC events: every envelope stored (invalid ones raw, with HEC's 400 naming the first), or none."""
        response, added = served.request(
            "POST", "/services/collector/event", content=push.body, headers=headers_of(push, None)
        )
        expected = records_in(decode_hec_event, plain(push))
        partial = response.status_code == 400 and "invalid-event-number" in response.json()
        check_stored(response.status_code if not partial else 200, added, expected, (200,))

    @fuzz(SHARE)
    @given(
        push=encoded(raw_bodies),
        params=st.dictionaries(st.sampled_from(["host", "index", "source", "sourcetype", "channel"]), names),
    )
    def test_splunk_hec_raw(self, served: Served, push: Push, params: dict[str, str]) -> None:
        """HEC raw lines: 200 with every non-blank line stored, or a 4xx storing none."""
        response, added = served.request(
            "POST",
            "/services/collector/raw",
            content=push.body,
            params=params,
            headers=headers_of(push, None),
        )
        expected = records_in(lambda body, now: decode_hec_raw(body, now, params), plain(push))
        check_stored(response.status_code, added, expected, (200,))

    @fuzz(SHARE)
    @given(push=encoded(datadog_bodies), content_type=st.sampled_from(["application/json", None]))
    def test_datadog_logs(self, served: Served, push: Push, content_type: str | None) -> None:
        """Datadog intake: 202 with every log stored, or a 4xx storing none."""
        response, added = served.request(
            "POST", "/api/v2/logs", content=push.body, headers=headers_of(push, content_type)
        )
        expected = records_in(decode_datadog, plain(push))
        check_stored(response.status_code, added, expected, (202,))


@pytest.fixture(autouse=True)
def _daemon_alive(served: Served) -> None:
    """Every case starts on a daemon whose pipeline has not failed."""
    assert served.daemon.failure is None, served.daemon.failure


class TestFoundByFuzzing:
    def test_a_splunk_event_with_a_lone_surrogate_is_stored_raw(self, served: Served) -> None:
        """It was answered 200 "Success" and never stored: now HEC's 400 names it, and it is kept raw."""
        body = b'{"event": "bad \\ud800 x"}'
        response, added = served.request("POST", "/services/collector/event", content=body)
        assert (response.status_code, response.json()["invalid-event-number"], added) == (400, 0, 1)

    def test_a_loki_time_past_2262_is_stored_at_receipt(self, served: Served) -> None:
        """It was answered 204 and never stored (the store's times are int64 ns)."""
        body = b'{"streams": [{"stream": {"app": "a"}, "values": [["99999999999999999999999999", "x"]]}]}'
        response, added = served.request(
            "POST", "/loki/api/v1/push", content=body, headers={"content-type": "application/json"}
        )
        assert (response.status_code, added) == (204, 1)

    def test_records_that_cannot_be_stored_are_never_acknowledged(self, served: Served) -> None:
        """A push whose records the store refuses is answered 500 "not stored", on every endpoint
        (the shippers' endpoints answered 2xx, as only /ingest checked)."""
        unstorable = Record(ts=2**64, observed_ts=0, service="s", source="x", message="m", raw="m")
        with pytest.raises(Refused) as refused:
            asyncio.run(acknowledge(served.daemon, IngestJob(records=[unstorable])))
        assert refused.value.status == 500
        assert refused.value.reason.startswith("not stored: ")
        response, added = served.request("POST", "/ingest", content=b"still taking pushes\n")
        assert (response.status_code, added) == (200, 1)

    def test_fields_nested_a_thousand_levels_are_stored_cut(self, served: Served) -> None:
        """orjson reads 1,024 levels; redaction walked a record's fields by recursion and failed the
        push with a 500 past ~990. Fields are now cut past MAX_DEPTH levels at ingest, as stored."""
        body = b'[{"message": "deep", "attrs": ' + b"[" * 1_000 + b"1" + b"]" * 1_000 + b"}]"
        response, added = served.request(
            "POST", "/api/v2/logs", content=body, headers={"content-type": "application/json"}
        )
        assert (response.status_code, added) == (202, 1)
        (record,) = served.daemon.store.search("message = ?", ["deep"], 1)
        depth, inner = 0, (record.fields or {})["attrs"]
        while isinstance(inner, list):
            depth, inner = depth + 1, inner[0]
        assert depth == MAX_DEPTH - 1 and "nested deeper than" in inner

    def test_a_lone_carriage_return_is_a_line_end_not_a_record(self, served: Served) -> None:
        """`\\r` alone ends a line on /ingest as in a file: a body of line ends stores nothing."""
        for body in (b"\r", b"\r\r\n", b"\n\r"):
            response, added = served.request("POST", "/ingest", content=body)
            assert response.status_code == 200 and added == 0, body
        response, added = served.request("POST", "/ingest", content=b"one\rtwo\r\n")
        assert added == 2

"""Records survive the bus: every field, odd values included; foreign messages are refused."""

from __future__ import annotations

import orjson
import pytest

from loglens.bus.codec import BusFormatError, decode_records, encode_messages, encode_records
from loglens.record import Level, Record


def _record(i: int, **extra: object) -> Record:
    return Record(
        ts=1_700_000_000_000_000_000 + i,
        observed_ts=1_700_000_000_000_000_500 + i,
        service="api",
        source="push",
        message=f"request {i} done",
        raw=f"2026-11-27 request {i} done",
        **extra,  # type: ignore[arg-type]
    )


def test_every_field_comes_back() -> None:
    record = _record(
        1,
        level=Level.ERROR,
        host="web-1",
        pid=4242,
        fields={"status": 503, "nested": {"a": [1, 2.5, None]}, "big": 2**70},
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
        span_id="00f067aa0ba902b7",
        category="http",
        parse_error=None,
        tenant="acme",
    )
    (back,) = decode_records(encode_records([record]))
    assert back.fields == {"status": 503, "nested": {"a": [1, 2.5, None]}, "big": str(2**70)}
    back.fields = record.fields
    assert back == record


def test_unparsed_and_surrogate_text_is_kept() -> None:
    record = _record(2, parse_error="no format matched", level=Level.WARNING)
    record.message = record.raw = "bad \udcff byte"
    (back,) = decode_records(encode_records([record]))
    assert back.parse_error == "no format matched"
    assert back.level is Level.WARNING
    assert back.message.startswith("bad ")


@pytest.mark.parametrize(
    "payload", [b"", b"not json", orjson.dumps([99, []]), orjson.dumps({"a": 1}), orjson.dumps([1, [[1, 2]]])]
)
def test_a_foreign_message_is_a_bus_format_error(payload: bytes) -> None:
    with pytest.raises(BusFormatError):
        decode_records(payload)


def test_batches_are_cut_under_the_message_size_and_keep_order() -> None:
    records = [_record(i) for i in range(2_000)]
    records[10].message = "é" * 5_000  # wider in UTF-8 than its length says
    payloads = list(encode_messages(records, 16 * 1024))
    assert len(payloads) > 5
    assert [r for payload in payloads for r in decode_records(payload)] == records
    assert all(len(payload) <= 16 * 1024 for payload in payloads)
    huge = _record(0)
    huge.raw = huge.message = "x" * 50_000
    assert [len(decode_records(p)) for p in encode_messages([huge, _record(1)], 16 * 1024)] == [1, 1]

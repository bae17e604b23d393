"""Records as bus messages: a JSON array of rows, one row a record, in a fixed column order.

JSON (orjson) rather than Arrow IPC: a process node needs `Record` objects (mining, detectors and
alert rules read them), a message holds a few hundred records, and orjson writes and reads them at
~1 µs a record. A version number leads the array so that nodes of different versions refuse each
other's messages instead of misreading them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

import orjson

from loglens.errors import LoglensError
from loglens.json_text import dumps_any
from loglens.record import Level, Record

__all__ = ["BusFormatError", "decode_records", "encode_messages", "encode_records"]

FORMAT_VERSION: Final = 1
_ROW_OVERHEAD: Final = 96  # brackets, commas, numbers and nulls of a row beyond its texts


class BusFormatError(LoglensError):
    """A bus message that is not a batch of records this version writes."""


def _row(record: Record) -> list[Any]:
    return [
        record.ts,
        record.observed_ts,
        record.service,
        record.source,
        record.message,
        record.raw,
        int(record.level),
        record.host,
        record.pid,
        record.fields,
        record.trace_id,
        record.span_id,
        record.category,
        record.parse_error,
        record.tenant,
    ]


def encode_records(records: Sequence[Record]) -> bytes:
    """One message's payload. Template ids are not sent: the process node that owns the service mines."""
    rows = [FORMAT_VERSION, [_row(record) for record in records]]
    try:
        return orjson.dumps(rows, default=str)
    except orjson.JSONEncodeError:  # a field orjson cannot write (see json_text)
        return dumps_any(rows)


def decode_records(payload: bytes) -> list[Record]:
    """The records of a message; raises BusFormatError for anything else."""
    try:
        version, rows = orjson.loads(payload)
        if version != FORMAT_VERSION:
            raise BusFormatError(f"bus message format {version!r}, this loglens reads {FORMAT_VERSION}")
        return [
            Record(
                ts=ts,
                observed_ts=observed,
                service=service,
                source=source,
                message=message,
                raw=raw,
                level=Level(level),
                host=host,
                pid=pid,
                fields=fields,
                trace_id=trace_id,
                span_id=span_id,
                category=category,
                parse_error=parse_error,
                tenant=tenant,
            )
            for (
                ts,
                observed,
                service,
                source,
                message,
                raw,
                level,
                host,
                pid,
                fields,
                trace_id,
                span_id,
                category,
                parse_error,
                tenant,
            ) in rows
        ]
    except BusFormatError:
        raise
    except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
        raise BusFormatError(f"not a loglens bus message: {exc}") from None


def _estimate(record: Record) -> int:
    size = len(record.raw) + len(record.message) + len(record.service) + len(record.source)
    return size + len(record.host or "") + len(record.tenant) + _ROW_OVERHEAD + (256 if record.fields else 0)


def encode_messages(records: Sequence[Record], max_bytes: int) -> Iterator[bytes]:
    """Payloads of consecutive runs of `records`, in order, each under `max_bytes` (NATS refuses a
    message over its max_payload, 1 MB by default) unless it holds one record bigger than that.

    Runs are cut by an estimate of each row's size, and a payload that still comes out too big (wide
    characters, big fields) is split in halves."""
    start, size = 0, 0
    for i, record in enumerate(records):
        cost = _estimate(record)
        if i > start and size + cost > max_bytes:
            yield from _encode_within(records[start:i], max_bytes)
            start, size = i, 0
        size += cost
    if start < len(records):
        yield from _encode_within(records[start:], max_bytes)


def _encode_within(records: Sequence[Record], max_bytes: int) -> Iterator[bytes]:
    payload = encode_records(records)
    if len(payload) <= max_bytes or len(records) == 1:
        yield payload
        return
    half = len(records) // 2
    yield from _encode_within(records[:half], max_bytes)
    yield from _encode_within(records[half:], max_bytes)

"""Tests for loglens.server.decoders: big bodies decoded in a worker process, the same as in place."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import orjson
import pytest

from loglens.record import Level
from loglens.server.decode import FieldMapping, PayloadError, PayloadTooLarge, decode_ndjson
from loglens.server.decoders import DecodePool

RECEIVED = 1_763_683_200_000_000_000


def body_of(lines: int) -> bytes:
    """NDJSON events with nested fields, one of them not JSON (a per-line error, not a failure)."""
    events = [
        orjson.dumps(
            {
                "time": f"2026-11-21T00:00:{i % 60:02d}.{i % 1000:03d}Z",
                "service": f"svc{i % 3}",
                "level": "error" if i % 7 == 0 else "info",
                "message": f"request {i} took {i % 97} ms",
                "http": {"status": 200 + i % 5, "path": f"/items/{i}"},
            }
        )
        for i in range(lines)
    ]
    events[lines // 2] = b"{not json"
    return b"\n".join(events) + b"\n"


@pytest.fixture
def pool() -> Iterator[DecodePool]:
    decoders = DecodePool(1, min_bytes=10_000)
    yield decoders
    decoders.close()


class TestDecodePool:
    def test_big_body_decoded_in_a_worker_as_in_place(self, pool: DecodePool) -> None:
        body = body_of(500)
        mapping = FieldMapping(default_service="shop")
        pooled = asyncio.run(pool.run(decode_ndjson, body, mapping, RECEIVED))
        assert pool.pooled == 1 and pool.in_place == 0
        here = decode_ndjson(body, mapping, RECEIVED)
        assert pooled.records == here.records
        assert pooled.errors == here.errors and len(pooled.errors) == 1
        assert len(pooled.records) == 500
        assert pooled.records[7].level is Level.ERROR
        assert pooled.records[3].fields == {"http": {"status": 203, "path": "/items/3"}}

    def test_small_body_decoded_in_place(self, pool: DecodePool) -> None:
        decoded = asyncio.run(pool.run(decode_ndjson, body_of(5), FieldMapping(), RECEIVED))
        assert (pool.pooled, pool.in_place) == (0, 1)
        assert len(decoded.records) == 5

    def test_decoder_errors_cross_back(self, pool: DecodePool) -> None:
        """The endpoint turns these into 413 and 400: they must arrive as the same classes."""
        with pytest.raises(PayloadTooLarge, match="100"):
            asyncio.run(pool.run(decode_ndjson, body_of(500), FieldMapping(), RECEIVED, max_records=100))
        with pytest.raises(PayloadError):
            from loglens.server.decode import decode_otlp

            asyncio.run(pool.run(decode_otlp, b"\xff" * 20_000, "application/x-protobuf", RECEIVED))
        assert pool.pooled == 2

    def test_no_workers_decodes_everything_in_place(self) -> None:
        decoders = DecodePool(0)
        decoded = asyncio.run(decoders.run(decode_ndjson, body_of(2_000), FieldMapping(), RECEIVED))
        assert (decoders.pooled, decoders.in_place) == (0, 1)
        assert len(decoded.records) == 2_000
        decoders.close()

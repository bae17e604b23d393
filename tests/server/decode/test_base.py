"""Tests for the decoders' shared base: decompression (and its bomb limits), line splitting, limits."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib

import cramjam
import orjson
import pytest

from loglens.errors import LoglensError
from loglens.server.decode.base import (
    PayloadError,
    PayloadTooLarge,
    check_record_count,
    decompress,
    json_error_reason,
    request_context,
    split_lines,
)

BODY = b'{"msg":"hello"}\n' * 500
MIB = 1024 * 1024


def zstd_streamed(data: bytes) -> bytes:
    """zstd as a streaming compressor writes it: no content size in the frame header."""
    compressor = cramjam.zstd.Compressor()
    compressor.compress(data)
    return bytes(compressor.finish())


def peak_bytes(body: bytes, encoding: str, max_bytes: int) -> tuple[int, float]:
    """(peak traced allocation, seconds) of a decompress call that must hit the limit."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(PayloadTooLarge):
            decompress(body, encoding, max_bytes)
        return tracemalloc.get_traced_memory()[1], time.perf_counter() - started
    finally:
        tracemalloc.stop()


class TestDecompress:
    def test_identity_and_none_return_the_body(self) -> None:
        """No encoding, an empty one and `identity` all leave the body as it is."""
        for coding in (None, "", "identity", " Identity "):
            assert decompress(BODY, coding) == BODY

    def test_gzip(self) -> None:
        """A gzip body is inflated, whatever the case of the header value."""
        assert decompress(gzip.compress(BODY), "GZIP") == BODY
        assert decompress(gzip.compress(BODY), "x-gzip") == BODY

    def test_gzip_with_several_members(self) -> None:
        """Concatenated gzip members decompress to their concatenated contents."""
        body = gzip.compress(BODY[:1000]) + gzip.compress(BODY[1000:])
        assert decompress(body, "gzip") == BODY

    def test_deflate_zlib_wrapped_and_raw(self) -> None:
        """HTTP deflate is read both as the RFC's zlib stream and as the raw deflate some clients send."""
        raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        raw_body = raw.compress(BODY) + raw.flush()
        assert decompress(zlib.compress(BODY), "deflate") == BODY
        assert decompress(raw_body, "deflate") == BODY

    def test_snappy_block_format(self) -> None:
        """A snappy body is read in block format (Prometheus' and Loki's), not the framed one."""
        assert decompress(bytes(cramjam.snappy.compress_raw(BODY)), "snappy") == BODY

    def test_zstd_with_and_without_declared_size(self) -> None:
        """zstd frames decompress whether or not their header declares the content size."""
        assert decompress(bytes(cramjam.zstd.compress(BODY)), "zstd") == BODY
        assert decompress(zstd_streamed(BODY), "zstd") == BODY

    def test_unknown_encoding_is_named(self) -> None:
        """An encoding loglens cannot undo is a payload error that names it and the ones it can."""
        with pytest.raises(PayloadError, match=r"unsupported Content-Encoding 'br': send gzip, deflate"):
            decompress(BODY, "br")

    @pytest.mark.parametrize(
        ("body", "coding", "message"),
        [
            (b"\x1f\x8bnot really", "gzip", r"^gzip: corrupt input \(.*unknown compression method"),
            (gzip.compress(BODY, mtime=0)[:-12], "gzip", r"^gzip: corrupt input \(unexpected end of data\)$"),
            (gzip.compress(BODY, mtime=0) + b"junk", "gzip", r"^gzip: corrupt input \(trailing bytes"),
            (b"garbage!", "deflate", r"^deflate: corrupt input \("),
            (b"\xff\xff\xff", "snappy", r"^snappy: corrupt input \(invalid header\)$"),
            (b"\x05abc", "snappy", r"^snappy: corrupt input \("),
            (b"nope", "zstd", r"^zstd: corrupt input \("),
        ],
    )
    def test_corrupt_input_says_which_codec(self, body: bytes, coding: str, message: str) -> None:
        """A body that is not valid in its encoding is a payload error naming the codec, once."""
        with pytest.raises(PayloadError, match=message) as caught:
            decompress(body, coding)
        assert not isinstance(caught.value, PayloadTooLarge)
        assert "corrupt input (corrupt input" not in str(caught.value)

    def test_payload_errors_are_loglens_errors(self) -> None:
        """Both payload errors belong to the one loglens hierarchy, the size one under the other."""
        assert issubclass(PayloadError, LoglensError)
        assert issubclass(PayloadTooLarge, PayloadError)

    def test_body_exactly_at_the_limit_passes(self) -> None:
        """A body that decompresses to exactly max_bytes is accepted; one byte more is not."""
        data = b"x" * 4096
        for coding, body in (
            ("gzip", gzip.compress(data)),
            ("deflate", zlib.compress(data)),
            ("snappy", bytes(cramjam.snappy.compress_raw(data))),
            ("zstd", zstd_streamed(data)),
            (None, data),
        ):
            assert decompress(body, coding, max_bytes=4096) == data
            with pytest.raises(PayloadTooLarge):
                decompress(body, coding, max_bytes=4095)


@pytest.fixture(scope="module")
def zeros() -> bytes:
    """100 MB of zeros, the payload of the bombs below."""
    return bytes(100 * 1000 * 1000)


class TestDecompressionBombs:
    @pytest.mark.parametrize("coding", ["gzip", "deflate"])
    def test_inflate_bomb_is_cut_without_allocating_it(self, zeros: bytes, coding: str) -> None:
        """A ~100 KB body that inflates to 100 MB stops at the 1 MiB cap, fast and in a few MiB."""
        body = gzip.compress(zeros, 9) if coding == "gzip" else zlib.compress(zeros, 9)
        assert len(body) < 200_000
        peak, seconds = peak_bytes(body, coding, MIB)
        assert peak < 4 * MIB
        assert seconds < 1.0

    def test_snappy_bomb_is_refused_by_its_declared_length(self, zeros: bytes) -> None:
        """Snappy's declared length is checked before any output buffer is made."""
        body = bytes(cramjam.snappy.compress_raw(zeros))
        peak, seconds = peak_bytes(body, "snappy", MIB)
        assert peak < 64 * 1024
        assert seconds < 0.5

    def test_zstd_bomb_with_declared_size_is_refused_up_front(self, zeros: bytes) -> None:
        """A zstd frame that declares more than the cap is refused before a buffer is made."""
        body = bytes(cramjam.zstd.compress(zeros))
        peak, _ = peak_bytes(body, "zstd", MIB)
        assert peak < 64 * 1024

    def test_zstd_bomb_without_declared_size_stops_at_the_cap(self) -> None:
        """A zstd stream that hides its size costs at most the cap's buffer."""
        body = zstd_streamed(bytes(20 * MIB))
        peak, seconds = peak_bytes(body, "zstd", MIB)
        assert peak < 3 * MIB
        assert seconds < 1.0

    def test_plain_body_over_the_cap(self) -> None:
        """An uncompressed body longer than max_bytes is too large as well."""
        with pytest.raises(PayloadTooLarge, match=r"^body is more than 10 bytes"):
            decompress(b"x" * 11, None, max_bytes=10)


class TestSplitLines:
    def test_numbers_lines_and_skips_blank_ones(self) -> None:
        """Blank lines are skipped but still counted, so numbers match the shipper's lines."""
        body = b'\xef\xbb\xbf{"a":1}\r\n\n   \n{"b":2}\n'
        assert list(split_lines(body)) == [(1, b'{"a":1}'), (4, b'{"b":2}')]

    def test_empty_body(self) -> None:
        """An empty body has no lines."""
        assert list(split_lines(b"")) == []


class TestCheckRecordCount:
    def test_at_and_over_the_limit(self) -> None:
        """Reaching the limit is fine; one more is PayloadTooLarge with advice."""
        check_record_count(5, 5)
        with pytest.raises(PayloadTooLarge, match=r"more than 5 log records in one request: send smaller"):
            check_record_count(6, 5)


class TestJsonErrorReason:
    def test_reason_without_position(self) -> None:
        """orjson's reason comes back lower-cased at its start and without line/column."""
        with pytest.raises(orjson.JSONDecodeError) as caught:
            orjson.loads(b'{"a":')
        assert json_error_reason(caught.value) == "unexpected end of data"


class TestRequestContext:
    def test_naive_stamps_are_utc(self) -> None:
        """A timestamp without an offset is read as UTC, whatever the machine's zone."""
        ctx = request_context("x", "svc", None, 1_795_305_600_000_000_000, None)
        assert ctx.timestamps.parse("2026-11-21 00:00:00") == 1_795_219_200_000_000_000
        assert (ctx.source, ctx.service, ctx.observed_ns) == ("x", "svc", 1_795_305_600_000_000_000)

"""What every ingest decoder shares: its result (`Decoded`), its errors, the limits and decompression.

A decoder turns one HTTP request body into Records; it never drops what it can delimit (a bad item is
kept raw with `parse_error` set) and raises `PayloadError` only for a body it cannot read at all.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, Final

import cramjam

from loglens.errors import LoglensError
from loglens.formats.base import SourceContext
from loglens.formats.level import LevelClassifier
from loglens.formats.timestamp import TimestampParser
from loglens.record import Record

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_RECORDS",
    "Decoded",
    "FieldMapping",
    "PayloadError",
    "PayloadTooLarge",
    "check_record_count",
    "decompress",
    "json_error_reason",
    "request_context",
    "split_lines",
]

DEFAULT_MAX_RECORDS: Final = 100_000
"""Records one request may carry; a shipper with more must split its batch."""
DEFAULT_MAX_BYTES: Final = 64 * 1024 * 1024
"""Bytes a request body may decompress to."""

# Output is pulled from zlib this many bytes at a time, so a bomb is cut within one chunk of the cap.
_INFLATE_CHUNK: Final = 256 * 1024
_GZIP_MAGIC: Final = b"\x1f\x8b"
_ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"
_UTF8_BOM: Final = b"\xef\xbb\xbf"
# The Rust `Write` error cramjam reports when the output buffer is full: here, the output is too large.
_ZSTD_FULL: Final = "failed to write whole buffer"


class PayloadError(LoglensError):
    """A request body that cannot be read at all; the endpoint answers 400 with this message."""


class PayloadTooLarge(PayloadError):
    """A body that decompresses past `max_bytes`, or carries more than `max_records` records (413)."""


@dataclass(slots=True)
class Decoded:
    """What a decoder made of one request body.

    `errors` name the items that were wrong, one line each ("line 3: not JSON (…)"); those items are
    still among `records` (raw, with `parse_error` set) when the payload delimited them, so nothing
    readable is lost and the shipper learns what to fix.
    """

    records: list[Record]
    errors: list[str]


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """Which keys of a JSON event carry the message, time and service (as VictoriaLogs' query args do).

    A `None` key means "find it by loglens's JSON conventions" (`msg`/`message`, `ts`/`@timestamp`,
    `service`/`service.name`, …). A named key may be a dotted path into nested objects (`log.text`);
    events that lack it fall back to the conventions. `extra_fields` are added to every record and
    win over the event's own keys of the same name, so a shipper cannot spoof a tag set by the URL.
    """

    message_field: str | None = None
    time_field: str | None = None
    service_field: str | None = None
    default_service: str = "ndjson"
    extra_fields: Mapping[str, Any] = field(default_factory=dict)


def request_context(
    source: str, service: str, host: str | None, received_ns: int, levels: LevelClassifier | None
) -> SourceContext:
    """The parser context of one request: stamps without an offset are UTC (a network peer's zone is
    unknowable), and year-less or time-only stamps are placed before the moment the body arrived."""
    return SourceContext(
        source=source,
        service=service,
        host=host,
        observed_ns=received_ns,
        timestamps=TimestampParser(tz=UTC, reference_ns=received_ns),
        levels=levels if levels is not None else LevelClassifier(),
    )


def check_record_count(count: int, max_records: int) -> None:
    """Raises `PayloadTooLarge` once a request has produced more than `max_records` items."""
    if count > max_records:
        raise PayloadTooLarge(f"more than {max_records} log records in one request: send smaller batches")


def split_lines(body: bytes) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, line) for every non-blank line; `\\r\\n` endings and a leading BOM dropped.

    Blank lines are skipped rather than reported: shippers end a batch with a newline, some with two.
    """
    if body.startswith(_UTF8_BOM):
        body = body[len(_UTF8_BOM) :]
    for index, line in enumerate(body.split(b"\n"), start=1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if line.strip():
            yield index, line


def json_error_reason(exc: json.JSONDecodeError) -> str:
    """The short reason of a JSON decode error (orjson's or json's), without its position: callers
    say where in their own terms (line 3, event 2)."""
    reason = exc.msg
    return reason[:1].lower() + reason[1:]


def decompress(body: bytes, content_encoding: str | None, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The body with its HTTP `Content-Encoding` undone, never more than `max_bytes` long.

    Handles gzip (several members too), deflate (zlib-wrapped as the RFC says, or raw as some clients
    send it), snappy (block format, as Prometheus and Loki use it) and zstd; none/`identity` returns
    the body itself. gzip and deflate are inflated a chunk at a time and snappy's declared length is
    checked before anything is allocated, so a decompression bomb costs at most about `max_bytes`.
    zstd is decompressed into a buffer of `max_bytes + 1` (lazily committed by the OS), its declared
    size checked first when the frame carries one.

    Raises:
        PayloadTooLarge: the decompressed body would be longer than `max_bytes`.
        PayloadError: an unknown encoding, or a body that is not valid in its encoding.
    """
    coding = (content_encoding or "").strip().lower()
    if coding in ("", "identity"):
        out = body
        name = "body"
    elif coding in ("gzip", "x-gzip"):
        out = _gunzip(body, max_bytes)
        name = "gzip"
    elif coding == "deflate":
        out = _inflate_all(body, _deflate_wbits(body), "deflate", max_bytes)
        name = "deflate"
    elif coding == "snappy":
        out = _unsnappy(body, max_bytes)
        name = "snappy"
    elif coding == "zstd":
        out = _unzstd(body, max_bytes)
        name = "zstd"
    else:
        raise PayloadError(
            f"unsupported Content-Encoding {content_encoding!r}: send gzip, deflate, snappy, zstd or none"
        )
    if len(out) > max_bytes:
        raise _too_large(name, max_bytes)
    return out


def _too_large(name: str, max_bytes: int) -> PayloadTooLarge:
    what = "body is" if name == "body" else f"{name}: body decompresses to"
    return PayloadTooLarge(f"{what} more than {max_bytes} bytes: send smaller batches")


def _deflate_wbits(body: bytes) -> int:
    """zlib window bits for an HTTP deflate body: a valid zlib header means RFC 1950, else raw 1951."""
    if len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0:
        return zlib.MAX_WBITS
    return -zlib.MAX_WBITS


def _gunzip(body: bytes, max_bytes: int) -> bytes:
    """Every gzip member of `body`, concatenated (`cat a.gz b.gz` is valid gzip)."""
    out = bytearray()
    rest = body
    while True:
        rest = _inflate_into(out, rest, zlib.MAX_WBITS | 16, "gzip", max_bytes)
        if rest.startswith(_GZIP_MAGIC):
            continue
        if rest.strip(b"\x00"):
            raise PayloadError("gzip: corrupt input (trailing bytes after the compressed data)")
        return bytes(out)


def _inflate_all(body: bytes, wbits: int, name: str, max_bytes: int) -> bytes:
    out = bytearray()
    _inflate_into(out, body, wbits, name, max_bytes)
    return bytes(out)


def _inflate_into(out: bytearray, data: bytes, wbits: int, name: str, max_bytes: int) -> bytes:
    """Appends one zlib stream's output to `out`, a chunk at a time; returns the bytes after the stream."""
    inflater = zlib.decompressobj(wbits)
    pending = data
    try:
        while not inflater.eof:
            # Never ask for more than one byte past the cap: that byte is what proves it was exceeded.
            room = min(_INFLATE_CHUNK, max_bytes + 1 - len(out))
            chunk = inflater.decompress(pending, room)
            pending = inflater.unconsumed_tail
            out += chunk
            if len(out) > max_bytes:
                raise _too_large(name, max_bytes)
            if not chunk and not pending:
                raise PayloadError(f"{name}: corrupt input (unexpected end of data)")
    except zlib.error as exc:
        raise PayloadError(f"{name}: corrupt input ({exc})") from exc
    return inflater.unused_data


def _corrupt(name: str, exc: Exception) -> PayloadError:
    """`<name>: corrupt input (<why>)` from a cramjam error, whose text may already say part of it."""
    text = str(exc).removeprefix(f"{name}: ")
    if not text.startswith("corrupt input"):
        text = f"corrupt input ({text})"
    return PayloadError(f"{name}: {text}")


def _unsnappy(body: bytes, max_bytes: int) -> bytes:
    """Snappy block format; the length it declares up front is checked before decompressing."""
    try:
        declared = cramjam.snappy.decompress_raw_len(body)
    except cramjam.DecompressionError as exc:
        raise _corrupt("snappy", exc) from exc
    if declared > max_bytes:
        raise _too_large("snappy", max_bytes)
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError as exc:
        raise _corrupt("snappy", exc) from exc


def _zstd_declared_size(body: bytes) -> int | None:
    """Frame_Content_Size of the first zstd frame (RFC 8878 §3.1.1.1), None when the frame omits it."""
    if not body.startswith(_ZSTD_MAGIC) or len(body) < 5:
        return None
    descriptor = body[4]
    fcs_flag = descriptor >> 6
    single_segment = bool(descriptor & 0x20)
    did_size = (0, 1, 2, 4)[descriptor & 0x03]
    fcs_size = (1 if single_segment else 0, 2, 4, 8)[fcs_flag]
    if fcs_size == 0:
        return None
    start = 5 + (0 if single_segment else 1) + did_size
    raw = body[start : start + fcs_size]
    if len(raw) < fcs_size:
        return None
    size = int.from_bytes(raw, "little")
    return size + 256 if fcs_size == 2 else size


def _unzstd(body: bytes, max_bytes: int) -> bytes:
    declared = _zstd_declared_size(body)
    if declared is not None and declared > max_bytes:
        raise _too_large("zstd", max_bytes)
    buffer = bytearray(max_bytes + 1)
    try:
        size = cramjam.zstd.decompress_into(body, buffer)
    except cramjam.DecompressionError as exc:
        if _ZSTD_FULL in str(exc):
            raise _too_large("zstd", max_bytes) from exc
        raise _corrupt("zstd", exc) from exc
    return bytes(memoryview(buffer)[:size])

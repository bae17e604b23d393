"""Tests for the Loki push protobuf classes built from a descriptor at import time."""

from __future__ import annotations

from loglens.server.decode.logproto import EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter


def push_bytes() -> bytes:
    """A PushRequest encoded by hand from Loki's field numbers (push.proto), not by these classes."""
    timestamp = b"\x08\x05\x10\x07"  # seconds=5 (field 1 varint), nanos=7 (field 2 varint)
    metadata = b"\x0a\x01k" + b"\x12\x01v"  # name="k", value="v"
    entry = b"\x0a\x04" + timestamp + b"\x12\x02hi" + b"\x1a\x06" + metadata
    labels = b'{a="1"}'
    stream = b"\x0a\x07" + labels + b"\x12" + bytes([len(entry)]) + entry + b"\x18\x2a"  # hash=42
    return b"\x0a" + bytes([len(stream)]) + stream


class TestLogproto:
    def test_reads_loki_wire_format(self) -> None:
        """Bytes laid out by Loki's schema parse into the expected streams, entries and metadata."""
        request = PushRequest.FromString(push_bytes())
        (stream,) = request.streams
        (entry,) = stream.entries
        assert stream.labels == b'{a="1"}'
        assert stream.hash == 42
        assert (entry.timestamp.seconds, entry.timestamp.nanos) == (5, 7)
        assert entry.line == b"hi"
        assert [(p.name, p.value) for p in entry.structuredMetadata] == [(b"k", b"v")]

    def test_writes_the_same_bytes(self) -> None:
        """Messages built with the classes serialize to exactly the hand-laid bytes."""
        request = PushRequest(
            streams=[
                StreamAdapter(
                    labels=b'{a="1"}',
                    hash=42,
                    entries=[
                        EntryAdapter(
                            timestamp={"seconds": 5, "nanos": 7},
                            line=b"hi",
                            structuredMetadata=[LabelPairAdapter(name=b"k", value=b"v")],
                        )
                    ],
                )
            ]
        )
        assert request.SerializeToString() == push_bytes()

    def test_invalid_utf8_line_still_parses(self) -> None:
        """A line holding invalid UTF-8 parses (string fields are declared bytes on purpose)."""
        data = PushRequest(streams=[StreamAdapter(entries=[EntryAdapter(line=b"bad \xff byte")])])
        parsed = PushRequest.FromString(data.SerializeToString())
        assert parsed.streams[0].entries[0].line == b"bad \xff byte"

"""Tests for loglens.formats.detect: every sample in examples/ is recognised as its format."""

from __future__ import annotations

from pathlib import Path

import pytest

from loglens.formats import registry
from loglens.formats.detect import detect_format
from loglens.formats.plain import HeaderColumns, PlainTextFormat
from loglens.sources.file import read_head
from loglens.sources.lines import decode_lines

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("app.jsonl", "json"),
        ("queue.log", "logfmt"),
        ("syslog/auth.log", "syslog"),
        ("syslog/rfc5424.log", "syslog"),
        ("nginx/access.log", "clf"),
        ("worker.log", "python"),
        ("billing.log", "java"),
        ("kernel/dmesg.log", "kernel"),
        ("app/plain.log", "plain"),
        ("archive/old.log.gz", "plain"),
    ],
)
def test_examples_detected(name: str, expected: str) -> None:
    """Each example file is detected as the format it is written in, with no configuration."""
    lines, _ = decode_lines(read_head(EXAMPLES / name, 65536).rstrip(b"\n"))
    formats = list(registry().values())
    assert detect_format(lines, formats, registry()["plain"]).fmt.name == expected


def test_empty_sample_falls_back() -> None:
    """Nothing to look at gives the fallback with score 0."""
    detection = detect_format(["", "  "], list(registry().values()), registry()["plain"])
    assert detection.fmt.name == "plain" and detection.score == 0.0


def test_mostly_unknown_lines_fall_back() -> None:
    """A sample that no format explains at least half of is plain text."""
    lines = ['{"msg": "one json line"}', "free text", "more free text", "and more"]
    detection = detect_format(lines, list(registry().values()), registry()["plain"])
    assert detection.fmt.name == "plain"


def test_plain_text_is_fitted_to_learned_columns() -> None:
    """An unknown layout with a steady level field falls to plain text fitted with its columns."""
    lines = [
        f"- {1700000000 + i} node-{i % 7} RAS KERNEL {('INFO', 'FATAL')[i % 2]} cache error {i}"
        for i in range(50)
    ]
    found = detect_format(lines, list(registry().values()), registry()["plain"]).fmt
    assert isinstance(found, PlainTextFormat) and found.columns == HeaderColumns(level=5, logger=False)

"""`loglens mine`: mine one file's templates in a fresh state, one result per input line.

With `message_only`, each line is taken whole as the message; otherwise the file's format is detected
and each line's message is what that format's parser calls the message (the line itself when the
parser does not recognise it). Lines are not joined into multi-line events here: the output has
exactly one object per input line, so it lines up with the line-based ground truth it is scored on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

from loglens.allocation import bulk_allocation
from loglens.formats import registry
from loglens.formats.base import SourceContext
from loglens.formats.detect import detect_format
from loglens.formats.level import LevelClassifier
from loglens.formats.timestamp import TimestampParser
from loglens.mining.drain import Template, TemplateMiner
from loglens.sources.file import open_binary
from loglens.sources.lines import LineReader

PARSE_BATCH = 4096


@dataclass(frozen=True, slots=True)
class MinedLine:
    """One input line's result: its template (as it stands once the whole file is mined) and values."""

    line: int
    template: Template
    params: list[str]

    def to_json(self) -> dict[str, Any]:
        """The `loglens mine` output object (docs/cli.md)."""
        return {"line": self.line, "template_id": self.template.id, "template": self.template.text,
                "params": self.params}  # fmt: skip


def read_lines(path: Path) -> list[str]:
    """Every line of a file (gzip too), decoded as ingest decodes them."""
    with open_binary(path) as stream:
        return [line for chunk in LineReader(stream) for line in chunk.lines]


def messages_of(lines: list[str], message_only: bool) -> list[str]:
    """The message of each line: the line itself, or what the detected format's parser extracts."""
    if message_only:
        return lines
    formats = list(registry().values())
    fmt = detect_format(lines[:800], formats, registry()["plain"]).fmt
    ctx = SourceContext(
        source="mine", service="mine", host=None, observed_ns=time.time_ns(),
        timestamps=TimestampParser(tz=UTC), levels=LevelClassifier(),
    )  # fmt: skip
    messages: list[str] = []
    for start in range(0, len(lines), PARSE_BATCH):
        batch = lines[start : start + PARSE_BATCH]
        # Blank lines are kept as empty messages so that the output still has one row per line.
        parsed = iter(fmt.parse([line for line in batch if line], ctx))
        for line in batch:
            messages.append(next(parsed).message if line else "")
    return messages


def mine_messages(messages: list[str]) -> list[Template]:
    """Each message's template in a fresh miner with the default configuration.

    The Template objects are the miner's own, so each reads as it stands after the last message.
    """
    add = TemplateMiner().add
    with bulk_allocation():  # as ingest mines: no collector passes over the lines held in memory
        return [add(message).template for message in messages]


def mine_file(path: Path, message_only: bool = False) -> Iterator[MinedLine]:
    """Mines `path` with the default configuration and yields one result per line, in order."""
    messages = messages_of(read_lines(path), message_only)
    templates = mine_messages(messages)
    for number, (message, template) in enumerate(zip(messages, templates, strict=True), 1):
        # Values are read against the final template: it may have generalised after this line.
        yield MinedLine(number, template, template.params_of(message.split()))

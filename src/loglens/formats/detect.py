"""Format detection: which registered format best explains the first lines of a source.

Each format's `sniff` is tried on a sample; a multi-line format is not penalised for the lines that
look like continuations (stack frames, traceback text), since those belong to its events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from loglens.formats.base import LogFormat
from loglens.formats.plain import PlainTextFormat

SAMPLE_LINES = 200
MIN_SCORE = 0.5

# Lines that continue an event in any multi-line format: indented frames, traceback and chain
# headers, exception lines (`ValueError: …`, `java.lang.IllegalStateException: …`) and blank lines.
_CONTINUATION = re.compile(
    r"""(?x)
    \s | $
    | Traceback\ \(most\ recent | During\ handling | The\ above\ exception | Caused\ by: | \.\.\.\ \d+
    | [\w.$]+(?:Error|Exception|Warning|Exit|Interrupt|Throwable|Failure)\b
    | (?:[a-z_][\w$]*\.)+[A-Z][\w$]*:\s
    """
)


@dataclass(frozen=True, slots=True)
class Detection:
    """The chosen format and how much of the sample it explained (0–1), for `--explain` style output."""

    fmt: LogFormat
    score: float


def detect_format(lines: list[str], formats: list[LogFormat], fallback: LogFormat) -> Detection:
    """Picks the format whose `sniff` accepts the largest share of the sample's lines.

    Args:
        lines: the first lines of the source (only the first `SAMPLE_LINES` non-empty ones are used).
        formats: candidates in priority order; an earlier one wins a tie.
        fallback: used when no candidate explains at least `MIN_SCORE` of the sample.
    """
    sample = [line for line in lines[: SAMPLE_LINES * 4] if line.strip()][:SAMPLE_LINES]
    if not sample:
        return Detection(fallback, 0.0)
    continuation = [bool(_CONTINUATION.match(line)) for line in sample]
    best: Detection = Detection(fallback, 0.0)
    for fmt in formats:
        if fmt is fallback:
            continue
        hits = 0
        counted = 0
        for line, is_continuation in zip(sample, continuation, strict=True):
            hit = fmt.sniff(line)
            if hit:
                hits += 1
                counted += 1
            elif not (fmt.multiline and is_continuation):
                counted += 1
        if hits == 0:
            continue
        score = hits / counted
        if score > best.score:
            best = Detection(fmt, score)
    if best.score < MIN_SCORE:
        # Plain text: fitted to the sample's header columns when it has learnable ones.
        fitted = fallback.for_sample(sample) if isinstance(fallback, PlainTextFormat) else fallback
        return Detection(fitted, best.score)
    return best

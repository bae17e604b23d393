"""What a wrapped command (`loglens run -- CMD`) did: errors and warnings seen, the first error with
the lines around it, the exit code and the duration — the few lines a person reads after a build.

Fed records as they are read, so memory stays bounded by the context size whatever the output length.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from loglens.record import Level, Record

DEFAULT_CONTEXT = 3


@dataclass(frozen=True, slots=True)
class Line:
    """One record of the command's output, numbered from 1 in the order read."""

    number: int
    stream: str
    level: Level
    text: str


@dataclass(slots=True)
class RunReport:
    """Counts and the first error's context for one command run."""

    command: list[str]
    context: int = DEFAULT_CONTEXT
    records: int = 0
    errors: int = 0
    warnings: int = 0
    exit_code: int | None = None
    seconds: float = 0.0
    first_error: Line | None = None
    before: list[Line] = field(default_factory=list)
    after: list[Line] = field(default_factory=list)
    _recent: deque[Line] = field(default_factory=deque)

    def __call__(self, records: list[Record]) -> None:
        """Takes records as they are read."""
        for record in records:
            self.records += 1
            line = Line(self.records, _stream(record), record.level, record.raw)
            if record.level >= Level.ERROR:
                self.errors += 1
            elif record.level >= Level.WARNING:
                self.warnings += 1
            if self.first_error is None:
                if record.level >= Level.ERROR:
                    self.first_error = line
                    self.before = list(self._recent)
                else:
                    self._recent.append(line)
                    if len(self._recent) > self.context:
                        self._recent.popleft()
            elif len(self.after) < self.context:
                self.after.append(line)

    @property
    def failed(self) -> bool:
        """True when the command exited with a non-zero code (or was killed by a signal)."""
        return self.exit_code is not None and self.exit_code != 0

    def render(self) -> str:
        """The closing summary, a few plain lines."""
        name = " ".join(self.command)
        status = f"exit {self.exit_code}" if self.exit_code is not None else "still running"
        head = (
            f"── {name} · {status} · {self.seconds:.1f} s · {self.records:,} records · "
            f"{self.errors:,} error{'s' if self.errors != 1 else ''} · "
            f"{self.warnings:,} warning{'s' if self.warnings != 1 else ''}"
        )
        if self.first_error is None:
            return head
        out = [head, f"first error (record {self.first_error.number}, {self.first_error.stream}):"]
        for line in [*self.before, self.first_error, *self.after]:
            marker = "→" if line is self.first_error else " "
            text = line.text.replace("\n", "\n" + " " * 12)
            out.append(f" {marker} {line.number:>7}  {text}")
        return "\n".join(out)

    def to_json(self) -> dict[str, object]:
        """The summary as data (`loglens run --json`)."""
        first = self.first_error
        return {
            "command": self.command,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 3),
            "records": self.records,
            "errors": self.errors,
            "warnings": self.warnings,
            "first_error": None
            if first is None
            else {
                "record": first.number,
                "stream": first.stream,
                "text": first.text,
                "before": [line.text for line in self.before],
                "after": [line.text for line in self.after],
            },
        }


def _stream(record: Record) -> str:
    stream = record.fields.get("stream") if record.fields else None
    return str(stream) if stream else "output"

"""Files on top of the line stream: `write_corpus` writes a span, `follow` appends in real time.

Both stream: a line is written as it is drawn, so memory does not grow with the corpus. Each file's
modification time is set to its last line (a log file's mtime is its last write), which is also what
loglens uses to date year-less syslog stamps: a corpus of January read in November stays in January.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import IO, Any

from loglens.demo.pacing import realtime
from loglens.demo.stream import DemoLine, DemoSpec, Schedule, demo_lines, live_spec
from loglens.demo.truth import DemoSummary, FileStats, truth_document

TRUTH_FILE = "truth.json"
BUFFER_BYTES = 1 << 20


class _Files:
    """The corpus files, opened on first use, with what was written to each."""

    def __init__(self, out_dir: Path, mode: str, summary: DemoSummary) -> None:
        self._out = out_dir
        self._mode = mode
        self._open: dict[str, IO[str]] = {}
        self._summary = summary

    def write(self, line: DemoLine) -> None:
        handle = self._open.get(line.path)
        if handle is None:
            target = self._out / line.path
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = self._open[line.path] = target.open(
                self._mode, encoding="utf-8", newline="\n", buffering=BUFFER_BYTES
            )
            self._summary.files.setdefault(line.path, FileStats())
        text = line.text
        handle.write(text)
        handle.write("\n")
        stats = self._summary.files[line.path]
        stats.events += 1
        stats.lines += text.count("\n") + 1
        stats.bytes += len(text.encode("utf-8")) + 1
        if stats.first_ns is None:
            stats.first_ns = line.ts_ns
        stats.last_ns = line.ts_ns
        if line.incident is not None:
            self._summary.injected[(line.incident, line.path)] += 1

    def flush(self) -> None:
        for handle in self._open.values():
            handle.flush()

    def close(self) -> None:
        """Closes every file and dates it by its last line."""
        for path, handle in self._open.items():
            handle.close()
            last = self._summary.files[path].last_ns
            if last is not None:
                os.utime(self._out / path, ns=(last, last))
        self._open.clear()


def _write_truth(out_dir: Path, document: dict[str, Any]) -> None:
    """Writes truth.json whole or not at all (a reader never sees half of it)."""
    target = out_dir / TRUTH_FILE
    partial = target.with_name(TRUTH_FILE + ".tmp")
    partial.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(target)


def write_corpus(out_dir: Path | str, spec: DemoSpec, lines_requested: int | None = None) -> DemoSummary:
    """Writes the corpus of a spec with an end into `out_dir` (created; its demo files overwritten),
    and its truth.json. Returns what was written."""
    if spec.end_ns is None:
        raise ValueError("write_corpus needs a spec with an end (seconds); use follow for a live tail")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    summary = DemoSummary(spec.start_ns, spec.end_ns, incidents=list(spec.incidents))
    files = _Files(out, "w", summary)
    try:
        for line in demo_lines(spec):
            files.write(line)
    finally:
        files.close()
    summary.seconds = time.monotonic() - started
    _write_truth(out, truth_document(summary, spec.seed, lines_requested))
    return summary


def follow(
    out_dir: Path | str,
    rate: float = 50.0,
    seed: int = 42,
    duration_s: float | None = None,
    stop: threading.Event | None = None,
    incident_every_s: float | None = 900.0,
    lines_requested: int | None = None,
) -> DemoSummary:
    """Appends to the corpus in `out_dir` in real time, stamped now, at about `rate` lines a second,
    with an incident every `incident_every_s` (None: none), until `duration_s` has passed or `stop` is
    set. Each tick writes what is due and flushes, so a reader tailing the files sees lines as they
    come. truth.json (kept from a history written before, if any) gains each incident as it starts.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    truth_path = out / TRUTH_FILE
    truth: dict[str, Any] = json.loads(truth_path.read_text("utf-8")) if truth_path.exists() else {}
    known = list(truth.get("incidents", []))
    start = time.time_ns()
    # seed + 1: the tail draws afresh instead of replaying the history's first hours.
    spec = live_spec(start, rate, seed + 1, duration_s, incident_every_s, first_incident=len(known) + 1)
    end = spec.end_ns
    summary = DemoSummary(start, start)
    schedule = Schedule(spec)
    files = _Files(out, "a", summary)
    started = time.monotonic()
    try:
        for batch in realtime(demo_lines(spec), stop):
            for line in batch:
                files.write(line)
            files.flush()
            now = time.time_ns()
            summary.end_ns = now if end is None else min(now, end)
            begun = [
                s for s in schedule.active(start, now) if s.start_ns <= now and s not in summary.incidents
            ]
            if begun:
                summary.incidents.extend(begun)
                _write_truth(out, _with_live(truth, known, summary, seed, lines_requested))
    finally:
        files.close()
        summary.seconds = time.monotonic() - started
        _write_truth(out, _with_live(truth, known, summary, seed, lines_requested))
    return summary


def _with_live(
    truth: dict[str, Any], known: list[Any], summary: DemoSummary, seed: int, lines_requested: int | None
) -> dict[str, Any]:
    """The history's truth with the live incidents begun so far added (or a live-only truth)."""
    live = truth_document(summary, seed, lines_requested)
    if not truth:
        return live
    document = dict(truth)
    document["end"] = live["end"]
    document["incidents"] = known + live["incidents"]
    document["live"] = {
        "start": live["start"],
        "end": live["end"],
        "totals": live["totals"],
        "files": live["files"],
    }
    return document

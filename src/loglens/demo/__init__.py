"""The demo corpus generator behind `loglens demo`: a fictional shop's seven log files, deterministic by
seed, with incidents whose cause is known (truth.json), as a line iterator with files on top.

    for line in demo_lines(history_spec(hours=6, lines=100_000, seed=42)): ...   # no files
    write_corpus("demo", history_spec())                                        # files + truth.json
    follow("demo", rate=50, duration_s=60)                                      # appended live
    for batch in realtime(demo_lines(live_spec(time.time_ns(), rate=50))): ...   # live, no files

The click command is `loglens.demo.command.demo`.
"""

from loglens.demo.pacing import realtime
from loglens.demo.stream import DEFAULT_START_NS, DemoLine, DemoSpec, demo_lines, history_spec, live_spec
from loglens.demo.truth import DemoSummary, FileStats
from loglens.demo.writer import TRUTH_FILE, follow, write_corpus

__all__ = [
    "DEFAULT_START_NS",
    "TRUTH_FILE",
    "DemoLine",
    "DemoSpec",
    "DemoSummary",
    "FileStats",
    "demo_lines",
    "follow",
    "history_spec",
    "live_spec",
    "realtime",
    "write_corpus",
]

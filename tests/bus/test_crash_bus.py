"""`loglens up` on a bus (ingest and process parts in one daemon, a real nats-server -js) killed
with SIGKILL at random moments while two clients push and a followed file grows: every acknowledged
push (acknowledged = in JetStream) is stored exactly once, and every line of the file at least once.

A followed file on an ingest node is at-least-once: its position is saved in the store once what was
published before it is acknowledged, and a kill between the two re-publishes those lines (measured
130–1,100 lines a kill, the writer appending 5,000 lines/s). The bound below is the lines the test's
writer appends in 0.5 s per kill: a broken resume (from the start of the file) exceeds it at once.
Pushes are exactly-once: a push is answered only once its messages are in JetStream, and the process
part stores each message once (the offset moved in the records' transaction)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nats_server import NatsServer
from test_crash import crash_cycles

WRITER_LINES_PER_S = 5_000  # test_crash.writer: 50 lines every 10 ms


def check_on_bus(figures: dict[str, int], kills: int) -> None:
    assert figures["acknowledged"] > 0 and figures["written"] > 0, figures
    assert figures["lost"] == 0 and figures["pushed_duplicates"] == 0, figures
    assert figures["file_lost"] == 0, figures
    assert figures["file_duplicates"] <= kills * WRITER_LINES_PER_S // 2, figures


def _bus(server: NatsServer, stream: str) -> str:
    return f'[bus]\nurl = "{server.url}"\nstream = "{stream}"\npartitions = 4\nlease_ttl = 2\n'


def test_kill_nine_three_times_on_a_bus(tmp_path: Path, nats_server: NatsServer) -> None:
    seed = int(os.environ.get("LOGLENS_CRASH_SEED", "1"))
    figures = crash_cycles(tmp_path, 3, seed, _bus(nats_server, "CRASH3"))
    print(json.dumps(figures))
    check_on_bus(figures, 3)


@pytest.mark.slow
def test_kill_nine_twenty_times_on_a_bus(tmp_path: Path, nats_server: NatsServer) -> None:
    figures = crash_cycles(tmp_path, 20, 21, _bus(nats_server, "CRASH20"))
    print(json.dumps(figures))
    check_on_bus(figures, 20)

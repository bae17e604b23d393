"""Tests for loglens.mining.worker: frames, the process' loop, and a real mining process."""

from __future__ import annotations

import io
import os
import signal
from pathlib import Path

import pyarrow as pa
import pytest

from loglens.config import Config
from loglens.errors import MiningProcessError
from loglens.mining.drain import TemplateChange, TemplateMiner
from loglens.mining.worker import MinerProcess, read_frame, serve, write_frame
from loglens.pipeline import Ingestor
from loglens.store.duckdb import DuckDBStore

MESSAGES = [f"job {i} done in {i * 7}ms" for i in range(20)] + [
    "disk full on /dev/sda1",
    "user bob logged in",
]


def _batch(messages: list[str], service: str = "app") -> pa.Table:
    return pa.table({"service": [service] * len(messages), "message": messages})


class TestFrames:
    def test_round_trip(self) -> None:
        """A frame carries its JSON part and its table unchanged; the end of the stream reads as None."""
        buffer = io.BytesIO()
        write_frame(buffer, {"a": [1, "x"]}, _batch(["m1", "m2"]))
        write_frame(buffer, {"b": True})
        buffer.seek(0)
        meta, table = read_frame(buffer) or ({}, None)
        assert (
            meta == {"a": [1, "x"]}
            and table is not None
            and table.column("message").to_pylist() == ["m1", "m2"]
        )
        assert read_frame(buffer) == ({"b": True}, None)
        assert read_frame(buffer) is None

    def test_truncated_and_foreign_bytes_refused(self) -> None:
        """A cut frame or bytes that are not a frame raise a clear error."""
        buffer = io.BytesIO()
        write_frame(buffer, {"a": 1}, _batch(["m"]))
        with pytest.raises(MiningProcessError, match="middle of a frame"):
            read_frame(io.BytesIO(buffer.getvalue()[:-5]))
        with pytest.raises(MiningProcessError, match="unexpected bytes"):
            read_frame(io.BytesIO(b"GET / HTTP/1.1\r\n"))


def test_serve_mines_as_the_in_process_miner() -> None:
    """The process' loop, fed a start frame and two batches, answers what TemplateMiner answers."""
    inbox, outbox = io.BytesIO(), io.BytesIO()
    write_frame(inbox, {"templates": [["app-1", "app", "user <*> logged in", False]], "max_templates": 100})
    write_frame(inbox, {}, _batch(MESSAGES[:10]))
    write_frame(inbox, {}, _batch(MESSAGES[10:]))
    inbox.seek(0)
    serve(inbox, outbox)
    outbox.seek(0)
    answers = [read_frame(outbox), read_frame(outbox)]
    assert read_frame(outbox) is None
    miner = TemplateMiner.from_changes([TemplateChange("app-1", "app", "user <*> logged in", False)])
    expected = [miner.add(m, "app") for m in MESSAGES]
    got_ids = [i for a in answers if a and a[1] for i in a[1].column("template_id").to_pylist()]
    got_params = [p for a in answers if a and a[1] for p in a[1].column("params").to_pylist()]
    assert got_ids == [m.template.id for m in expected]
    assert got_params[-1] == ["bob"] and got_ids[-1] == "app-1"  # continued from the stored template
    assert answers[0] is not None and answers[0][0]["changes"][0][:2] == ["app-2", "app"]


class TestMinerProcess:
    def test_real_process_results_in_order(self) -> None:
        """A real process answers each submitted batch in order, with the templates it made."""
        process = MinerProcess([])
        try:
            process.submit(_batch(MESSAGES[:10]))
            ids, params, changes = process.result()
            process.submit(_batch(MESSAGES[10:]))
            ids2, _, changes2 = process.result()
        finally:
            process.close()
        assert ids.to_pylist() == ["app-1"] * 10 and params.to_pylist()[3] == ["3", "21ms"]
        assert changes == [TemplateChange("app-1", "app", "job <*> done in <*>", False)]
        assert ids2.to_pylist()[-2:] == ["app-2", "app-3"] and len(changes2) == 2

    def test_a_dead_process_is_a_clear_error(self) -> None:
        """If the process is killed, the next result raises an error saying mining failed."""
        process = MinerProcess([])
        os.kill(process._proc.pid, signal.SIGKILL)
        process._proc.wait()
        with pytest.raises(MiningProcessError, match="template mining failed"):
            process.submit(_batch(MESSAGES * 5000))
            process.result()
        process.close()


def test_ingest_with_a_mining_process_stores_what_in_process_mining_stores(tmp_path: Path) -> None:
    """The same files ingested with and without the mining process give the same ids, values and
    templates (the process is what a bulk load uses)."""
    log = tmp_path / "app.log"
    lines = [
        f"2026-11-21 10:{i // 60 % 60:02d}:{i % 60:02d} INFO job {i} done in {i * 3}ms" for i in range(30000)
    ]
    lines[::97] = [
        f"2026-11-21 10:00:00 ERROR disk full on /dev/sd{chr(97 + i % 3)}1" for i in range(len(lines[::97]))
    ]
    log.write_text("\n".join(lines) + "\n")
    results = []
    for use_process in (False, True):
        store = DuckDBStore(tmp_path / f"{use_process}.duckdb")
        Ingestor(store, Config(), mining_process=use_process).ingest_paths([str(log)])
        results.append(
            (
                store.sql("SELECT template_id, params FROM records ORDER BY id")[1],
                store.sql("SELECT id, template, count, level FROM templates ORDER BY id")[1],
            )
        )
        store.close()
    assert results[0] == results[1]
    assert len(results[0][0]) == 30000 and {t[1] for t in results[0][1]} == {
        "job <*> done in <*>",
        "disk full on <*>",
    }

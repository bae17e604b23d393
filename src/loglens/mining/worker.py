"""The mining process: template mining for a bulk load, on the machine's other core.

Parsing and Arrow conversion keep one core busy holding the GIL; mining in the same process would add
~2.6 µs a record to that core (ingest fell from ~139k to ~93k lines/s). In a process of its own it
runs beside them. The store writer thread talks to it (`MinerProcess`): it sends each batch's
`service`, `message` and `tenant` columns and gets back `template_id` and `params` columns, plus the templates
made or re-worded, which it saves in the same transaction as the batch.

Messages on the pipes are frames: a 12-byte header (magic, length of a JSON part, length of an Arrow
IPC part), then the two parts. The first frame to the process carries the stored templates, so ids
continue where the store left off. The process mines with the same `TemplateMiner` as in-process
ingest, in the same order, so both give the same ids and values.
"""

from __future__ import annotations

import contextlib
import struct
import subprocess
import sys
import tempfile
from typing import IO, Any

import orjson
import pyarrow as pa

from loglens.allocation import bulk_allocation, return_arrow_memory
from loglens.errors import MiningProcessError
from loglens.mining.drain import DEFAULT_MAX_TEMPLATES, TemplateChange, TemplateMiner

_HEADER = struct.Struct("<4sII")
_MAGIC = b"LLM1"
_RESULT_SCHEMA = pa.schema([("template_id", pa.string()), ("params", pa.list_(pa.string()))])


def write_frame(stream: IO[bytes], meta: dict[str, Any], table: pa.Table | None = None) -> None:
    """Writes one frame: JSON `meta` and, optionally, an Arrow table."""
    body: pa.Buffer | None = None
    if table is not None:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        body = sink.getvalue()  # written as it is: no copy into a bytes object
    head = orjson.dumps(meta)
    stream.write(_HEADER.pack(_MAGIC, len(head), body.size if body is not None else 0))
    stream.write(head)
    if body is not None and body.size:
        stream.write(body)
    stream.flush()


def read_frame(stream: IO[bytes]) -> tuple[dict[str, Any], pa.Table | None] | None:
    """Reads one frame; None at a clean end of stream."""
    header = stream.read(_HEADER.size)
    if not header:
        return None
    if len(header) < _HEADER.size:
        raise MiningProcessError("the mining pipe closed in the middle of a frame")
    magic, head_len, body_len = _HEADER.unpack(header)
    if magic != _MAGIC:
        raise MiningProcessError(f"unexpected bytes on the mining pipe: {header!r}")
    meta = orjson.loads(_read_exactly(stream, head_len))
    table = pa.ipc.open_stream(_read_exactly(stream, body_len)).read_all() if body_len else None
    return meta, table


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise MiningProcessError("the mining pipe closed in the middle of a frame")
    return data


def serve(inbox: IO[bytes], outbox: IO[bytes]) -> None:
    """The process' loop: a start frame with the stored templates, then one reply per batch."""
    first = read_frame(inbox)
    if first is None:
        return
    start = first[0]
    miner = TemplateMiner.from_changes(
        (TemplateChange(*row) for row in start["templates"]), int(start["max_templates"])
    )
    with bulk_allocation() as tick:
        while (frame := read_frame(inbox)) is not None:
            _, table = frame
            if table is None:
                raise MiningProcessError("a batch frame without a table")
            tenants = table.column("tenant").to_pylist() if "tenant" in table.column_names else None
            ids, params = miner.mine_columns(
                table.column("service").to_pylist(), table.column("message").to_pylist(), tenants
            )
            result = pa.Table.from_arrays(
                [pa.array(ids, pa.string()), pa.array(params, pa.list_(pa.string()))], schema=_RESULT_SCHEMA
            )
            write_frame(outbox, {"changes": [list(c) for c in miner.take_changes()]}, result)
            tick()


class MinerProcess:
    """A running mining process, driven by one thread: `submit` a batch, then take its `result`.

    Send one batch and read its result before sending the next but one: the writer sends batch N
    only after reading the result of N-1, so neither side ever waits on a full pipe.
    """

    def __init__(self, templates: list[TemplateChange], max_templates: int = DEFAULT_MAX_TEMPLATES) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process, closed in close()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "loglens.mining.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._inbox, self._outbox = self._proc.stdin, self._proc.stdout
        self._send({"templates": [list(t) for t in templates], "max_templates": max_templates})

    def submit(self, batch: pa.Table) -> None:
        """Sends a prepared batch's `service`, `message` and `tenant` columns to be mined."""
        names = [name for name in ("service", "message", "tenant") if name in batch.column_names]
        columns = pa.table({name: batch.column(name) for name in names})
        self._send({}, columns)

    def result(self) -> tuple[pa.ChunkedArray, pa.ChunkedArray, list[TemplateChange]]:
        """The oldest submitted batch's template ids, values, and the templates it made or changed."""
        try:
            frame = read_frame(self._outbox)
        except MiningProcessError as exc:
            raise self._failure(str(exc)) from None
        if frame is None or frame[1] is None:
            raise self._failure("the mining process ended early")
        meta, table = frame[0], frame[1]
        changes = [TemplateChange(*row) for row in meta["changes"]]
        return table.column("template_id"), table.column("params"), changes

    def close(self) -> None:
        """Ends the process (it exits at the end of its input) and waits for it."""
        with contextlib.suppress(OSError):  # a dead process' pipe may refuse the final flush
            self._inbox.close()
        self._proc.wait()
        self._outbox.close()
        self._stderr.close()

    def _send(self, meta: dict[str, Any], table: pa.Table | None = None) -> None:
        try:
            write_frame(self._inbox, meta, table)
        except (BrokenPipeError, OSError) as exc:
            raise self._failure(f"cannot write to the mining process: {exc}") from None

    def _failure(self, what: str) -> MiningProcessError:
        self._proc.poll()
        self._stderr.seek(0)
        tail = self._stderr.read()[-2000:].decode(errors="replace").strip()
        code = self._proc.returncode
        status = f" (exit code {code})" if code is not None else ""
        return MiningProcessError(f"template mining failed{status}: {what}" + (f"\n{tail}" if tail else ""))


def main() -> None:
    """`python -m loglens.mining.worker`: serve stdin → stdout until stdin ends."""
    return_arrow_memory()
    serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()

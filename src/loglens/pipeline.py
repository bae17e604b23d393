"""The ingest pipeline: sources → framing → parsing → store, in batches, with the writer overlapping.

The calling thread reads, parses and converts each batch to the store's bulk form (Arrow); a single
writer thread inserts them (DuckDB releases the GIL while it writes). A bounded queue between them is
the backpressure: when the store falls behind, reading waits instead of buffering without limit.
"""

from __future__ import annotations

import os
import queue
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO, Protocol

from loglens.allocation import bulk_allocation
from loglens.config import Config, SourceRule
from loglens.enrich.privacy import PrivacySettings, RecordRedactor
from loglens.formats import format_by_name, registry
from loglens.formats.base import LogFormat, SourceContext
from loglens.formats.detect import detect_format
from loglens.formats.level import LevelClassifier
from loglens.formats.multiline import EventFramer
from loglens.formats.timestamp import TimestampParser
from loglens.json_text import within_depth
from loglens.mining.drain import TemplateChange, TemplateMiner
from loglens.mining.worker import MinerProcess
from loglens.record import Record, stamp_tenant
from loglens.sources.file import (
    Checkpoint,
    FoundFile,
    SkippedFile,
    discover,
    open_at_checkpoint,
    service_from_path,
)
from loglens.sources.lines import ByteStream, LineReader, decode_lines
from loglens.sources.stdin import PrefixedStream
from loglens.store.base import Store

DETECT_BYTES = 64 * 1024
WRITER_QUEUE_BATCHES = 2
STAGE_RECORDS = 8_192
WRITER_SWITCH_INTERVAL_S = 0.001
"""GIL switch interval while a writer runs (Python's default is 5 ms): the writer needs the GIL for
a moment around each insert, and waiting up to 5 ms for it each time left the store idle (1 ms:
+4% ingest throughput, median of 5)."""

MINING_PROCESS_BYTES = 32 * 1024 * 1024
"""Loads at least this big mine in a process of their own (its start costs ~0.3 s; on the 2M-line
corpus it took ingest from ~93k to ~105-110k lines/s, for ~50 MB more memory in all)."""

ProgressCallback = Callable[[int, int], None]
"""Called after each batch with (bytes read so far, records parsed so far)."""


@dataclass(slots=True)
class SourceReport:
    """What ingesting one source did."""

    display: str
    format: str = ""
    records: int = 0
    bytes: int = 0
    parse_errors: int = 0
    truncated: int = 0
    resumed_at: int = 0
    error: str | None = None


@dataclass(slots=True)
class IngestReport:
    """What one `ingest` run did, for the closing line and the exit code."""

    sources: list[SourceReport] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    seconds: float = 0.0
    redacted: dict[str, int] = field(default_factory=dict)
    """Values redacted before storage in this run, per rule that found any ([privacy])."""

    @property
    def records(self) -> int:
        """Records stored in this run."""
        return sum(s.records for s in self.sources)

    @property
    def bytes(self) -> int:
        """Bytes read in this run."""
        return sum(s.bytes for s in self.sources)

    @property
    def errors(self) -> list[SourceReport]:
        """Sources that could not be read to their end."""
        return [s for s in self.sources if s.error]

    @property
    def nothing_read(self) -> bool:
        """True when the run was asked to read something and could read none of it (exit code 1)."""
        readable = [s for s in self.sources if s.error is None or s.bytes > 0]
        return not readable and bool(self.sources or self.skipped)


Mark = tuple[int, str | None, Checkpoint | None]
"""One `put` of a staged batch: its record count, the file they come from, and the checkpoint they
reach (None when the chunk ended inside an event, or for stdin)."""

Committed = Callable[[BaseException | None], None]
"""Called by the writer thread once what was put before it is committed (with the error, if not)."""
Item = tuple[Any, list[Mark], list[TemplateChange], Committed | None]
"""What the writer queue carries: a prepared batch (or None), its marks, template changes, and what
to call once they are committed (None: commit when the store says)."""
MERGE_ROWS = 65_536
"""Rows the writer takes from its queue at once, at most, to insert them together."""
GROUP_COMMIT_WAIT_S = 0.05
"""How long a commit asked for may wait for the ones queued behind it, so that one commit serves
them all (a group commit): a DuckDB commit costs ~10 ms however little it holds (measured: 1,000-row
commits 62k rows/s, 20,000-row commits 124k rows/s), so under load commits are paced instead."""


class RecordWriter(Protocol):
    """Where the live pipeline puts what it read: the store's writer (`StoreWriter`), or on an ingest
    node of a scale-out deployment the bus (`bus.publisher.BusPublisher`)."""

    commits: int

    def put(
        self,
        batch: Sequence[Record],
        checkpoint: Checkpoint | None = None,
        templates: Sequence[TemplateChange] = (),
        source: str | None = None,
    ) -> None: ...

    def flush(self) -> None: ...

    def commit(self) -> None: ...

    def commit_then(self, committed: Committed) -> None: ...

    def close(self) -> None: ...


class StoreWriter:
    """The single writer: a thread draining a bounded queue of batches into the store.

    `put` converts each batch for the store in the caller's thread (that work holds the GIL; the
    store's own work releases it, so both cores stay busy) and stages it until `stage_records` are
    waiting, then queues them as one. Few large inserts matter: each insert takes the GIL a few
    times, and waiting for it behind the parsing thread costs up to a switch interval each time.

    The writer appends to one open transaction that commits when the store says (for DuckDB: a full
    row group, written straight to the file instead of through its log, at half the cost) and at
    `close`. Each commit saves, for every file with records in it, where the committed records of
    that file end: its last checkpoint reached plus the count of records stored after it (a commit
    usually ends inside a read chunk), so a crash re-reads exactly what was not committed — nothing
    lost, nothing stored twice. Templates made or generalised while a batch was mined are saved
    before the batch's records, so every committed record's template is committed with it or before.

    DuckDB keeps the Arrow buffers of uncommitted rows alive, so the commit size also bounds memory.

    With a `miner` (a mining process), batches are put unlabelled and pass through a relay thread on
    their way to the writer: it sends each batch's messages to the process and fills in `template_id`
    and `params` from the answer, so the process mines batch N while the writer stores batch N-1
    (measured: with the relay inside the writer thread, the writer waited 3 s of a 20 s load on it).
    """

    def __init__(
        self,
        store: Store,
        max_batches: int = WRITER_QUEUE_BATCHES,
        stage_records: int = STAGE_RECORDS,
        miner: MinerProcess | None = None,
    ) -> None:
        self._store = store
        self._miner = miner
        self._stage_records = stage_records
        self._staged: list[Any] = []
        self._staged_rows = 0
        self._staged_marks: list[Mark] = []
        self._staged_templates: list[TemplateChange] = []
        self._source: str | None = None  # the file being put (set by `begin`)
        # None is the stop signal.
        self._queue: queue.Queue[Item | None] = queue.Queue(maxsize=max_batches)
        self._error: BaseException | None = None
        # Writer thread: per file, the last checkpoint its appended records reached and how many of
        # its records were appended after it; files whose position moved since the last commit.
        self._positions: dict[str, tuple[Checkpoint, int]] = {}
        self._moved: set[str] = set()
        self.commits = 0
        self._waiting: list[Committed] = []  # commit callbacks of what was written, not yet committed
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, WRITER_SWITCH_INTERVAL_S))
        self._threads = [threading.Thread(target=self._run, args=(self._queue,), name="loglens-store-writer")]
        if miner is not None:
            labelled: queue.Queue[Item | None] = queue.Queue(maxsize=max_batches)
            self._threads = [
                threading.Thread(target=self._relay, args=(miner, labelled), name="loglens-mining-relay"),
                threading.Thread(target=self._run, args=(labelled,), name="loglens-store-writer"),
            ]
        for thread in self._threads:
            thread.daemon = True
            thread.start()

    def begin(self, start: Checkpoint) -> None:
        """Says that the next puts come from `start.path`, read from `start` on."""
        self._source = start.path
        self._staged_marks.append((0, start.path, start))

    def put(
        self,
        batch: Sequence[Record],
        checkpoint: Checkpoint | None = None,
        templates: Sequence[TemplateChange] = (),
        source: str | None = None,
    ) -> None:
        """Stages a batch (the checkpoint it reaches, the templates it made); blocks while the queue is full.

        `source` is the file the records come from when no checkpoint says it (default: the one
        given to `begin`). Re-raises a failure of the writer thread.
        """
        if self._error is not None:
            raise self._error
        if batch:
            # Converted now, while small: staged as compact Arrow, not as Python objects.
            self._staged.append(self._store.prepare(batch))
            self._staged_rows += len(batch)
        if batch or checkpoint is not None:
            self._staged_marks.append(
                (len(batch), checkpoint.path if checkpoint else source or self._source, checkpoint)
            )
        self._staged_templates.extend(templates)  # the store keeps the newest text of each
        if self._staged_rows >= self._stage_records:
            self.flush()

    def flush(self) -> None:
        """Queues what is staged now."""
        staged, marks = self._staged, self._staged_marks
        templates = self._staged_templates
        if not staged and not marks and not templates:
            return
        self._staged, self._staged_rows, self._staged_marks, self._staged_templates = [], 0, [], []
        self._queue.put((self._store.combine(staged) if staged else None, marks, templates, None))

    def commit(self) -> None:
        """Commits everything put so far with its checkpoints; returns once it is on disk.

        A live source calls this every second or so: the store would otherwise commit only at its
        own boundaries (a full row group), and a crash must not lose more than the last moment.
        """
        if self._error is not None:
            raise self._error
        staged, marks, templates = self._staged, self._staged_marks, self._staged_templates
        self._staged, self._staged_rows, self._staged_marks, self._staged_templates = [], 0, [], []
        done = threading.Event()
        self._queue.put(
            (self._store.combine(staged) if staged else None, marks, templates, lambda _: done.set())
        )
        done.wait()
        if self._error is not None:
            raise self._error

    def commit_then(self, committed: Committed) -> None:
        """Asks for a commit of everything put so far without waiting for it: `committed` is called
        from the writer thread once it is on disk (or failed). Requests close together share one
        commit. Blocks only while the writer queue is full (backpressure)."""
        if self._error is not None:
            raise self._error
        staged, marks, templates = self._staged, self._staged_marks, self._staged_templates
        self._staged, self._staged_rows, self._staged_marks, self._staged_templates = [], 0, [], []
        self._queue.put((self._store.combine(staged) if staged else None, marks, templates, committed))

    def close(self) -> None:
        """Waits until everything put is committed; re-raises a failure of the writer."""
        try:
            if self._error is None:
                self.flush()
        finally:
            self._queue.put(None)
            for thread in self._threads:
                thread.join()
            sys.setswitchinterval(self._switch_interval)
        if self._error is not None:
            raise self._error

    def _relay(self, miner: MinerProcess, out: queue.Queue[Item | None]) -> None:
        """Labels queued batches through the mining process, in order, and passes them on."""
        mined: Item | None = None  # sent to the process; its answer is read when the next one comes

        def answered(item: Item) -> Item:
            return _with_templates(item, miner.result()) if item[0] is not None else item

        while True:
            item = self._queue.get()
            if item is None:
                break
            if self._error is not None:
                _release(item, self._error)
                continue  # keep draining so producers never block on a dead writer
            try:
                # Read the previous answer before sending this batch: neither pipe can fill up.
                if mined is not None:
                    out.put(answered(mined))
                    mined = None
                if item[0] is None:
                    out.put(item)
                    continue
                miner.submit(item[0])
                mined = item
                if item[3] is not None:  # its producer waits for the commit: no holding it back
                    out.put(answered(mined))
                    mined = None
            except BaseException as exc:
                self._error = exc
                _release(item, exc)
        try:
            if self._error is None and mined is not None:
                out.put(answered(mined))
        except BaseException as exc:
            self._error = exc
        out.put(None)

    def _run(self, items: queue.Queue[Item | None]) -> None:
        """The writer thread: `_serve`, and should it fail in itself, every producer is still told
        (its commit callback gets the error) instead of waiting for an acknowledgement forever."""
        try:
            self._serve(items)
        except BaseException as exc:
            self._error = self._error or exc
            for committed in self._waiting:
                committed(self._error)
            while (item := items.get()) is not None:
                _release(item, self._error)

    def _serve(self, items: queue.Queue[Item | None]) -> None:
        """Writes queued batches. A commit asked for is made at once when the writer is idle and the
        last one is `GROUP_COMMIT_WAIT_S` old; else it waits for the ones queued behind it, at most
        that long, and one commit answers them all (so commits stay ≤ 1 / GROUP_COMMIT_WAIT_S)."""
        waiting = self._waiting
        first_wait = last_commit = 0.0
        while True:
            timeout = None if not waiting else max(first_wait + GROUP_COMMIT_WAIT_S - time.monotonic(), 0.0)
            try:
                item = items.get(timeout=timeout)
            except queue.Empty:
                self._commit_for(waiting)
                last_commit = time.monotonic()
                continue
            if item is None:
                break
            (batch, marks, templates, _), asked, stop = self._merge_queued(item, items)
            if self._error is None:  # else keep draining so producers never block on a dead writer
                try:
                    self._write(batch, marks, templates)
                except BaseException as exc:
                    self._error = exc
            now = time.monotonic()
            if asked:
                if not waiting:
                    first_wait = now
                waiting.extend(asked)
            if stop:
                break
            idle = items.empty() and now - last_commit >= GROUP_COMMIT_WAIT_S
            if waiting and (idle or now - first_wait >= GROUP_COMMIT_WAIT_S):
                self._commit_for(waiting)
                last_commit = time.monotonic()
        self._commit_for(waiting)

    def _merge_queued(
        self, item: Item, items: queue.Queue[Item | None]
    ) -> tuple[Item, list[Committed], bool]:
        """`item` and the items queued behind it (up to `MERGE_ROWS` rows) as one write — one insert
        instead of many: each DuckDB call waits for the GIL, which the pipeline and the server hold
        most of the time under load. Returns the merged item (without a callback), the commit
        callbacks it gathered, and whether the stop signal was met."""
        merged = [item]
        rows = item[0].num_rows if item[0] is not None else 0
        stop = False
        while rows < MERGE_ROWS:
            try:
                more = items.get_nowait()
            except queue.Empty:
                break
            if more is None:
                stop = True
                break
            merged.append(more)
            rows += more[0].num_rows if more[0] is not None else 0
        batches = [batch for batch, _, _, _ in merged if batch is not None]
        marks = [mark for _, item_marks, _, _ in merged for mark in item_marks]
        templates = [change for _, _, changes, _ in merged for change in changes]
        callbacks = [committed for _, _, _, committed in merged if committed is not None]
        batch = self._store.combine(batches) if batches else None
        return (batch, marks, templates, None), callbacks, stop

    def _commit_for(self, waiting: list[Committed]) -> None:
        """Commits (unless the writer has failed), tells each waiting producer how it went, and
        empties `waiting`."""
        if self._error is None:
            try:
                self._commit()
            except BaseException as exc:
                self._error = exc
        told, waiting[:] = list(waiting), []
        for committed in told:
            committed(self._error)

    def _write(self, batch: Any, marks: list[Mark], templates: list[TemplateChange]) -> None:
        """Appends one queued batch, committing at each of the store's boundaries it crosses."""
        store = self._store
        store.save_templates(templates)
        rows = len(batch) if batch is not None else 0
        pending = list(reversed(marks))  # popped from the end, oldest first
        done = 0
        while rows - done >= (room := store.rows_to_next_commit()):
            store.append(batch.slice(done, room))
            done += room
            self._advance(pending, room)
            self._commit()
        if rows > done:
            store.append(batch.slice(done))
            self._advance(pending, rows - done)
        self._advance(pending, 0)  # marks without records (a final checkpoint) apply now

    def _advance(self, pending: list[Mark], rows: int) -> None:
        """Moves the files' positions over the next `rows` records appended (marks popped as used)."""
        while pending:
            count, path, checkpoint = pending[-1]
            if count > rows:
                if rows:
                    pending[-1] = (count - rows, path, checkpoint)
                    self._move(path, rows, None)
                return
            pending.pop()
            rows -= count
            self._move(path, count, checkpoint)

    def _move(self, path: str | None, rows: int, reached: Checkpoint | None) -> None:
        if path is None:
            return
        if reached is not None:
            self._positions[path] = (reached, 0)
        elif path in self._positions:
            checkpoint, after = self._positions[path]
            self._positions[path] = (checkpoint, after + rows)
        else:
            return  # records of a file put without `begin`: no position to keep
        self._moved.add(path)

    def _commit(self) -> None:
        """Commits, with where each file that moved stands."""
        checkpoints = []
        for path in self._moved:
            checkpoint, after = self._positions[path]
            checkpoints.append(replace(checkpoint, skip=checkpoint.skip + after) if after else checkpoint)
        self._store.commit(checkpoints)
        self._moved.clear()
        self.commits += 1


def _with_templates(item: Item, result: tuple[Any, Any, list[TemplateChange]]) -> Item:
    """A queued item with the mining process' template ids, values and changes filled in."""
    batch, marks, templates, commit = item
    ids, params, changes = result
    batch = batch.set_column(batch.schema.get_field_index("template_id"), "template_id", ids)
    batch = batch.set_column(batch.schema.get_field_index("params"), "params", params)
    return batch, marks, [*templates, *changes], commit


def _release(item: Item, error: BaseException | None) -> None:
    """Wakes a producer waiting for this item's commit (done, or failed: it re-raises the error)."""
    if item[3] is not None:
        item[3](error)


MAX_SERVICE_CHARS = 200
"""A service name longer than this is cut: it names template ids and index entries, and PostgreSQL
refuses an index entry past ~2.7 KB (a whole commit would fail on one hostile name)."""


def bound_records(records: list[Record]) -> None:
    """Cuts over-long service names to `MAX_SERVICE_CHARS`, and fields nested past `MAX_DEPTH` levels
    (json_text.within_depth), before anything walks them (ingest)."""
    for record in records:
        if len(record.service) > MAX_SERVICE_CHARS:
            record.service = record.service[:MAX_SERVICE_CHARS]
        if record.fields:
            record.fields = within_depth(record.fields)


class Ingestor:
    """Reads sources into a store: the engine behind `loglens ingest`.

    Args:
        store: where records go (one writer: this object's thread).
        config: source rules (forced formats, services, zones), level rules, line limits, privacy.
        progress: optional callback after each batch.
        privacy: what is redacted before mining and storage (default: the config's `[privacy]`).
    """

    def __init__(
        self,
        store: Store,
        config: Config,
        progress: ProgressCallback | None = None,
        mining_process: bool | None = None,
        privacy: PrivacySettings | None = None,
    ) -> None:
        self._store = store
        self._config = config
        self._progress = progress
        self._levels = LevelClassifier(config.level_rules)
        self._host = socket.gethostname()
        self._formats: list[LogFormat] = list(registry().values())
        self._fallback = registry()["plain"]
        self._bytes_done = 0
        self._records_done = 0
        self._tick: Callable[[], None] = lambda: None
        self._mining_process = mining_process
        self._miner: TemplateMiner | None = None  # in-process mining; None while a process mines
        self.redactor = RecordRedactor(privacy or config.privacy)

    @property
    def store(self) -> Store:
        """The store records go to."""
        return self._store

    @property
    def levels(self) -> LevelClassifier:
        """The level rules of loglens.toml with the built-in guesses (decoders of pushed logs use it)."""
        return self._levels

    @property
    def config(self) -> Config:
        """Source rules, level rules and limits."""
        return self._config

    # -- entry points ----------------------------------------------------------------------------

    def ingest_paths(self, paths: list[str], from_start: bool = False) -> IngestReport:
        """Ingests files, globs and folders; each file resumes from its checkpoint unless `from_start`."""
        started = time.monotonic()
        found, skipped = discover(paths)
        report = IngestReport(skipped=skipped)
        redacted_before = self.redactor.counts()
        process = self.start_mining(sum(_size_of(item) for item in found))
        try:
            writer = StoreWriter(self._store, miner=process)
            try:
                with bulk_allocation() as self._tick:
                    for item in found:
                        report.sources.append(self._ingest_file(item, writer, from_start))
            finally:
                writer.close()
        finally:
            if process is not None:
                process.close()
        report.seconds = time.monotonic() - started
        report.redacted = _grown(redacted_before, self.redactor.counts())
        return report

    def ingest_stream(self, stream: BinaryIO, display: str = "-", service: str = "stdin") -> IngestReport:
        """Ingests a stream (stdin) to its end; there is no checkpoint for a pipe."""
        started = time.monotonic()
        report = IngestReport()
        redacted_before = self.redactor.counts()
        source = SourceReport(display)
        process = self.start_mining(0)  # a pipe's size is unknown: in-process unless asked
        try:
            writer = StoreWriter(self._store, miner=process)
            try:
                head = stream.read(DETECT_BYTES)
                rule = self._config.rule_for(display, display)
                fmt = self.choose_format(head, rule.format if rule else None)
                service = (rule.service if rule else None) or service
                ctx = self.source_context(display, service, rule, time.time_ns())
                with bulk_allocation() as self._tick:
                    self._pump(
                        PrefixedStream(head, stream), 0, fmt, ctx, writer, source, None,
                        tenant=rule.tenant if rule else "",
                    )  # fmt: skip
            except OSError as exc:
                source.error = exc.strerror or str(exc)
            finally:
                writer.close()
        finally:
            if process is not None:
                process.close()
        report.sources.append(source)
        report.seconds = time.monotonic() - started
        report.redacted = _grown(redacted_before, self.redactor.counts())
        return report

    # -- one source ------------------------------------------------------------------------------

    def _ingest_file(self, found: FoundFile, writer: StoreWriter, from_start: bool) -> SourceReport:
        source = SourceReport(found.display)
        try:
            opened = open_at_checkpoint(found, self._store.checkpoint(str(found.path)), from_start)
        except PermissionError:
            source.error = "permission denied"
            return source
        except FileNotFoundError:
            source.error = "vanished before it could be read"
            return source
        except (OSError, EOFError) as exc:
            source.error = f"cannot read: {exc}"
            return source
        with opened.stream:
            source.resumed_at = opened.start_offset
            rule = self._config.rule_for(str(found.path), found.display)
            fmt = self.choose_format(opened.head, rule.format if rule else None)
            service = (rule.service if rule else None) or service_from_path(found.display)
            ctx = self.source_context(found.display, service, rule, opened.mtime_ns)
            try:
                self._pump(
                    opened.stream,
                    opened.start_offset,
                    fmt,
                    ctx,
                    writer,
                    source,
                    opened.checkpoint,
                    opened.skip,
                    tenant=rule.tenant if rule else "",
                )
            except (OSError, EOFError) as exc:
                source.error = f"stopped reading after {source.bytes} bytes: {exc}"
        return source

    def choose_format(self, head: bytes, forced: str | None) -> LogFormat:
        if forced:
            return format_by_name(forced)
        cut = head.rfind(b"\n")
        lines, _ = decode_lines(head[:cut] if cut > 0 else head)
        return detect_format(lines, self._formats, self._fallback).fmt

    def source_context(
        self, display: str, service: str, rule: SourceRule | None, reference_ns: int
    ) -> SourceContext:
        tz = (rule.timezone if rule else None) or self._config.timezone
        return SourceContext(
            source=display,
            service=service,
            host=self._host,
            observed_ns=time.time_ns(),
            timestamps=TimestampParser(tz=tz, reference_ns=reference_ns),
            levels=self._levels,
            max_event_bytes=self._config.max_line_bytes,
        )

    def _pump(
        self,
        stream: ByteStream,
        start: int,
        fmt: LogFormat,
        ctx: SourceContext,
        writer: StoreWriter,
        source: SourceReport,
        make_checkpoint: Callable[[int], Checkpoint] | None,
        skip: int = 0,
        tenant: str = "",
    ) -> None:
        """Reads `stream` to its end through framing and parsing into the writer.

        Each batch carries a checkpoint just before the event still open in the framer, so that a
        crash between batches re-reads that event instead of losing or doubling it. The first `skip`
        events are stored already (the checkpoint resumed from says so) and are dropped. Records get
        `tenant` (the source's `[[sources]]` entry's).
        """
        source.format = fmt.name
        framer = EventFramer(fmt, ctx.max_event_bytes)
        reader = LineReader(stream, start, self._config.max_line_bytes)
        parse = fmt.parse
        accounted = start
        if make_checkpoint is not None:
            writer.begin(replace(make_checkpoint(start), skip=skip))

        def unseen(records: list[Record]) -> list[Record]:
            nonlocal skip
            if skip:
                dropped, skip = min(skip, len(records)), skip - min(skip, len(records))
                records = records[dropped:]
            return stamp_tenant(records, tenant)

        try:
            for chunk in reader:
                events = framer.feed(chunk.lines)
                ctx.observed_ns = time.time_ns()
                records = unseen(parse(events, ctx)) if events else []
                checkpoint = None
                if make_checkpoint is not None and chunk.exact:
                    checkpoint = make_checkpoint(chunk.end_offset - framer.pending_bytes())
                self._account(source, records, chunk.end_offset - accounted)
                accounted = chunk.end_offset
                writer.put(records, checkpoint, self.mine(records))
                self._tick()
        finally:
            # Whatever was read before an error is still stored, and the checkpoint says how far.
            records = unseen(parse(framer.flush(), ctx))
            self._account(source, records, reader.consumed - accounted)
            final = make_checkpoint(reader.consumed) if make_checkpoint and reader.consumed > start else None
            writer.put(records, final, self.mine(records))
            source.truncated = reader.truncated + framer.dropped_lines

    def start_mining(self, input_bytes: int) -> MinerProcess | None:
        """Mining continues from the stored templates (ids stay the same across runs): in a process of
        its own for a bulk load (see mining/worker.py), else here as records are parsed."""
        use_process = self._mining_process
        if use_process is None:
            use_process = input_bytes >= MINING_PROCESS_BYTES and (os.cpu_count() or 1) > 1
        templates = self._store.templates()
        cap = self._config.max_templates
        if use_process:
            self._miner = None
            return MinerProcess(templates, cap)
        self._miner = TemplateMiner.from_changes(templates, cap)
        return None

    def mine(self, records: list[Record]) -> list[TemplateChange]:
        """Redacts the records ([privacy]), then gives each its template id and values; returns the
        templates this made or changed. Every path to the store passes here (files, pipes, commands,
        the journal, HTTP pushes), and mining sees no secret, so no template or value holds one."""
        bound_records(records)
        self.redactor(records)
        if not records or self._miner is None:
            return []  # a mining process labels them in the writer
        self._miner.label(records)
        return self._miner.take_changes()

    def _account(self, source: SourceReport, records: list[Record], new_bytes: int) -> None:
        source.records += len(records)
        source.bytes += new_bytes
        source.parse_errors += sum(1 for r in records if r.parse_error is not None)
        self._bytes_done += new_bytes
        self._records_done += len(records)
        if self._progress is not None:
            self._progress(self._bytes_done, self._records_done)


def _grown(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Per rule, how much a count grew between two readings (rules that did not grow left out)."""
    return {rule: count - before.get(rule, 0) for rule, count in after.items() if count > before.get(rule, 0)}


def _size_of(found: FoundFile) -> int:
    """A found file's size on disk (0 when it cannot be read: the ingest reports that itself)."""
    try:
        return found.path.stat().st_size
    except OSError:
        return 0

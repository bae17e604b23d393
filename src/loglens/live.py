"""Live ingest: following files and pipes as they are written, into the store and onto a screen.

One loop polls every source (files through rotation, pipes as data arrives), frames and parses what
they gave, mines templates, and hands the records to the single store writer and to an optional
callback (`loglens tail` prints them). It commits every `commit_interval` seconds, with the
checkpoint of each file, so a crash — kill -9 included — re-reads exactly what was not committed.

A source's format is chosen from its first lines: up to `DETECT_LINES` of them, or what came within
`detect_wait` seconds, are held (bounded) before detection. An open multi-line event is closed when
the next one starts, when its file ends, or after `quiet_flush` seconds without new lines. On stop,
a file's open event is left unread (its checkpoint stops before it, so a restart reads it whole); a
pipe's is taken, since nothing could read it again.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from loglens.config import SourceRule
from loglens.errors import LoglensError
from loglens.formats.base import LogFormat, SourceContext
from loglens.formats.multiline import EventFramer
from loglens.inbox import Inbox, IngestJob
from loglens.pipeline import Ingestor, RecordWriter
from loglens.record import Record, stamp_tenant
from loglens.sources.command import strip_terminal_codes
from loglens.sources.file import Checkpoint, service_from_path
from loglens.sources.follow import FileChunk, FollowedPaths, FollowSettings, OpenLogFile, TailedFile
from loglens.sources.journald import JournalSettings, JournalSource, cursor_of
from loglens.sources.lines import LineChunk
from loglens.sources.pipe import PipeSource, wait_readable
from loglens.sources.supervised import CommandSpec, SupervisedCommand, exit_record

DETECT_LINES = 50
DETECT_WAIT_S = 0.5
COMMIT_INTERVAL_S = 1.0
TICK_S = 1.0
COMMAND_DRAIN_S = 2.0
"""Seconds a supervised command's streams are read after it exits (a child it left may hold them)."""
JOURNAL_RETRY_S = 5.0
"""Seconds before journalctl is started again after it failed."""
COMMAND_STOP_S = 5.0
"""Seconds a supervised command has to exit after SIGTERM when loglens stops, before SIGKILL."""
MAX_PUSH_SOURCES = 1024
"""Parse states kept for pushing senders (each holds its format and at most one open event)."""

RecordsCallback = Callable[[list[Record]], None]
NoticeCallback = Callable[[str], None]


@dataclass(slots=True)
class LiveStats:
    """What a live run has read so far, and the seconds each stage of the pipeline thread took."""

    records: int = 0
    lines: int = 0
    parse_errors: int = 0
    filtered: int = 0
    lost: list[str] = field(default_factory=list)
    stage_s: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(("parse", "mine", "filter", "store", "publish", "commit"), 0.0)
    )


class _Parsing:
    """One source's way from lines to records: its format (chosen from its first lines), framer and
    context, how many events at its resume point are stored already, and the tenant its records
    belong to."""

    __slots__ = (
        "ctx", "extra", "fmt", "framer", "held", "held_exact", "held_since", "last_fed", "skip", "tenant",
    )  # fmt: skip

    def __init__(
        self, ctx: SourceContext, extra: dict[str, Any] | None, skip: int = 0, tenant: str = ""
    ) -> None:
        self.ctx = ctx
        self.extra = extra
        self.tenant = tenant
        self.fmt: LogFormat | None = None
        self.framer: EventFramer | None = None
        self.held: list[str] = []  # lines waiting for format detection
        self.held_exact = True
        self.held_since = 0.0
        self.last_fed = 0.0
        self.skip = skip

    def pending_bytes(self) -> int:
        """Bytes of input read but not turned into records yet (held for detection or an open event)."""
        framer = self.framer.pending_bytes() if self.framer is not None else 0
        return framer + sum(len(line.encode()) + 1 for line in self.held)


class LiveIngest:
    """Follows sources until stopped (or, with only pipes, until they all end).

    Args:
        ingestor: format choice, contexts and template mining (shared with one-shot ingest).
        writer: the store writer, or None to read without storing (`tail --no-store`).
        settings: polling, rotation and timeout settings.
        on_records: called with each batch of new records, in source order.
        on_notice: called with a sentence on what the sources do (where a file starts, rotations).
        on_warning: called with a sentence when something could not be read (a rotated file gone).
        on_caught_up: called once, when every source has been read to the end of what it holds.
        on_tick: called about every `TICK_S` seconds from the loop's thread (time-driven work that
            must share the thread with `on_records`, such as closing the detectors' minutes).
    """

    def __init__(
        self,
        ingestor: Ingestor,
        writer: RecordWriter | None,
        settings: FollowSettings | None = None,
        on_records: RecordsCallback | None = None,
        on_notice: NoticeCallback | None = None,
        on_warning: NoticeCallback | None = None,
        on_caught_up: Callable[[], None] | None = None,
        commit_interval: float = COMMIT_INTERVAL_S,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self._ingestor = ingestor
        self._writer = writer
        self._settings = settings or FollowSettings()
        self._on_records = on_records
        self._on_notice = on_notice
        self._on_warning = on_warning
        self._on_caught_up = on_caught_up
        self._on_tick = on_tick
        self._commit_interval = commit_interval
        self._paths: FollowedPaths | None = None
        self._from_end = False
        self._files: list[tuple[TailedFile, _Parsing]] = []
        self._last_file: dict[str, OpenLogFile] = {}
        self._pipes: list[tuple[PipeSource, _Parsing]] = []
        self.commands: list[SupervisedCommand] = []
        self._command_pipes: dict[int, list[PipeSource]] = {}
        self._command_exited: dict[int, float] = {}
        self._journal: JournalSource | None = None
        self._journal_settings: JournalSettings | None = None
        self._journal_retry_at = 0.0
        self._dirty = False
        self._inbox: Inbox | None = None
        self._pushed: dict[tuple[str, str | None, str | None, str], _Parsing] = {}
        settings_filter = ingestor.config.filter
        self.volume_filter = settings_filter.build() if settings_filter is not None else None
        self.stats = LiveStats()

    # -- sources -----------------------------------------------------------------------------------

    def follow_paths(self, patterns: list[str], from_end: bool = False) -> None:
        """Follows files, globs and folders; names that appear later are picked up from their start.

        `from_end`: files found now with no checkpoint are read from their end (`tail -f`), not whole.
        """
        self._paths = FollowedPaths(list(patterns))
        self._from_end = from_end
        self._scan(first=True)
        self.commit()  # each name's identity is on disk before anything can rotate it away
        for tailed, _ in self._files:
            self._tell(tailed)

    def add_pipe(
        self,
        fd: int,
        display: str,
        service: str,
        fields: dict[str, Any] | None = None,
        clean: Callable[[str], str] | None = None,
        fmt: str | None = None,
    ) -> PipeSource:
        """Follows a pipe until its writer closes it; `fields` are added to each of its records,
        `clean` is applied to each line, and `fmt` names its format (else chosen from its lines)."""
        pipe = PipeSource(
            fd,
            display,
            self._settings.read_bytes,
            self._settings.partial_timeout,
            self._settings.max_line_bytes,
            clean,
        )
        rule = self._ingestor.config.rule_for(display, display)
        service = (rule.service if rule else None) or service
        ctx = self._ingestor.source_context(display, service, rule, time.time_ns())
        parsing = _Parsing(ctx, fields, tenant=rule.tenant if rule else "")
        forced = (rule.format if rule else None) or fmt
        if forced:
            self._set_format(parsing, self._ingestor.choose_format(b"", forced))
        self._pipes.append((pipe, parsing))
        return pipe

    def supervise(self, specs: list[CommandSpec] | tuple[CommandSpec, ...]) -> None:
        """Runs these commands and reads their output, restarting them as their policy says
        (`sources.supervised`); the loop then runs until stopped."""
        self.commands.extend(SupervisedCommand(spec) for spec in specs)

    def follow_journal(self, settings: JournalSettings) -> None:
        """Follows the systemd journal from the cursor stored with the last committed entry (or as
        `settings.since` says, the first time); raises when journalctl cannot run at all."""
        self._journal_settings = settings
        self._start_journal()

    def _start_journal(self) -> None:
        settings = self._journal_settings
        assert settings is not None
        previous = self._ingestor.store.checkpoint(settings.checkpoint_key) if self._writer else None
        cursor = self._journal.cursor if self._journal is not None else None
        source = JournalSource(settings, cursor or cursor_of(previous))
        source.start()
        self._journal = source

    def _poll_journal(self, now: float) -> bool:
        source = self._journal
        if source is None:
            return False
        if source.done:
            if now >= self._journal_retry_at:
                if self._on_warning is not None:
                    self._on_warning(f"journald: {source.error or 'journalctl ended'}; starting it again")
                self._journal_retry_at = now + JOURNAL_RETRY_S
                source.close()
                try:
                    self._start_journal()
                except LoglensError as exc:
                    if self._on_warning is not None:
                        self._on_warning(f"journald: {exc}")
            return False
        batch = source.poll(now)
        if not batch.records:
            return False
        self.stats.lines += len(batch.records)
        key = source.settings.checkpoint_key
        checkpoint = source.checkpoint(batch.cursor) if batch.cursor and self._writer is not None else None
        self._emit(stamp_tenant(batch.records, source.settings.tenant), checkpoint, key)
        return True

    def attach(self, inbox: Inbox) -> None:
        """Takes pushed batches from `inbox` too (the daemon's HTTP ingest); each is acknowledged once
        committed. With an inbox, the loop runs until stopped even when it has no other source."""
        self._inbox = inbox

    def _scan(self, first: bool = False) -> None:
        if self._paths is None:
            return
        store = self._ingestor.store
        for path, display in self._paths.scan():
            tailed = TailedFile(path, display, self._settings)
            previous = store.checkpoint(tailed.key) if self._writer is not None else None
            resumed = tailed.start(previous, from_end=first and self._from_end)
            if resumed.lost is not None:
                self.stats.lost.append(f"{display}: {resumed.lost}")
                if self._on_warning is not None:
                    self._on_warning(f"{display}: {resumed.lost}")
            rule = self._ingestor.config.rule_for(str(path), display)
            service = (rule.service if rule else None) or service_from_path(display)
            ctx = self._ingestor.source_context(display, service, rule, time.time_ns())
            parsing = _Parsing(ctx, None, resumed.skip, rule.tenant if rule else "")
            if rule is not None and rule.format:
                self._set_format(parsing, self._ingestor.choose_format(b"", rule.format))
            start = tailed.first
            if start is not None and self._writer is not None:
                mark = start.checkpoint(tailed.key, start.start_offset)
                self._writer.put([], replace(mark, skip=resumed.skip))
                self._last_file[tailed.key] = start
                self._dirty = True
            self._files.append((tailed, parsing))

    # -- the loop ----------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Polls until `stop` is set (or every pipe has ended, when there are no files)."""
        settings = self._settings
        next_scan = time.monotonic() + settings.scan_interval
        last_commit = last_tick = time.monotonic()
        try:
            while not stop.is_set():
                now = time.monotonic()
                if self._on_tick is not None and now - last_tick >= TICK_S:
                    self._on_tick()
                    last_tick = now
                if now >= next_scan:
                    self._scan()
                    next_scan = now + settings.scan_interval
                busy = self._poll_files(now)
                busy = self._poll_pipes(now) or busy
                busy = self._take_pushed(now) or busy
                busy = self._poll_journal(now) or busy
                self._poll_commands(now)
                self._tick(now)
                retired = any(tailed.retired for tailed, _ in self._files)
                if retired:
                    self.commit()  # a finished file is let go only once what was read of it is on disk
                    last_commit = now
                elif self._dirty and now - last_commit >= self._commit_interval:
                    self._commit_soon()
                    last_commit = now
                if (
                    self._paths is None
                    and self._inbox is None
                    and not self.commands
                    and self._journal is None
                    and all(pipe.done for pipe, _ in self._pipes)
                ):
                    break
                if not busy and self._on_caught_up is not None and not self._holding():
                    self._on_caught_up()
                    self._on_caught_up = None
                if not busy:
                    waiting = [pipe.fd for pipe, _ in self._pipes if not pipe.done]
                    waiting += [self._inbox.fd] if self._inbox is not None else []
                    journal = self._journal
                    waiting += [journal.fd] if journal is not None and not journal.done else []
                    wait_readable(waiting, 0 if stop.is_set() else settings.poll_interval)
        finally:
            self._stop_commands()
            if self._journal is not None:
                self._journal.close()
            for _, parsing in self._pipes:
                self._emit(self._flush(parsing), None, None)
            self.commit()
            if self._on_caught_up is not None:
                self._on_caught_up()
            for tailed, _ in self._files:
                tailed.close()

    def _poll_commands(self, now: float) -> None:
        """Starts the commands that are due, and ends those that exited (their exit stored)."""
        for command in self.commands:
            if command.due(now):
                self._start_command(command, now)
            running = command.running
            if running is None or running.process.poll() is None:
                continue
            key = id(command)
            exited = self._command_exited.setdefault(key, now)
            pipes = self._command_pipes.get(key, [])
            if all(pipe.done for pipe in pipes) or now - exited >= COMMAND_DRAIN_S:
                self._end_command(command, now)

    def _start_command(self, command: SupervisedCommand, now: float) -> None:
        running = command.start(now)
        if running is None:
            if self._on_warning is not None:
                self._on_warning(f"command {command.spec.name}: {command.start_error}")
            return
        pipes = []
        for stream, pipe in (("stdout", running.process.stdout), ("stderr", running.process.stderr)):
            assert pipe is not None
            display = f"{command.spec.name}:{stream}"
            fields = {"stream": stream}
            fmt = command.spec.format
            pipes.append(
                self.add_pipe(pipe.fileno(), display, command.service, fields, strip_terminal_codes, fmt)
            )
        self._command_pipes[id(command)] = pipes
        if self._on_notice is not None:
            self._on_notice(f"command {command.spec.name} started (pid {running.process.pid})")

    def _end_command(self, command: SupervisedCommand, now: float, stopped: bool = False) -> None:
        """Takes what its streams still hold, stores its exit, and lets its pipes go."""
        running = command.running
        assert running is not None
        pipes = self._command_pipes.pop(id(command), [])
        self._command_exited.pop(id(command), None)
        for pipe, parsing in [entry for entry in self._pipes if entry[0] in pipes]:
            for chunk in [] if pipe.done else pipe.poll(now):
                self._take_lines(parsing, chunk, now)
            self._emit(self._flush(parsing), None, None)
        self._pipes = [entry for entry in self._pipes if entry[0] not in pipes]
        code, seconds = running.wait()
        for stream in (running.process.stdout, running.process.stderr):
            if stream is not None:
                stream.close()
        ended = exit_record(command.service, running.command_line, code, seconds, time.time_ns(), stopped)
        self.store([ended])
        command.ended(code, seconds, now)
        if self._on_notice is not None:
            self._on_notice(f"command {command.spec.name} exited with code {code}")

    def _stop_commands(self) -> None:
        """On stop: SIGTERM to each running command, SIGKILL after `COMMAND_STOP_S`; exits stored."""
        running = [c for c in self.commands if c.running is not None]
        for command in running:
            assert command.running is not None
            command.running.process.terminate()
        deadline = time.monotonic() + COMMAND_STOP_S
        for command in running:
            assert command.running is not None
            try:
                command.running.process.wait(max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                command.running.process.kill()
            command.spec = replace(command.spec, restart="never")
            self._end_command(command, time.monotonic(), stopped=True)

    def _take_pushed(self, now: float) -> bool:
        """Stores every job waiting in the inbox, asks for one commit for all, and completes each
        once it is done."""
        jobs = self._inbox.take() if self._inbox is not None else []
        if not jobs:
            return False
        for job in jobs:
            try:
                records = job.records
                if job.lines:
                    parsing = self._parsing_of(job)
                    # A push is complete in itself: its last event closes with it.
                    records = self._parse(parsing, job.lines, True, now) + self._flush(parsing)
                elif job.fields:
                    for record in records:
                        record.fields = {**record.fields, **job.fields} if record.fields else dict(job.fields)
                self._emit(stamp_tenant(records, job.tenant), None, None)
                job.stored = len(records)
            except Exception as exc:  # one bad job must not fail the others or stop the loop
                job.error = exc

        inbox = self._inbox
        assert inbox is not None

        def committed(error: BaseException | None) -> None:
            inbox.release(jobs)
            for job in jobs:
                job.error = job.error or error
                if job.on_done is not None:
                    job.on_done(job)

        if self._writer is None:
            committed(None)
        else:
            # Acknowledged from the writer thread once on disk; this thread goes on parsing (and
            # publishing) the next pushes meanwhile, and pushes close together share one commit.
            self._writer.commit_then(committed)
        return True

    def _parsing_of(self, job: IngestJob) -> _Parsing:
        """The parse state of pushes from one source of one tenant (format found once, like a file's).
        A push's tenant is its request's alone: a `[[sources]]` entry its source name matches never
        gives it one."""
        key = (job.source, job.service, job.format, job.tenant)
        parsing = self._pushed.get(key)
        if parsing is None:
            if len(self._pushed) >= MAX_PUSH_SOURCES:
                self._pushed.clear()  # bounded: a new sender after many only re-detects its format
            rule = self._ingestor.config.rule_for(job.source, job.source)
            if job.timezone is not None:
                rule = SourceRule(
                    job.source, rule.format if rule else None, rule.service if rule else None, job.timezone
                )
            service = job.service or (rule.service if rule else None) or service_from_path(job.source)
            ctx = self._ingestor.source_context(job.source, service, rule, time.time_ns())
            parsing = self._pushed[key] = _Parsing(ctx, job.fields, tenant=job.tenant)
            forced = job.format or (rule.format if rule else None)
            if forced:
                self._set_format(parsing, self._ingestor.choose_format(b"", forced))
        return parsing

    def _holding(self) -> bool:
        """True while a source holds lines back: for format detection, or an event still open
        (a view that is catching up waits for them, at most `quiet_flush`)."""
        return any(parsing.pending_bytes() for _, parsing in [*self._files, *self._pipes])

    def store(self, records: list[Record]) -> None:
        """Stores records made here rather than read (a wrapped command's exit, say)."""
        if self._writer is not None and records:
            self._writer.put(records, None, self._ingestor.mine(records))
            self._dirty = True

    def commit(self) -> None:
        """Makes everything read so far durable, then lets go of files read to their end."""
        if self._writer is not None and self._dirty:
            started = time.perf_counter()
            self._writer.commit()
            self.stats.stage_s["commit"] += time.perf_counter() - started
        self._dirty = False
        for tailed, _ in self._files:
            tailed.release()

    def _commit_soon(self) -> None:
        """Asks the writer for a commit without waiting for it (the periodic one: the pipeline goes
        on meanwhile; a failure surfaces at the next put)."""
        if self._writer is not None and self._dirty:
            self._writer.commit_then(lambda error: None)
        self._dirty = False

    def _poll_files(self, now: float) -> bool:
        busy = False
        for tailed, parsing in self._files:
            for chunk in tailed.poll(now):
                busy = True
                self._take_file_chunk(tailed, parsing, chunk, now)
            self._tell(tailed)
        return busy

    def _tell(self, tailed: TailedFile) -> None:
        if tailed.notes and self._on_notice is not None:
            for note in tailed.notes:
                self._on_notice(note)
        tailed.notes.clear()

    def _poll_pipes(self, now: float) -> bool:
        busy = False
        for pipe, parsing in self._pipes:
            was_done = pipe.done
            chunks = pipe.poll(now)
            if chunks and len(self._pipes) > 1:
                # Another stream of the same command moved on: what the others hold came before.
                for _, other in self._pipes:
                    if other is not parsing:
                        self._emit(self._flush(other), None, None)
            for line_chunk in chunks:
                busy = True
                self._take_lines(parsing, line_chunk, now)
            if pipe.done and not was_done:
                self._emit(self._flush(parsing), None, None)
        return busy

    def _take_file_chunk(self, tailed: TailedFile, parsing: _Parsing, chunk: FileChunk, now: float) -> None:
        key = tailed.key
        if self._last_file.get(key) is not chunk.file:
            # The name's next file begins. A file read from its start follows one that ended (its
            # open event is complete); a copytruncate copy continues the same text from an offset.
            opened = chunk.file
            if opened.start_offset == 0:
                self._emit(self._flush(parsing), None, key)
            if self._writer is not None:
                mark = opened.checkpoint(key, max(opened.start_offset - parsing.pending_bytes(), 0))
                self._writer.put([], mark)
            self._last_file[key] = opened
        self.stats.lines += len(chunk.lines)
        records = self._parse(parsing, chunk.lines, chunk.exact, now)
        if chunk.ends_file:
            records.extend(self._flush(parsing))
        checkpoint = None
        if chunk.exact and parsing.held_exact and parsing.fmt is not None:
            checkpoint = chunk.file.checkpoint(key, chunk.end_offset - parsing.pending_bytes())
        self._emit(records, checkpoint, key)

    def _take_lines(self, parsing: _Parsing, chunk: LineChunk, now: float) -> None:
        self.stats.lines += len(chunk.lines)
        self._emit(self._parse(parsing, chunk.lines, chunk.exact, now), None, None)

    def _tick(self, now: float) -> None:
        """Time-driven closes: detection after `detect_wait`, an open event after `quiet_flush`."""
        for tailed, parsing in self._files:
            exact = parsing.held_exact
            records = self._due(parsing, now)
            if records is None:
                continue
            # All lines read are records now, but for an open event (none after a quiet flush).
            last = self._last_file.get(tailed.key)
            checkpoint = None
            if last is not None and exact:
                checkpoint = last.checkpoint(tailed.key, last.splitter.consumed - parsing.pending_bytes())
            self._emit(records, checkpoint, tailed.key)
        for _, parsing in self._pipes:
            records = self._due(parsing, now)
            if records is not None:
                self._emit(records, None, None)

    def _due(self, parsing: _Parsing, now: float) -> list[Record] | None:
        """What time closes now in one source: detection on held lines once they waited long
        enough, an open event once the source was quiet long enough (None: nothing due)."""
        records = None
        if parsing.held and now - parsing.held_since >= DETECT_WAIT_S:
            records = self._detect(parsing)
        framer = parsing.framer
        quiet = self._settings.quiet_flush
        if framer is not None and framer.pending_bytes() and now - parsing.last_fed >= quiet:
            records = (records or []) + self._events(parsing, framer.flush())
        return records

    # -- lines → records ---------------------------------------------------------------------------

    def _parse(self, parsing: _Parsing, lines: list[str], exact: bool, now: float) -> list[Record]:
        if not lines:
            return []
        parsing.last_fed = now
        if parsing.fmt is None:
            if not parsing.held:
                parsing.held_since = now
            parsing.held.extend(lines)
            parsing.held_exact = parsing.held_exact and exact
            if len(parsing.held) < DETECT_LINES:
                return []
            return self._detect(parsing)
        return self._events(parsing, parsing.framer.feed(lines) if parsing.framer else [])

    def _detect(self, parsing: _Parsing) -> list[Record]:
        """Chooses the format from the held lines and parses them."""
        sample = "\n".join(parsing.held[:200]).encode()
        self._set_format(parsing, self._ingestor.choose_format(sample, None))
        held, parsing.held, parsing.held_exact = parsing.held, [], True
        return self._events(parsing, parsing.framer.feed(held) if parsing.framer else [])

    def _set_format(self, parsing: _Parsing, fmt: LogFormat) -> None:
        parsing.fmt = fmt
        parsing.framer = EventFramer(fmt, parsing.ctx.max_event_bytes)

    def _flush(self, parsing: _Parsing) -> list[Record]:
        """Closes what a source holds: detection on what came, and its open multi-line event."""
        records = self._detect(parsing) if parsing.held else []
        if parsing.framer is not None:
            records.extend(self._events(parsing, parsing.framer.flush()))
        return records

    def _events(self, parsing: _Parsing, events: list[str]) -> list[Record]:
        if not events or parsing.fmt is None:
            return []
        parsing.ctx.observed_ns = time.time_ns()
        started = time.perf_counter()
        records = parsing.fmt.parse(events, parsing.ctx)
        self.stats.stage_s["parse"] += time.perf_counter() - started
        if parsing.skip:
            dropped = min(parsing.skip, len(records))
            parsing.skip -= dropped
            records = records[dropped:]
        if parsing.extra:
            for record in records:
                record.fields = {**record.fields, **parsing.extra} if record.fields else dict(parsing.extra)
        return stamp_tenant(records, parsing.tenant)

    def _emit(self, records: list[Record], checkpoint: Checkpoint | None, key: str | None) -> None:
        if not records and checkpoint is None:
            return
        stage = self.stats.stage_s
        started = time.perf_counter()
        templates = self._ingestor.mine(records) if self._writer is not None else []
        mined = time.perf_counter()
        stage["mine"] += mined - started
        if self.volume_filter is not None and records:
            # After mining: the rules cap and sample per template. A checkpoint still moves past
            # what was dropped (it was read; dropping it is the point).
            kept = self.volume_filter.apply(records)
            self.stats.filtered += len(records) - len(kept)
            records = kept
            stage["filter"] += time.perf_counter() - mined
        self.stats.records += len(records)
        self.stats.parse_errors += sum(1 for r in records if r.parse_error is not None)
        if self._writer is not None:
            started = time.perf_counter()
            self._writer.put(records, checkpoint, templates, source=key)
            self._dirty = True
            stage["store"] += time.perf_counter() - started
        if records and self._on_records is not None:
            started = time.perf_counter()
            self._on_records(records)
            stage["publish"] += time.perf_counter() - started

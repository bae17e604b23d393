"""`loglens up`: one process with the store's single writer, the live sources, an inbox for pushed
logs, and the HTTP server.

Threads: the pipeline thread runs `LiveIngest` (files and pipes from loglens.toml, and the inbox that
HTTP pushes and the demo feed); the store writer thread under it; the HTTP server (uvicorn) in the
main thread. Readers (the query API) use their own cursors on the same store. `daemon.json`, written
beside the store once the server listens, tells the CLI where a running daemon is (DESIGN.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loglens.ai.alert_context import alert_explanation, ask_for_insight
from loglens.ai.insights import InsightWorker
from loglens.ai.llm import LlmClient
from loglens.alerts.model import Alert
from loglens.alerts.runtime import Alerting
from loglens.allocation import PacedCollection
from loglens.analysis.findings import ReplayCache
from loglens.analysis.live_watch import LiveWatch
from loglens.client import DAEMON_FILE
from loglens.config import Config
from loglens.errors import LoglensError
from loglens.inbox import Inbox, IngestJob
from loglens.live import LiveIngest
from loglens.pipeline import Ingestor, RecordWriter, StoreWriter
from loglens.record import Record
from loglens.server.decoders import DecodePool
from loglens.server.live import LiveHub
from loglens.sources.host import HostSampler
from loglens.sources.syslog import SyslogCounters, serve_syslog
from loglens.store.base import Store
from loglens.store.duckdb import DEFAULT_MEMORY_LIMIT, DuckDBStore
from loglens.store.retention import RetentionTask

if TYPE_CHECKING:
    from loglens.bus.nats import NatsBus
    from loglens.bus.processor import BusProcessor
    from loglens.query.semantic import SemanticIndex

DEMO_RATE = 50.0
LIVE_STREAM_NS = 3600 * 10**9
"""A stream whose newest record is this close to the clock is live: its alerts' stream time
moves with the clock between records."""
DAEMON_MEMORY_LIMIT = "256MB"
"""DuckDB's cap in the daemon, unless [store] memory_limit says otherwise: its writer shares the
database with the API's queries, and the dashboard asks several at once (the bulk writer's 32 MB made
one concurrent query in four fail with DuckDB's out-of-memory error)."""
DAEMON_WRITER_BATCHES = 64
"""Batches the pipeline may be ahead of the store writer. Larger than a bulk load's: while DuckDB
checkpoints inside a commit (up to seconds), the pipeline goes on parsing and publishing live; the
inbox bound still caps what is held (its jobs are acknowledged only once committed)."""


@dataclass(frozen=True, slots=True)
class Listen:
    """Where the HTTP server binds (`--listen HOST:PORT`; port 0 picks a free one)."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Listen:
        """`127.0.0.1:8080`, `[::1]:8080`, `:8080` (loopback) or `8080`."""
        host, _, port = text.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        try:
            number = int(port)
        except ValueError:
            raise LoglensError(f"--listen {text!r}: give HOST:PORT, such as 127.0.0.1:8080") from None
        if not 0 <= number <= 65535:
            raise LoglensError(f"--listen {text!r}: the port must be 0–65535")
        return cls(host, number)

    @property
    def loopback(self) -> bool:
        """True when only this machine can connect."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


ROLES = ("all", "ingest", "process", "query")
"""What a node of a scale-out deployment does (docs/scale-out.md); `all` is the one-process default."""


def check_role(role: str, config: Config) -> str:
    """`role`, once it can work with this config: a role but `all` needs the bus and a shared store."""
    if role not in ROLES:
        raise LoglensError(f"--role {role}: choose one of {', '.join(ROLES)}")
    if role != "all" and config.bus is None:
        raise LoglensError(
            f'--role {role} splits the work between nodes that meet on a bus: add [bus] url = "nats://…" '
            "to loglens.toml (docs/scale-out.md)"
        )
    return role


def open_daemon_store(store_path: Path, config: Config, memory_limit: str) -> Store:
    """The daemon's store: the embedded file, or with `[store] url` the shared PostgreSQL of a
    scale-out deployment (then `store_path` only says where daemon.json and the audit log go)."""
    if config.store_url is None:
        return DuckDBStore(store_path, memory_limit=memory_limit, compression=config.compression)
    if config.retention is not None:
        raise LoglensError(
            "[retention] works on the embedded store; on PostgreSQL, drop old day partitions "
            "(records_YYYYMMDD) instead (docs/scale-out.md)"
        )
    try:
        from loglens.store.postgres import PostgresStore
    except ImportError as exc:
        raise LoglensError(
            f"[store] url needs the scale-out extra ({exc.name} is missing): pip install 'loglens[scale]'"
        ) from None
    store_path.parent.mkdir(parents=True, exist_ok=True)
    return PostgresStore(config.store_url)


class Daemon:
    """The running parts of `loglens up` (start them with `start`, stop with `stop`)."""

    def __init__(
        self,
        store_path: Path,
        config: Config,
        demo: bool = False,
        syslog: Listen | None = None,
        role: str = "all",
    ) -> None:
        self.config = config
        self.store_path = store_path
        self.role = check_role(role, config)
        memory_limit = (
            DAEMON_MEMORY_LIMIT if config.memory_limit == DEFAULT_MEMORY_LIMIT else config.memory_limit
        )
        self.store = open_daemon_store(store_path, config, memory_limit)
        self.ingestor = Ingestor(self.store, config)
        # With a bus, records are mined by the process node holding their service's partition.
        self.bus: NatsBus | None = None
        self.processor: BusProcessor | None = None
        self.writer: RecordWriter
        if config.bus is None:
            self.ingestor.start_mining(0)
            self.writer = StoreWriter(self.store, max_batches=DAEMON_WRITER_BATCHES)
        else:
            try:
                from loglens.bus.nats import NatsBus
                from loglens.bus.processor import BusProcessor
                from loglens.bus.publisher import BusPublisher
            except ImportError as exc:
                raise LoglensError(
                    f"[bus] needs the scale-out extra ({exc.name} is missing): pip install 'loglens[scale]'"
                ) from None
            self.bus = NatsBus(config.bus, f"loglens-{self.role}")
            self.bus.start()
            if self.role in ("process", "all"):
                self.processor = BusProcessor(
                    self.bus, self.store, config.max_templates, on_records=self._on_processed
                )
            store_thread = self.processor.store_thread if self.processor is not None else None
            self.writer = BusPublisher(self.bus, self.store, store_thread)
        self.retention = (
            RetentionTask(self.store, config.retention, config.retention.archive_folder(store_path))
            if config.retention is not None and isinstance(self.store, DuckDBStore)
            else None  # (open_daemon_store refuses [retention] with a PostgreSQL store)
        )
        self.inbox = Inbox(config.server.inbox_records)
        self.decoders = DecodePool(config.server.decode_workers)
        self.hub = LiveHub()
        self.watch = LiveWatch(config.analysis, self._on_event, self.store.template_texts)
        self.alerting = Alerting(config, self.store, self.hub.publish_event, enrich=self._explain_alert)
        self.insights = InsightWorker(LlmClient(config.llm), self.store) if config.llm is not None else None
        self.watch.warm(self.store, time.time_ns())
        self.live = LiveIngest(
            self.ingestor,
            self.writer,
            config.follow,
            on_records=self._on_records if self.bus is None else self.hub.publish,
            on_tick=self._tick,
        )
        self.live.attach(self.inbox)
        patterns = [rule.path for rule in config.sources]
        if patterns:
            self.live.follow_paths(patterns)
        self.live.supervise(config.commands)
        if config.journald is not None:
            self.live.follow_journal(config.journald)
        self.started = time.time()
        self.url: str | None = None
        self._stop = threading.Event()
        self.ingests = self.role in ("ingest", "all")
        self._threads = [
            threading.Thread(target=self._run_live, name="loglens-pipeline", daemon=True)
            if self.ingests
            else threading.Thread(target=self._run_ticks, name="loglens-ticks", daemon=True)
        ]
        if demo:
            self._threads.append(threading.Thread(target=self._feed_demo, name="loglens-demo", daemon=True))
        self.syslog = syslog
        self.syslog_port: int | None = None
        self.syslog_counters = SyslogCounters()
        self._syslog_ready = threading.Event()
        self._syslog_stop: Callable[[], None] | None = None
        if syslog is not None:
            self._threads.append(
                threading.Thread(target=self._run_syslog, name="loglens-syslog", daemon=True)
            )
        self.failure: BaseException | None = None
        self.collection = PacedCollection()
        self.host = HostSampler()
        self.replays = ReplayCache()
        self.semantic_lock = threading.Lock()
        self._semantic: SemanticIndex | None = None

    def semantic_index(self) -> SemanticIndex:
        """The one index of template meanings (made on first use; hold `semantic_lock`)."""
        from loglens.query.semantic import SemanticIndex, cache_path_for

        if self._semantic is None:
            self._semantic = SemanticIndex(self.store, cache_path_for(self.store_path))
        return self._semantic

    def start(self) -> None:
        """Starts the pipeline (and the demo feed, the syslog listener); raises when a listener
        cannot bind."""
        self.collection.start(time.monotonic())
        if self.processor is not None:
            self.processor.start()
        elif self.bus is not None and not self.ingests:
            self._follow_bus(self.bus)
        for thread in self._threads:
            thread.start()
        if self.syslog is not None:
            self._syslog_ready.wait(10)
            if self.failure is not None:
                raise LoglensError(
                    f"syslog listener on {self.syslog.host}:{self.syslog.port}: {self.failure}"
                )

    def _run_syslog(self) -> None:
        assert self.syslog is not None
        listen = self.syslog

        def ready(port: int) -> None:
            self.syslog_port = port
            self._syslog_ready.set()

        async def main() -> None:
            loop = asyncio.get_running_loop()
            task = asyncio.current_task()
            assert task is not None

            def cancel() -> None:
                loop.call_soon_threadsafe(task.cancel)

            self._syslog_stop = cancel
            await serve_syslog(listen.host, listen.port, self.inbox, self.syslog_counters, ready)

        try:
            asyncio.run(main())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:
            self.failure = exc
            self._syslog_ready.set()

    def _on_records(self, records: list[Record]) -> None:
        """Each stored batch: to live subscribers, then to the detectors and the alert rules
        (pipeline thread)."""
        self.hub.publish(records)
        self.watch.add(records)
        self.alerting.engine.observe(records)

    def _on_event(self, event: dict[str, Any]) -> None:
        """A detector's anomaly or incident: to live subscribers, the alert rules, and (with an LLM
        configured) the insight worker."""
        self.hub.publish_event(event)
        self.alerting.engine.on_event(event)
        if self.insights is not None:
            ask_for_insight(self.insights, self.store, self.watch, event)

    def _explain_alert(self, alert: Alert) -> dict[str, Any] | None:
        """What an alert's notification explains: for an incident, the offline explainer's reading
        of it (signature, fix, confidence)."""
        incident_id = alert.labels.get("incident")
        incident = self.watch.incident(incident_id) if incident_id else None
        return alert_explanation(self.store, incident)

    def _follow_bus(self, bus: NatsBus) -> None:
        """A query node's live tail: records as ingest nodes publish them (before mining: no
        template ids yet), decoded only while someone subscribes to /api/live."""
        from loglens.bus.codec import BusFormatError, decode_records
        from loglens.bus.nats import follow_records

        def deliver(payload: bytes) -> None:
            with contextlib.suppress(BusFormatError):  # a process node counts and logs it
                self.hub.publish(decode_records(payload))

        bus.run(follow_records(bus, lambda: self.hub.count > 0, deliver), 10)

    def node_status(self) -> dict[str, Any]:
        """This node's part in a scale-out deployment (/api/health): its role and, with a bus, the
        partitions it holds with their stored offsets and what it consumed."""
        status: dict[str, Any] = {"role": self.role, "bus": None}
        if self.bus is not None:
            status["bus"] = {"stream": self.bus.settings.stream, "connected": self.bus.connected}
        if self.processor is not None:
            stats = self.processor.stats
            status["bus"] |= {
                "node": self.processor.name,
                "partitions": {str(p): offset for p, offset in sorted(stats.partitions.items())},
                "lag": sum(stats.lag.values()),
                "records": stats.records,
                "messages": stats.messages,
                "bad_messages": stats.bad_messages,
                "stale_commits": stats.stale_commits,
                "failed_commits": stats.failed_commits,
                "failed_rounds": stats.failed_rounds,
            }
        return status

    def _on_processed(self, records: list[Record]) -> None:
        """Each run of records a process node committed (its store thread): to the detectors and the
        alert rules, and to live subscribers when no ingest part of this process showed them."""
        if not self.ingests:
            self.hub.publish(records)
        self.watch.add(records)
        self.alerting.engine.observe(records)

    def _run_ticks(self) -> None:
        """The pipeline thread of a node that takes nothing in (process and query roles): ticks."""
        while not self._stop.wait(1.0):
            try:
                self._tick()
            except BaseException as exc:
                self.failure = exc
                self._stop.set()

    def _tick(self) -> None:
        """Time-driven work, about once a second on the pipeline thread; the detectors' part on the
        thread that feeds them (with a bus: the process node's store thread)."""
        if self.processor is not None:
            self.processor.call(self._tick_analysis)
        elif self.role != "ingest":
            self._tick_analysis()
        now = time.monotonic()
        self.host.tick(now)
        self.collection.tick(now)

    def _tick_analysis(self) -> None:
        self.watch.tick()
        wall = time.time_ns()
        if self.retention is not None:
            self.retention.tick(wall)
        # Stream time follows the clock only while the stream is live (an old file read now must
        # not look silent, nor resolve its alerts by the wall clock).
        live = wall - self.alerting.engine.stream_ns < LIVE_STREAM_NS
        self.alerting.engine.tick(wall if live else None)

    def _run_live(self) -> None:
        try:
            self.live.run(self._stop)
        except BaseException as exc:
            self.failure = exc
            self._stop.set()

    def _feed_demo(self) -> None:
        """The demo generator's lines, pushed in real time as one job per file and tick."""
        from loglens.demo import demo_lines, live_spec, realtime

        spec = live_spec(time.time_ns(), DEMO_RATE)
        for batch in realtime(demo_lines(spec), self._stop):
            by_file: dict[str, list[str]] = {}
            for line in batch:
                by_file.setdefault(line.path, []).extend(line.text.split("\n"))
            for path, lines in by_file.items():
                # The demo stamps in UTC, without a zone in three of its formats.
                self.inbox.submit(IngestJob(lines=lines, source=f"demo/{path}", timezone=UTC))

    def announce(self, url: str) -> None:
        """Writes daemon.json beside the store: the CLI finds the daemon for this store there."""
        self.url = url
        info = {"url": url, "pid": os.getpid(), "store": str(self.store_path), "syslog": self.syslog_port}
        tmp = self.daemon_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info) + "\n")
        tmp.replace(self.daemon_file)

    @property
    def daemon_file(self) -> Path:
        """Where daemon.json lives."""
        return self.store_path.parent / DAEMON_FILE

    def stop(self) -> None:
        """Stops the sources, commits what was read, and closes the store."""
        self._stop.set()
        if self._syslog_stop is not None:
            self._syslog_stop()
        for thread in self._threads:
            thread.join(30)
        self.inbox.close()
        self.decoders.close()
        self.alerting.close()
        if self.retention is not None:
            self.retention.close()
        if self.insights is not None:
            self.insights.close(10)
        try:
            self.writer.close()
            if self.processor is not None:
                self.processor.stop()
        finally:
            if self.bus is not None:
                self.bus.close()
            self.store.close()
            if self.daemon_file.exists():
                with_pid = json.loads(self.daemon_file.read_text() or "{}")
                if with_pid.get("pid") == os.getpid():
                    self.daemon_file.unlink()
            self.collection.stop()
